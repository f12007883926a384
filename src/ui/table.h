// Plain text tables with columns sized to their content (relay runs, show).
#pragma once

#include <string>
#include <vector>

namespace relay::ui {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Columns separated by two spaces; the last column is not padded.
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace relay::ui
