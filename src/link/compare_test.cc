#include "link/compare.h"

#include <gtest/gtest.h>

namespace fupin::link {
namespace {

TEST(CompareNames, LevelsFromIdenticalToDifferent) {
  EXPECT_EQ(CompareNames("王小明", "王小明"), 0);
  EXPECT_EQ(CompareNames("張偉", "张伟"), 1);      // traditional form
  EXPECT_EQ(CompareNames("王小铭", "王小明"), 2);  // homophone 明/铭
  EXPECT_EQ(CompareNames("玉小明", "王小明"), 3);  // 形近字 王/玉, different pinyin
  EXPECT_EQ(CompareNames("李四", "王小明"), 4);
  EXPECT_EQ(CompareNames("李小红", "王小明"), 4);  // two characters differ
  EXPECT_EQ(CompareNames("", "王小明"), kMissing);
  EXPECT_EQ(CompareNames("王小明", ""), kMissing);
  // The caller's simplified form is used when given.
  EXPECT_EQ(CompareNames("張偉", "张伟", "张伟"), 1);
}

TEST(CompareNames, LatinNamesUseJaroWinkler) {
  EXPECT_EQ(CompareNames("martha", "martha"), 0);
  EXPECT_EQ(CompareNames("martha", "marhta"), 3);
  EXPECT_EQ(CompareNames("smith", "jones"), 4);
}

TEST(CompareDates, Levels) {
  EXPECT_EQ(CompareDates(19800115, 19800115), 0);
  EXPECT_EQ(CompareDates(19800115, 19810115), 1);  // year
  EXPECT_EQ(CompareDates(19800115, 19800116), 1);  // day
  EXPECT_EQ(CompareDates(19800304, 19800403), 2);  // day and month swapped
  EXPECT_EQ(CompareDates(19800304, 19810403), 3);
  EXPECT_EQ(CompareDates(0, 19800403), kMissing);
}

TEST(CompareDates, ParseDateKeyFormats) {
  EXPECT_EQ(ParseDateKey("1980-01-15"), 19800115);
  EXPECT_EQ(ParseDateKey("1980/1/5"), 19800105);
  EXPECT_EQ(ParseDateKey("1980.01.15"), 19800115);
  EXPECT_EQ(ParseDateKey("19800115"), 19800115);
  EXPECT_EQ(ParseDateKey("1980-13-01"), 0);
  EXPECT_EQ(ParseDateKey("15/01/1980"), 0);
  EXPECT_EQ(ParseDateKey(""), 0);
  EXPECT_EQ(ParseDateKey("1980-01"), 0);
}

TEST(CompareSexAndRegions, Levels) {
  EXPECT_EQ(CompareSex(1, 1), 0);
  EXPECT_EQ(CompareSex(1, 2), 1);
  EXPECT_EQ(CompareSex(0, 2), kMissing);
  // A row known to the village, township or county only.
  EXPECT_EQ(CompareRegions("520102016001", 12, "520102016001"), 0);
  EXPECT_EQ(CompareRegions("520102016002", 12, "520102016001"), 1);
  EXPECT_EQ(CompareRegions("520102016000", 9, "520102016001"), 1);
  EXPECT_EQ(CompareRegions("520102000000", 6, "520102016001"), 2);
  EXPECT_EQ(CompareRegions("520102001001", 12, "520102016001"), 2);
  EXPECT_EQ(CompareRegions("520302001001", 12, "520102016001"), 3);
  EXPECT_EQ(CompareRegions("", 0, "520102016001"), kMissing);
  EXPECT_EQ(RegionDigits("520102000000"), 6);
  EXPECT_EQ(RegionDigits("520102016000"), 9);
  EXPECT_EQ(RegionDigits("520102016001"), 12);
  EXPECT_EQ(RegionDigits("52x"), 0);
}

TEST(JaroWinkler, TextbookValues) {
  // Winkler's examples.
  EXPECT_NEAR(JaroWinkler("MARTHA", "MARHTA"), 0.961, 0.001);
  EXPECT_NEAR(JaroWinkler("DWAYNE", "DUANE"), 0.840, 0.001);
  EXPECT_NEAR(JaroWinkler("DIXON", "DICKSONX"), 0.813, 0.001);
  EXPECT_EQ(JaroWinkler("abc", "abc"), 1.0);
  EXPECT_EQ(JaroWinkler("abc", "xyz"), 0.0);
  EXPECT_EQ(JaroWinkler("", "xyz"), 0.0);
  // By code point, not byte.
  EXPECT_NEAR(JaroWinkler("王小明", "王小铭"), JaroWinkler("abc", "abd"), 1e-12);
}

}  // namespace
}  // namespace fupin::link

namespace fupin::link {
namespace {

TEST(Soundex, KnownCodes) {
  EXPECT_EQ(Soundex("Robert"), "R163");
  EXPECT_EQ(Soundex("Rupert"), "R163");
  EXPECT_EQ(Soundex("Rubin"), "R150");
  EXPECT_EQ(Soundex("Ashcraft"), "A261");  // h and w do not separate equal codes
  EXPECT_EQ(Soundex("Tymczak"), "T522");
  EXPECT_EQ(Soundex("Pfister"), "P236");
  EXPECT_EQ(Soundex("Lee"), "L000");
  EXPECT_EQ(Soundex("王"), "");
}

}  // namespace
}  // namespace fupin::link
