#include "store/sqlite/statement.h"

#include <sqlite3.h>

namespace relay::store::sqlite {

Statement::~Statement() { Finalize(); }

int Statement::Prepare(sqlite3* db, std::string_view sql, bool persistent) {
  Finalize();
  return sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                            persistent ? SQLITE_PREPARE_PERSISTENT : 0, &stmt_, nullptr);
}

void Statement::Finalize() {
  sqlite3_finalize(stmt_);
  stmt_ = nullptr;
}

void Statement::Bind(int i, std::string_view text) {
  // A null data pointer would bind SQL NULL; an empty string is not NULL.
  sqlite3_bind_text(stmt_, i, text.data() ? text.data() : "", static_cast<int>(text.size()),
                    SQLITE_STATIC);
}

void Statement::Bind(int i, int64_t value) { sqlite3_bind_int64(stmt_, i, value); }

void Statement::BindNull(int i) { sqlite3_bind_null(stmt_, i); }

void Statement::BindZeroBlob(int i, int bytes) { sqlite3_bind_zeroblob(stmt_, i, bytes); }

int Statement::Step() { return sqlite3_step(stmt_); }

void Statement::Reset() { sqlite3_reset(stmt_); }

std::string_view Statement::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
}

int64_t Statement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

bool Statement::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

}  // namespace relay::store::sqlite
