#include "support/temp_dir.h"

#include <stdlib.h>

#include <filesystem>

namespace relay::testing {

TempDir::TempDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "relay-test-XXXXXX").string();
  char* made = mkdtemp(tmpl.data());
  path_ = made ? made : "/tmp";
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace relay::testing
