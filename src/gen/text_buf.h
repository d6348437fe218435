// Hand-rolled CSV formatting into a growing std::string: integers, fixed decimals, money,
// dates and RFC 4180 fields. Used on every generated row, so nothing here allocates per call
// (beyond the string's own growth) and nothing goes through iostreams or locales.
// Thread-safe: free functions on caller-owned buffers.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/date.h"

namespace fupin::gen {

// Appends the decimal form of v.
inline void PutUint(std::string& out, uint64_t v) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) out.push_back(tmp[--n]);
}

inline void PutInt(std::string& out, int64_t v) {
  if (v < 0) {
    out.push_back('-');
    PutUint(out, static_cast<uint64_t>(-(v + 1)) + 1);
  } else {
    PutUint(out, static_cast<uint64_t>(v));
  }
}

// Appends v zero-padded to `width` digits (more digits if v needs them).
inline void PutPadded(std::string& out, uint64_t v, int width) {
  char tmp[24];
  int n = 0;
  do {
    tmp[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  for (int i = n; i < width; ++i) out.push_back('0');
  while (n > 0) out.push_back(tmp[--n]);
}

// Appends value / 10^decimals with exactly `decimals` digits after the point
// ("-12.345600" for -12345600, 6). REQUIRES: 0 < decimals <= 9.
inline void PutFixed(std::string& out, int64_t value, int decimals) {
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  int64_t scale = 1;
  for (int i = 0; i < decimals; ++i) scale *= 10;
  PutUint(out, static_cast<uint64_t>(value / scale));
  out.push_back('.');
  PutPadded(out, static_cast<uint64_t>(value % scale), decimals);
}

// Money in fen written as yuan: "1234" when whole, else "1234.50" (the format's "up to 2
// decimals").
inline void PutFen(std::string& out, int64_t fen) {
  if (fen % 100 == 0) {
    PutInt(out, fen / 100);
  } else {
    PutFixed(out, fen, 2);
  }
}

// A value held in tenths ("45.5", "12" when whole).
inline void PutTenths(std::string& out, int64_t tenths) {
  if (tenths % 10 == 0) {
    PutInt(out, tenths / 10);
  } else {
    PutFixed(out, tenths, 1);
  }
}

using Ymd = ::fupin::Date;

// Days since 1970-01-01 to a civil date.
inline Ymd YmdFromDays(int64_t days) { return CivilFromDays(static_cast<long>(days)); }

constexpr int64_t DaysFromYmd(int year, int month, int day) {
  const int64_t y = year - (month <= 2 ? 1 : 0);
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t mp = (month + 9) % 12;
  const int64_t doy = (153 * mp + 2) / 5 + day - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// "YYYY-MM-DD".
inline void PutDate(std::string& out, int64_t days) {
  const Ymd d = YmdFromDays(days);
  PutPadded(out, static_cast<uint64_t>(d.year), 4);
  out.push_back('-');
  PutPadded(out, static_cast<uint64_t>(d.month), 2);
  out.push_back('-');
  PutPadded(out, static_cast<uint64_t>(d.day), 2);
}

// Appends a CSV field, quoted (RFC 4180) only when it holds a comma, a quote or a line break.
inline void PutField(std::string& out, std::string_view text) {
  bool needs_quotes = false;
  for (char c : text) {
    if (c == ',' || c == '"' || c == '\n' || c == '\r') {
      needs_quotes = true;
      break;
    }
  }
  if (!needs_quotes) {
    out.append(text);
    return;
  }
  out.push_back('"');
  for (char c : text) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace fupin::gen
