// SQLite result codes as relay Status values that name the store file.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"

struct sqlite3;

namespace relay::store::sqlite {

// `rc` is an SQLite (extended) result code that is not OK/ROW/DONE; `what`
// says what relay was doing ("commit", "open"). Busy and locked → kBusy,
// not-a-database and corrupt → kCorrupt, full → kFull, cannot open, read-only,
// permission and I/O errors → kIo, constraint violations → kConflict, the
// rest → kInternal.
Status SqliteStatus(int rc, sqlite3* db, const std::string& path, std::string_view what);

}  // namespace relay::store::sqlite
