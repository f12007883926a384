# Turns the file IN into OUT, a C++ source defining std::string_view NAME()
# in namespace NS that returns the file's bytes.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR size "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
set(body "// Generated from ${IN} by scripts/embed-binary.cmake.\n#include <string_view>\n\nnamespace ${NS} {\n\nstd::string_view ${NAME}() {\n  static const char kBytes[] = {${bytes}};\n  return {kBytes, ${size}};\n}\n\n}  // namespace ${NS}\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
