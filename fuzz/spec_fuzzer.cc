// Feeds arbitrary bytes to the pipeline loader: it must report diagnostics,
// never crash, hang or leak, whatever the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "spec/diagnostic.h"
#include "spec/load.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  relay::spec::LoadResult result = relay::spec::LoadPipelineText(text, "fuzz.yaml");
  // Formatting reads the source at each diagnostic's position.
  for (const auto& d : result.diagnostics) (void)relay::spec::FormatDiagnostic(d, text);
  return 0;
}
