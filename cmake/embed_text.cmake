# Writes OUTPUT, a C++ file defining NAMESPACE::FUNCTION() (declared in HEADER) that returns
# INPUT's bytes as a std::string_view. Used to build data files (regions, default rules)
# into the binary, so that `fupin` needs no data files at run time.
#   cmake -DINPUT=f -DOUTPUT=f.cc -DHEADER=x/y.h -DNAMESPACE=fupin -DFUNCTION=Name -P embed_text.cmake
file(READ ${INPUT} content)
string(LENGTH "${content}" length)
set(chunks "")
set(offset 0)
# Raw string literals in pieces of 12 KB stay well inside every compiler's literal limit.
while(offset LESS length)
  string(SUBSTRING "${content}" ${offset} 12000 piece)
  string(APPEND chunks "R\"fupin_embed(${piece})fupin_embed\"\n")
  math(EXPR offset "${offset} + 12000")
endwhile()
get_filename_component(name ${INPUT} NAME)
file(WRITE ${OUTPUT} "// Generated from ${name}; do not edit.\n#include \"${HEADER}\"\nnamespace ${NAMESPACE} {\nstd::string_view ${FUNCTION}() {\n  static const char kText[] =\n${chunks};\n  return std::string_view(kText, sizeof(kText) - 1);\n}\n}  // namespace ${NAMESPACE}\n")
