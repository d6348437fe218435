#include "core/date.h"

#include <gtest/gtest.h>

namespace fupin {
namespace {

TEST(Date, ParsesIsoDates) {
  EXPECT_EQ(ParseIsoDate("2020-02-29"), (Date{2020, 2, 29}));
  EXPECT_FALSE(ParseIsoDate("2019-02-29"));
  EXPECT_FALSE(ParseIsoDate("2019-13-01"));
  EXPECT_FALSE(ParseIsoDate("2019/01/01"));
  EXPECT_FALSE(ParseIsoDate("2019-1-1"));
  EXPECT_FALSE(ParseIsoDate(""));
}

TEST(Date, ExcelSerialsMatchExcel) {
  EXPECT_EQ(DateFromExcelSerial(1), (Date{1900, 1, 1}));
  EXPECT_EQ(DateFromExcelSerial(61), (Date{1900, 3, 1}));
  EXPECT_EQ(DateFromExcelSerial(43831), (Date{2020, 1, 1}));
  EXPECT_EQ(DateFromExcelSerial(45292.75), (Date{2024, 1, 1}));
  EXPECT_FALSE(DateFromExcelSerial(-3));
}

TEST(Date, CivilDaysRoundTrip) {
  for (long d = -100000; d < 100000; d += 37) EXPECT_EQ(DaysFromCivil(CivilFromDays(d)), d);
  EXPECT_EQ(DaysFromCivil(Date{1970, 1, 1}), 0);
  EXPECT_EQ(FormatDate(Date{2014, 3, 5}), "2014-03-05");
}

}  // namespace
}  // namespace fupin
