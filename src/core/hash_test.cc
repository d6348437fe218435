#include "core/hash.h"

#include <gtest/gtest.h>

namespace fupin {
namespace {

// The store keeps these hashes (row_key, row_hash) and compares them with the next import's:
// a change to the function would make every stored row look changed once. The values were
// taken from the first implementation.
TEST(HasherTest, ValuesAreStableAcrossVersions) {
  Hasher a(1);
  a.Add(std::string_view("520102197904070530"));
  a.Add(int64_t{42});
  a.AddNull();
  a.Add(std::string_view("郝明洪"));
  EXPECT_EQ(a.Finish(), 17590703314733215795ull);
  Hasher b(3);
  b.Add(std::string_view(""));
  EXPECT_EQ(b.Finish(), 16658877218596939308ull);
  Hasher c;
  c.Add(int64_t{-7});
  c.Add(std::string_view("12345678"));
  EXPECT_EQ(c.Finish(), 18144943583053737481ull);
}

TEST(HasherTest, FieldBoundariesAndSeedsMatter) {
  auto two = [](std::string_view x, std::string_view y, uint64_t seed = 0) {
    Hasher h(seed);
    h.Add(x);
    h.Add(y);
    return h.Finish();
  };
  EXPECT_NE(two("ab", "c"), two("a", "bc"));
  EXPECT_NE(two("", "abcdefgh"), two("abcdefgh", ""));
  EXPECT_NE(two("a", "b", 1), two("a", "b", 2));
  Hasher null_then_empty, empty_then_null;
  null_then_empty.AddNull();
  null_then_empty.Add(std::string_view(""));
  empty_then_null.Add(std::string_view(""));
  empty_then_null.AddNull();
  EXPECT_NE(null_then_empty.Finish(), empty_then_null.Finish());
}

}  // namespace
}  // namespace fupin
