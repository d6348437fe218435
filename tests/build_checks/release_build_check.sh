#!/usr/bin/env bash
# A user's own build type builds: a plain Release configuration (-O3, where g++ 12 used to fail with
# -Werror=restrict in inlined std::string code) compiles the files that failed, even with the project's
# warnings-as-errors on; and a configuration without FUPIN_WERROR carries no -Werror at all.
# Usage: release_build_check.sh SOURCE_DIR WORK_DIR
set -euo pipefail
src="$1" work="$2"
cmake -S "$src" -B "$work/release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFUPIN_WERROR=ON \
  -DFUPIN_BENCH=OFF >/dev/null
ninja -C "$work/release" src/cli/CMakeFiles/fupin.dir/import_command.cc.o \
  tests/CMakeFiles/import_test.dir/test_files.cc.o
cmake -S "$src" -B "$work/plain" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFUPIN_BENCH=OFF >/dev/null
if grep -q -- '-Werror' "$work/plain/build.ninja"; then
  echo "release_build_check: a user's build without FUPIN_WERROR has -Werror" >&2
  exit 1
fi
echo "release_build_check: Release builds; -Werror only with FUPIN_WERROR=ON"
