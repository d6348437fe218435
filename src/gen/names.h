// Chinese personal names for the synthetic province (姓名): surnames weighted by ethnic
// group, given names by birth era and sex, and the ways a department clerk mistypes them
// (traditional characters, homophones, similar-looking characters, stray spaces, middle-dot
// variants). Sources and weights are in docs/generator.md. Thread-safe: the tables are
// immutable after first use (function-local statics).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "gen/rng.h"

namespace fupin::gen {

// Ethnic groups the generator draws (index into the tables below), with GB 3304 codes.
enum EthnicGroup : uint8_t {
  kHan,
  kMiao,
  kBuyei,
  kDong,
  kTujia,
  kYi,
  kSui,
  kGelao,
  kHui,
  kBai,
  kYao,
  kUyghur,  // only among people outside the registry, for names with a middle dot
  kEthnicGroupCount
};

// GB 3304 code of a group (1 汉族, 6 苗族, ...).
int EthnicCode(EthnicGroup group);
// "苗族", used to spot autonomous counties by name.
std::string_view EthnicName(EthnicGroup group);

// A surname drawn for the group.
std::string_view DrawSurname(Rng& rng, EthnicGroup group);

// A given name (one or two characters) for a person of `sex` (1 male, 2 female) born in
// `birth_year`; appended to `out`.
void AppendGivenName(Rng& rng, int sex, int birth_year, std::string& out);

// A full transliterated name with a middle dot (U+00B7), e.g. for Uyghur people.
void AppendDottedName(Rng& rng, int sex, std::string& out);

// How a name was dirtied in a department file.
enum class NameDirt : uint8_t {
  kNone,
  kTraditional,
  kHomophone,
  kSimilarChar,
  kSpaces,
  kDotVariant
};
std::string_view NameDirtName(NameDirt dirt);  // "traditional", "homophone", ...

// Writes a dirtied copy of `name` into `out` and returns true, or returns false (out
// untouched) when the name offers nothing to dirty that way (no mappable character, no dot).
bool DirtyName(NameDirt dirt, std::string_view name, Rng& rng, std::string& out);

}  // namespace fupin::gen
