#include "store/sqlite/errors.h"

#include <sqlite3.h>

#include <cerrno>
#include <cstring>

namespace relay::store::sqlite {

Status SqliteStatus(int rc, sqlite3* db, const std::string& path, std::string_view what) {
  // sqlite3_errmsg describes the most recent failure on the connection, which
  // is this one: callers map the code right after the failing call.
  std::string detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  int sys = db ? sqlite3_system_errno(db) : 0;
  std::string doing(what);
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return Status::Busy("store " + path + " is locked by another process (" + detail +
                          " while trying to " + doing + "); wait for it or stop it");
    case SQLITE_NOTADB:
    case SQLITE_CORRUPT:
      return Status::Corrupt(path + " is not a relay store or is corrupt: " + detail);
    case SQLITE_FULL:
      return Status::Full("disk full while writing " + path);
    case SQLITE_CANTOPEN:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
    case SQLITE_IOERR: {
      if (sys == ENOSPC || sys == EDQUOT) return Status::Full("disk full while writing " + path);
      std::string msg = "cannot " + doing + " store " + path + ": " + detail;
      if (sys != 0) msg += std::string(" (") + std::strerror(sys) + ")";
      return Status::Io(msg);
    }
    case SQLITE_CONSTRAINT:
      return Status::Conflict("store " + path + ": " + doing + ": " + detail);
    default:
      return Status::Internal("store " + path + ": " + doing + " failed: " + detail);
  }
}

}  // namespace relay::store::sqlite
