// Resident identity numbers (公民身份号码), GB 11643-1999.
//
// 18 characters: 6-digit county code of first registration, 8-digit birth date, 3-digit
// sequence (odd = male), and an ISO 7064 MOD 11-2 check character (0-9 or X). Old cards
// carry 15 digits (2-digit year, no check character). Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/date.h"

namespace fupin {

enum class IdProblem {
  kNone,            // a valid 18-character number
  kEmpty,           // nothing there after trimming
  kMalformed,       // wrong length or characters that are not digits (or a final X)
  kImpossibleDate,  // the birth date digits name no real day
  kBadCheckChar,    // well-formed, real date, but the check character is wrong
};

// English and Chinese one-line descriptions of a problem, for reports.
std::string_view IdProblemText(IdProblem problem);
std::string_view IdProblemTextZh(IdProblem problem);

struct IdNumber {
  // The cleaned number: 18 upper-case characters when it could be read as one (also when
  // the check character is wrong, so that linkage can still use the other 17), otherwise the
  // input with spaces removed and full-width forms folded to ASCII.
  std::string normalized;
  IdProblem problem = IdProblem::kNone;
  bool converted_from_15 = false;  // a 15-digit number was widened to 18
  bool cleaned = false;            // spaces, full-width digits or a lower-case x were fixed
};

// Cleans and checks a raw ID number as a department typed it.
IdNumber NormalizeIdNumber(std::string_view raw);

// The problem of a number already in normal form (17 ASCII digits and a digit or an upper-case
// X), found without copying it: kNone, kImpossibleDate or kBadCheckChar, as NormalizeIdNumber
// would say. nullopt when the text is not in that form and needs NormalizeIdNumber.
std::optional<IdProblem> NormalFormIdProblem(std::string_view id);

// Returns the check character for the first 17 digits.
// REQUIRES: first17 holds exactly 17 ASCII digits.
char IdCheckChar(std::string_view first17);

// Fields encoded in a number whose `problem` is kNone or kBadCheckChar.
// REQUIRES: id.size() == 18 with a valid date part.
Date IdBirthDate(std::string_view id18);
int IdSex(std::string_view id18);  // 1 male, 2 female (the exchange format's codes)
std::string_view IdCountyCode(std::string_view id18);  // first 6 digits

// An 18-character ID (17 digits and a digit or X) as one positive integer, and back: the
// person index's person id. Distinct IDs give distinct values; 0 when `id18` is not shaped
// like an ID (the check character is not verified).
uint64_t PackIdNumber(std::string_view id18);

// An ID number as shown to whoever may not see it whole (脱敏): the first 6 and the last 4
// characters kept, the rest as '*' ("520102********123X"); shorter text all '*'.
std::string MaskIdNumber(std::string_view id);
// A phone number as shown masked: its first three and last four characters kept
// ("13812345678" -> "138****5678"); shorter than 8 characters, all '*'.
std::string MaskPhoneNumber(std::string_view phone);
// `text` with every run of 15 or 18 ID characters (digits, the last may be X) masked as
// MaskIdNumber does, and every run of exactly 11 digits that is a mobile number (1, then 3-9)
// as MaskPhoneNumber does: for free text (evidence, notes, reasons) that may quote either.
std::string MaskIdAndPhoneNumbersIn(std::string_view text);
// REQUIRES: packed was returned non-zero by PackIdNumber.
std::string UnpackIdNumber(uint64_t packed);

}  // namespace fupin
