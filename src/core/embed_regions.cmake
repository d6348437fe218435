# Writes OUTPUT, a C++ file defining fupin::BuiltinRegionsCsv() that returns INPUT's bytes.
file(READ ${INPUT} content)
string(LENGTH "${content}" length)
set(chunks "")
set(offset 0)
# Raw string literals in pieces of 16 KB stay well inside every compiler's literal limit.
while(offset LESS length)
  string(SUBSTRING "${content}" ${offset} 16000 piece)
  string(APPEND chunks "R\"fupin_csv(${piece})fupin_csv\"\n")
  math(EXPR offset "${offset} + 16000")
endwhile()
file(WRITE ${OUTPUT} "// Generated from data/regions/520000.csv; do not edit.\n#include \"core/regions_data.h\"\nnamespace fupin {\nstd::string_view BuiltinRegionsCsv() {\n  static const char kCsv[] =\n${chunks};\n  return std::string_view(kCsv, sizeof(kCsv) - 1);\n}\n}  // namespace fupin\n")
