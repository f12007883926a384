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

}  // namespace relay::store
