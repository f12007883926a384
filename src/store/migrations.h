// Numbered schema migrations, compiled in from src/store/migrations/NNNN_name.sql.
// A migration is never edited or renumbered once released: add a new one.
#pragma once

#include <string_view>
#include <vector>

namespace relay::store {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// In ascending version order.
const std::vector<Migration>& Migrations();

// What the migrations build, as one script: src/store/schema.sql, then a
// schema_version row per migration. A new store is made from it directly
// (in practice from NewStoreImage(), the file it makes).
const char* NewStoreScript();

// The bytes of an empty store as NewStoreScript() makes it (2 KB pages, WAL),
// made when relay is built (tools/make_store_image.cc): a new store is this
// file, written in one go instead of by running the script.
std::string_view NewStoreImage();

}  // namespace relay::store
