// Masking (脱敏) of what identifies a person in an output: ID numbers and names. Exports and
// messages that show people mask them unless the caller explicitly asks otherwise (the CLI's
// --unmask; the server will decide by role and audit it). Pure functions, thread-safe.
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace fupin::service {

// "520102197001010011" -> "520102********0011": the county stays (it is shown beside the
// village anyway), birth date and sequence go. Text shorter than 8 characters becomes "*"s
// of the same length; empty stays empty.
std::string MaskIdNumber(std::string_view id_number);

// "王小明" -> "王**", "欧阳娜娜" -> "欧***": the first character stays, every other one
// becomes "*". A one-character name becomes "*". Works on UTF-8 characters, not bytes.
std::string MaskName(std::string_view name);

// `text` with every ID number in it (a run of 15 or 18 digits, the last may be X) masked
// as MaskIdNumber does, and every occurrence of each of `names` (two characters or more)
// masked as MaskName does.
std::string MaskText(std::string_view text, std::span<const std::string> names);

}  // namespace fupin::service
