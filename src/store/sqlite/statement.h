// A prepared SQLite statement: prepared once (persistent), then reset and
// rebound for every use, so the hot path allocates nothing here. Define()
// only keeps the SQL: the statement is prepared when first used, so a
// command pays only for the statements it runs.
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
  // Keeps `sql` (which must outlive the statement) to prepare at first use;
  // a failure to prepare is then the result of Step().
  void Define(sqlite3* db, std::string_view sql);
  void Finalize();

  // Bindings are 1-based. Text is NOT copied: it must outlive Step().
  void Bind(int i, std::string_view text);
  void Bind(int i, int64_t value);
  void BindNull(int i);
  void BindZeroBlob(int i, int bytes);
  void BindBlob(int i, std::string_view bytes);

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step();
  // Makes the statement ready for new bindings (keeps the preparation).
  void Reset();

  // Columns are 0-based; valid after Step() returned SQLITE_ROW.
  std::string_view Text(int col) const;
  std::string_view Blob(int col) const;
  int64_t Int(int col) const;
  bool IsNull(int col) const;

 private:
  bool Ready();  // prepares a defined statement; false if that failed

  sqlite3_stmt* stmt_ = nullptr;
  sqlite3* db_ = nullptr;  // with sql_: defined, not yet prepared
  std::string_view sql_;
  int prepare_rc_ = 0;
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
