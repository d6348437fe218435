// Linked into every program that writes PDF (fupin and the report tests) so that the ASan pass
// of scripts/test judges our code, not the libraries'. fontconfig keeps its configuration for
// the life of the process, and cairo 1.16 loses 768 bytes per font subset when it finishes a
// PDF (a cairo bug, seen with plain pango text too). libxlsxwriter 1.1.5 keeps the copy it
// makes (lxw_strdup) of a data validation's list formula (worksheet_data_validation_range, one
// string per validated column: the templates' drop-downs); its frames carry no frame pointer,
// so the allocating function is all the stack shows. Leaks allocated in pango, glib or our code
// are still reported. Outside a LeakSanitizer build nothing calls this function.

extern "C" const char* __lsan_default_suppressions();  // NOLINT(bugprone-reserved-identifier)

extern "C" const char* __lsan_default_suppressions() {  // NOLINT(bugprone-reserved-identifier)
  return "leak:libfontconfig.so\nleak:libcairo.so\nleak:lxw_strdup\n";
}
