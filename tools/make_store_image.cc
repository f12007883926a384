// Build-time tool: writes the file of an empty relay store, as
// NewStoreScript() makes it with 2 KB pages in WAL mode, to argv[1]. relay
// embeds that file (NewStoreImage()) and writes it to create a new store:
// running the script costs a small run's whole ledger in parsing.
#include <sqlite3.h>

#include <cstdio>
#include <string>

#include "store/migrations.h"

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_store_image OUTPUT\n");
    return 2;
  }
  const std::string path = argv[1];
  std::remove(path.c_str());
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  for (const char* sql : {"PRAGMA page_size=2048", "PRAGMA journal_mode=WAL", "BEGIN IMMEDIATE",
                          relay::store::NewStoreScript(), "COMMIT"}) {
    char* err = nullptr;
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, sql, nullptr, nullptr, &err);
    if (rc != SQLITE_OK) {
      std::fprintf(stderr, "make_store_image: %s: %s\n", path.c_str(),
                   err ? err : sqlite3_errmsg(db));
      sqlite3_free(err);
      sqlite3_close(db);
      return 1;
    }
  }
  // The last connection's close checkpoints the WAL into the file and
  // removes it: the file alone is the store.
  return sqlite3_close(db) == SQLITE_OK ? 0 : 1;
}
