// Linked into every program that writes PDF (fupin and the report tests) so that the ASan pass
// of scripts/test judges our code, not the libraries'. fontconfig keeps its configuration for
// the life of the process, and cairo 1.16 loses 768 bytes per font subset when it finishes a
// PDF (a cairo bug, seen with plain pango text too). Leaks allocated in pango, glib or our code
// are still reported. Outside a LeakSanitizer build nothing calls this function.

extern "C" const char* __lsan_default_suppressions();  // NOLINT(bugprone-reserved-identifier)

extern "C" const char* __lsan_default_suppressions() {  // NOLINT(bugprone-reserved-identifier)
  return "leak:libfontconfig.so\nleak:libcairo.so\n";
}
