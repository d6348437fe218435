#include "core/id_number.h"

#include <algorithm>

#include "core/text.h"

namespace fupin {

std::string_view IdProblemText(IdProblem p) {
  switch (p) {
    case IdProblem::kNone:
      return "valid";
    case IdProblem::kEmpty:
      return "ID number is empty";
    case IdProblem::kMalformed:
      return "ID number is malformed (not 15 digits or 17 digits plus a check character)";
    case IdProblem::kImpossibleDate:
      return "ID number holds an impossible birth date";
    case IdProblem::kBadCheckChar:
      return "ID number check character is wrong";
  }
  return "";
}

std::string_view IdProblemTextZh(IdProblem p) {
  switch (p) {
    case IdProblem::kNone:
      return "有效";
    case IdProblem::kEmpty:
      return "身份证号为空";
    case IdProblem::kMalformed:
      return "身份证号格式错误（应为15位数字或17位数字加校验码）";
    case IdProblem::kImpossibleDate:
      return "身份证号中的出生日期不存在";
    case IdProblem::kBadCheckChar:
      return "身份证号校验码错误";
  }
  return "";
}

char IdCheckChar(std::string_view first17) {
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr char kChars[] = "10X98765432";
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return kChars[sum % 11];
}

namespace {
bool AllDigits(std::string_view s) {
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}
int Num(std::string_view s) {
  int v = 0;
  for (char c : s) v = v * 10 + (c - '0');
  return v;
}
}  // namespace

IdNumber NormalizeIdNumber(std::string_view raw) {
  IdNumber out;
  std::string s = RemoveAllSpace(FullWidthToAscii(raw));
  if (s.size() != TrimSpace(raw).size()) out.cleaned = true;
  if (s.empty()) {
    out.problem = IdProblem::kEmpty;
    return out;
  }
  if (s.size() == 18 && s[17] == 'x') {
    s[17] = 'X';
    out.cleaned = true;
  }
  if (s.size() == 15 && AllDigits(s)) {
    if (!IsValidDate(1900 + Num(s.substr(6, 2)), Num(s.substr(8, 2)), Num(s.substr(10, 2)))) {
      out.normalized = s;
      out.problem = IdProblem::kImpossibleDate;
      return out;
    }
    std::string wide = s.substr(0, 6) + "19" + s.substr(6);
    wide.push_back(IdCheckChar(wide));
    out.normalized = wide;
    out.converted_from_15 = true;
    return out;
  }
  out.problem = NormalFormIdProblem(s).value_or(IdProblem::kMalformed);
  out.normalized = std::move(s);
  return out;
}

std::optional<IdProblem> NormalFormIdProblem(std::string_view s) {
  if (s.size() != 18 || !AllDigits(s.substr(0, 17)) || !(AllDigits(s.substr(17)) || s[17] == 'X'))
    return std::nullopt;
  if (!IsValidDate(Num(s.substr(6, 4)), Num(s.substr(10, 2)), Num(s.substr(12, 2))))
    return IdProblem::kImpossibleDate;
  if (IdCheckChar(s) != s[17]) return IdProblem::kBadCheckChar;
  return IdProblem::kNone;
}

Date IdBirthDate(std::string_view id) {
  return Date{Num(id.substr(6, 4)), Num(id.substr(10, 2)), Num(id.substr(12, 2))};
}

int IdSex(std::string_view id) { return (id[16] - '0') % 2 == 1 ? 1 : 2; }

std::string_view IdCountyCode(std::string_view id) { return id.substr(0, 6); }

uint64_t PackIdNumber(std::string_view id) {
  if (id.size() != 18) return 0;
  uint64_t body = 0;
  for (int i = 0; i < 17; ++i) {
    if (id[i] < '0' || id[i] > '9') return 0;
    body = body * 10 + static_cast<uint64_t>(id[i] - '0');
  }
  char c = id[17];
  if ((c < '0' || c > '9') && c != 'X') return 0;
  return body * 11 + static_cast<uint64_t>(c == 'X' ? 10 : c - '0') + 1;
}

std::string UnpackIdNumber(uint64_t packed) {
  uint64_t v = packed - 1;
  int check = static_cast<int>(v % 11);
  uint64_t body = v / 11;
  std::string out(18, '0');
  out[17] = check == 10 ? 'X' : static_cast<char>('0' + check);
  for (int i = 16; i >= 0; --i, body /= 10)
    out[static_cast<size_t>(i)] = static_cast<char>('0' + body % 10);
  return out;
}

std::string MaskIdNumber(std::string_view id) {
  if (id.size() <= 10) return std::string(id.size(), '*');
  return std::string(id.substr(0, 6)) + std::string(id.size() - 10, '*') +
         std::string(id.substr(id.size() - 4));
}

std::string MaskPhoneNumber(std::string_view phone) {
  if (phone.size() < 8) return std::string(phone.size(), '*');
  return std::string(phone.substr(0, 3)) + std::string(phone.size() - 7, '*') +
         std::string(phone.substr(phone.size() - 4));
}

std::string MaskIdAndPhoneNumbersIn(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    size_t j = i;
    while (j < text.size() && text[j] >= '0' && text[j] <= '9') ++j;
    size_t run = j - i;
    if ((run == 17 || run == 14) && j < text.size() && (text[j] == 'X' || text[j] == 'x')) {
      ++j;
      ++run;
    }
    if (run == 15 || run == 18) {
      out += MaskIdNumber(text.substr(i, run));
    } else if (run == 11 && text[i] == '1' && text[i + 1] >= '3' && text[i + 1] <= '9') {
      out += MaskPhoneNumber(text.substr(i, run));
    } else {
      out += text.substr(i, std::max<size_t>(run, 1));
      if (run == 0) j = i + 1;
    }
    i = j;
  }
  return out;
}

}  // namespace fupin
