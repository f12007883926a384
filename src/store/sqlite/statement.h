// A prepared SQLite statement: prepared once (persistent), then reset and
// rebound for every use, so the hot path allocates nothing here.
#pragma once

#include <cstdint>
#include <string_view>

struct sqlite3;
struct sqlite3_stmt;

namespace relay::store::sqlite {

class Statement {
 public:
  Statement() = default;
  ~Statement();
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  // Returns an SQLite result code. `persistent` hints that the statement is
  // reused for the life of the connection.
  int Prepare(sqlite3* db, std::string_view sql, bool persistent = true);
  void Finalize();

  // Bindings are 1-based. Text is NOT copied: it must outlive Step().
  void Bind(int i, std::string_view text);
  void Bind(int i, int64_t value);
  void BindNull(int i);
  void BindZeroBlob(int i, int bytes);

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step();
  // Makes the statement ready for new bindings (keeps the preparation).
  void Reset();

  // Columns are 0-based; valid after Step() returned SQLITE_ROW.
  std::string_view Text(int col) const;
  int64_t Int(int col) const;
  bool IsNull(int col) const;

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// Resets a statement when leaving a scope, so an early return cannot leave it
// holding a read transaction open.
class ScopedReset {
 public:
  explicit ScopedReset(Statement& s) : s_(s) {}
  ~ScopedReset() { s_.Reset(); }
  ScopedReset(const ScopedReset&) = delete;
  ScopedReset& operator=(const ScopedReset&) = delete;

 private:
  Statement& s_;
};

}  // namespace relay::store::sqlite
