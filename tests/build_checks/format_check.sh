#!/usr/bin/env bash
# Fails when a C++ file of the project is not formatted as .clang-format says (clang-format -i FILE fixes it).
# Usage: format_check.sh SOURCE_DIR
set -euo pipefail
cd "$1"
mapfile -t files < <(find src tests bench -name '*.cc' -o -name '*.h' | sort)
clang-format --dry-run -Werror "${files[@]}"
echo "format_check: ${#files[@]} files formatted"
