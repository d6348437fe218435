// Internal to link/: the data behind link/names.h, exposed for names.cc and its tests only.
// Other code uses link/names.h, which adds surname and place-name readings and caches the
// traditional -> simplified map. Thread-safe: constant data and pure functions, except that
// ReadSimplifications reads OpenCC's global error message when it fails.
#pragma once

#include <cstddef>
#include <string_view>
#include <utility>
#include <vector>

#include "core/status.h"

namespace fupin::link {

// --- The pinyin table, generated at build time from Unihan's kMandarin field ---------------
// (gen_pinyin_table.cc, names.cmake; the definitions are in the generated pinyin_table_data.cc)

// The first kMandarin reading of `c` without tones, lower-case ASCII with ü as v ("lv");
// "" when Unihan has none. The view points into static storage.
std::string_view TablePinyin(char32_t c);

// The number of code points with a reading (41,419 in Debian bookworm's Unihan 15.0).
size_t PinyinTableSize();

// The number of distinct toneless syllables in the table.
size_t PinyinSyllableCount();

// --- Traditional -> simplified, from OpenCC ----------------------------------------------

// A traditional character and its simplified form.
using Simplification = std::pair<char32_t, char32_t>;

// Runs every code point of U+3400..U+4DBF, U+4E00..U+9FFF and U+F900..U+FAFF through the
// OpenCC configuration `opencc_config` ("t2s.json" is looked up in OpenCC's data directory,
// /usr/share/opencc on Debian) and returns those that become exactly one other code point,
// sorted by the first. Fails with NotFound naming the config and the Debian package opencc
// when OpenCC cannot open it, Internal when the conversion fails. Takes tens of milliseconds.
Result<std::vector<Simplification>> ReadSimplifications(const char* opencc_config);

}  // namespace fupin::link
