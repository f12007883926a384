#include "store/sqlite/statement.h"

#include <sqlite3.h>

namespace relay::store::sqlite {

Statement::~Statement() { Finalize(); }

int Statement::Prepare(sqlite3* db, std::string_view sql, bool persistent) {
  Finalize();
  return sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()),
                            persistent ? SQLITE_PREPARE_PERSISTENT : 0, &stmt_, nullptr);
}

void Statement::Define(sqlite3* db, std::string_view sql) {
  Finalize();
  db_ = db;
  sql_ = sql;
  prepare_rc_ = SQLITE_OK;
}

bool Statement::Ready() {
  if (stmt_ != nullptr) return true;
  if (db_ == nullptr || prepare_rc_ != SQLITE_OK) return false;
  prepare_rc_ = Prepare(db_, sql_);
  return prepare_rc_ == SQLITE_OK;
}

void Statement::Finalize() {
  sqlite3_finalize(stmt_);
  stmt_ = nullptr;
  db_ = nullptr;
}

void Statement::Bind(int i, std::string_view text) {
  if (!Ready()) return;
  // A null data pointer would bind SQL NULL; an empty string is not NULL.
  sqlite3_bind_text(stmt_, i, text.data() ? text.data() : "", static_cast<int>(text.size()),
                    SQLITE_STATIC);
}

void Statement::Bind(int i, int64_t value) {
  if (Ready()) sqlite3_bind_int64(stmt_, i, value);
}

void Statement::BindNull(int i) {
  if (Ready()) sqlite3_bind_null(stmt_, i);
}

void Statement::BindZeroBlob(int i, int bytes) {
  if (Ready()) sqlite3_bind_zeroblob(stmt_, i, bytes);
}

void Statement::BindBlob(int i, std::string_view bytes) {
  if (Ready())
    sqlite3_bind_blob(stmt_, i, bytes.data() ? bytes.data() : "", static_cast<int>(bytes.size()),
                      SQLITE_STATIC);
}

int Statement::Step() {
  if (!Ready()) return prepare_rc_ != SQLITE_OK ? prepare_rc_ : SQLITE_MISUSE;
  return sqlite3_step(stmt_);
}

void Statement::Reset() {
  if (stmt_ != nullptr) sqlite3_reset(stmt_);
}

std::string_view Statement::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (p == nullptr) return {};
  return {reinterpret_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
}

std::string_view Statement::Blob(int col) const {
  const void* p = sqlite3_column_blob(stmt_, col);
  if (p == nullptr) return {};
  return {static_cast<const char*>(p), static_cast<size_t>(sqlite3_column_bytes(stmt_, col))};
}

int64_t Statement::Int(int col) const { return sqlite3_column_int64(stmt_, col); }

bool Statement::IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

}  // namespace relay::store::sqlite
