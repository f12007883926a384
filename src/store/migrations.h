// Numbered schema migrations, compiled in from src/store/migrations/NNNN_name.sql.
// A migration is never edited or renumbered once released: add a new one.
#pragma once

#include <vector>

namespace relay::store {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

// In ascending version order.
const std::vector<Migration>& Migrations();

// The schema the migrations build, as one script (src/store/schema.sql): a
// new store is created from it directly.
const char* CurrentSchema();

}  // namespace relay::store
