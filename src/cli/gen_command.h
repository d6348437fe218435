// `fupin gen`: writes a synthetic Guizhou exchange batch with ground truth (生成合成数据).
// See docs/generator.md for what it writes and the distributions behind it.
#pragma once

#include <CLI/CLI.hpp>

namespace fupin::cli {

// Registers `fupin gen --scale S --seed N --out DIR [--xlsx] [--encoding utf8|gb18030]
// [--threads T]`. Progress goes to stderr. On failure the callback prints the reason to
// stderr and sets `exit_code` to 1.
void AddGenCommand(CLI::App& app, int& exit_code);

}  // namespace fupin::cli
