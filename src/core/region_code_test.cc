#include "core/region_code.h"

#include <gtest/gtest.h>

namespace fupin {
namespace {

TEST(RegionCode, LevelsFromShape) {
  EXPECT_EQ(LevelOf("520000000000"), RegionLevel::kProvince);
  EXPECT_EQ(LevelOf("520100000000"), RegionLevel::kPrefecture);
  EXPECT_EQ(LevelOf("520102000000"), RegionLevel::kCounty);
  EXPECT_EQ(LevelOf("520102001000"), RegionLevel::kTownship);
  EXPECT_EQ(LevelOf("520102001001"), RegionLevel::kVillage);
}

TEST(RegionCode, ParentsAndAncestors) {
  EXPECT_EQ(ParentOf("520102001001"), "520102001000");
  EXPECT_EQ(ParentOf("520102001000"), "520102000000");
  EXPECT_EQ(ParentOf("520102000000"), "520100000000");
  EXPECT_EQ(ParentOf("520100000000"), "520000000000");
  EXPECT_FALSE(ParentOf("520000000000"));
  EXPECT_EQ(AncestorAt("520102001001", RegionLevel::kCounty), "520102000000");
  EXPECT_EQ(SignificantPrefix("520102001000"), "520102001");
}

TEST(RegionCode, ValidatesAndPads) {
  EXPECT_TRUE(IsRegionCode("520102001001"));
  EXPECT_FALSE(IsRegionCode("52010200100"));
  EXPECT_FALSE(IsRegionCode("000000000000"));
  EXPECT_FALSE(IsRegionCode("52010200100a"));
  EXPECT_EQ(PadRegionCode("520102"), "520102000000");
  EXPECT_FALSE(PadRegionCode("5"));
  EXPECT_FALSE(PadRegionCode("52010200100100"));
  EXPECT_FALSE(PadRegionCode("52x102"));
}

}  // namespace
}  // namespace fupin
