// Calendar dates (日期) as the exchange format writes them: YYYY-MM-DD. Thread-safe: values.
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace fupin {

struct Date {
  int year = 0;
  int month = 0;
  int day = 0;
  auto operator<=>(const Date&) const = default;
};

// True when year/month/day name a real day of the Gregorian calendar (year 1800..2200).
bool IsValidDate(int year, int month, int day);

// Parses "YYYY-MM-DD" strictly. Returns nullopt for any other shape or an impossible day.
std::optional<Date> ParseIsoDate(std::string_view text);

// Converts an Excel serial day number (1900 date system, 1 = 1900-01-01) to a date.
std::optional<Date> DateFromExcelSerial(double serial);

// "YYYY-MM-DD".
std::string FormatDate(const Date& date);

// Days since 1970-01-01 (negative before), for differences between dates.
long DaysFromCivil(const Date& date);
Date CivilFromDays(long days);

}  // namespace fupin
