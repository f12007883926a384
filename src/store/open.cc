// OpenStore: picks the backend from the URL. The only file above store/sqlite/
// that names a backend.
#include <string>

#include "store/sqlite/sqlite_store.h"
#include "store/store.h"

namespace relay::store {

Result<std::unique_ptr<Store>> OpenStore(const std::string& url, const OpenOptions& options) {
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) {
    return Status::Invalid("PostgreSQL stores are not supported by this build yet");
  }
  std::string path = StoreFilePath(url);
  if (path.empty()) return Status::Invalid("store '" + url + "' names no file");
  RELAY_ASSIGN_OR_RETURN(std::unique_ptr<sqlite::SqliteStore> store,
                         sqlite::SqliteStore::Open(path, options));
  return std::unique_ptr<Store>(std::move(store));
}

std::string StoreFilePath(const std::string& url) {
  if (url.rfind("postgres://", 0) == 0 || url.rfind("postgresql://", 0) == 0) return "";
  std::string path = url;
  if (path.rfind("sqlite:", 0) == 0) {
    path.erase(0, 7);
    // Also accept the URL spelling sqlite:///abs/path or sqlite://rel/path.
    if (path.rfind("//", 0) == 0) path.erase(0, 2);
  }
  return path;
}

}  // namespace relay::store
