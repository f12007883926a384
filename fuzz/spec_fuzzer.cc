// Feeds arbitrary bytes to the pipeline loader: it must report diagnostics,
// never crash, hang or leak, whatever the input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "spec/diagnostic.h"
#include "spec/load.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  // A `uses:` in the input names a sub-pipeline: it is the input itself
  // (so cycles, depth and with: checks are exercised), never a file on disk
  // (which would make runs depend on the machine, and slow).
  relay::spec::LoadOptions options;
  options.resolve = [&text](const std::string&) -> relay::Result<std::string> { return text; };
  relay::spec::LoadResult result = relay::spec::LoadPipelineText(text, "fuzz.yaml", options);
  // Formatting reads the source at each diagnostic's position.
  for (const auto& d : result.diagnostics) (void)relay::spec::FormatDiagnostic(d, text);
  return 0;
}
