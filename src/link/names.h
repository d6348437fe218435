// Chinese personal names for comparison (姓名比对): normalisation, traditional -> simplified,
// and toneless pinyin. Used by the person index to tell a homophone (明/铭) or a traditional
// form (張/张) of a name from a different name.
//
// Data: pinyin comes from Unihan's kMandarin readings (Debian's unicode-data; the first
// reading of each character), turned into a table at build time (see names.cmake and
// gen_pinyin_table.cc) with overrides in names.cc for surnames read as surnames (单 shan, 曾
// zeng, 解 xie, 区 ou, 仇 qiu ...) and place names (都匀 du yun); traditional -> simplified
// comes from OpenCC's t2s conversion (Debian's opencc), read once, on first use, into a
// character map (about 50 ms).
// Thread-safety: every function here may be called from any thread.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace fupin::link {

// Removes every kind of space (ASCII, U+3000, U+00A0, tabs, the other Unicode spaces
// U+2000..U+200A and zero-width characters), folds full-width ASCII to ASCII and writes every
// middle-dot variant (· • . ・ ． ‧ ･ ∙ ⋅: U+2022 U+2027 U+2219 U+22C5 U+30FB U+FF0E U+FF65
// ...) as U+00B7, a run of them as one, as in 阿依古丽·买买提. Invalid UTF-8 bytes are kept as
// they are.
std::string NormalizeName(std::string_view name);

// The simplified form of every character that has one (張 -> 张); other characters unchanged.
// Character by character (names have no phrases to convert), for the CJK blocks U+3400..U+9FFF
// and U+F900..U+FAFF; 乾 stays (a simplified character too, qián, where OpenCC writes 干).
// Returns the text unchanged when OpenCC's data is missing (see CheckNameData). Invalid UTF-8
// bytes are kept as they are.
std::string ToSimplified(std::string_view name);

// Toneless pinyin of each character, lower case (ü as v), separated by single spaces; the
// first character (or a compound surname such as 欧阳, 令狐, 诸葛, 司马) read as a surname.
// Each character reads as its simplified form, so a traditional name reads like the
// simplified one (NamePinyin(x) == NamePinyin(ToSimplified(x))). Spaces are dropped; a
// character without a reading is kept as itself. "单小明" -> "shan xiao ming".
std::string NamePinyin(std::string_view name);

// Toneless pinyin of one code point, Unihan's first kMandarin reading without surname
// readings ("" when Unihan has none). The view points into static storage.
std::string_view CharPinyin(char32_t c);

// Toneless pinyin of a place name, with place-name overrides (都匀 -> "du yun").
std::string PlacePinyin(std::string_view place);

// The surname of a Han name: the compound surname when the name starts with one and has a
// given name after it (欧阳娜娜 -> 欧阳, but 欧阳 -> 欧), else the first character; for a
// name with a middle dot (any variant NormalizeName folds), the part before it. Empty for "".
// Expects NormalizeName's output; the view points into `name`.
std::string_view Surname(std::string_view name);

// Checks the tables loaded (OpenCC's dictionary found). Call once at start-up to get a clear
// error instead of silently comparing without simplification: NotFound naming t2s.json and the
// Debian package opencc when OpenCC cannot open it.
Status CheckNameData();

}  // namespace fupin::link
