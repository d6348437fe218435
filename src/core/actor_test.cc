#include "core/actor.h"

#include <gtest/gtest.h>

namespace fupin {
namespace {

TEST(ActorTest, SeesItsSubtreeOnly) {
  Actor county{.user = "a", .role = Role::kOfficial, .region = "520102000000"};
  EXPECT_TRUE(county.Sees("520102001001"));
  EXPECT_TRUE(county.Sees("520102000000"));
  EXPECT_FALSE(county.Sees("520103001001"));
  EXPECT_FALSE(county.Sees("5201"));
  Actor province{.user = "p", .role = Role::kAdmin, .region = "520000000000"};
  EXPECT_TRUE(province.Sees("522301001001"));
  EXPECT_FALSE(province.Sees("530102001001"));
  Actor village{.user = "v", .role = Role::kCadre, .region = "520102001001"};
  EXPECT_TRUE(village.Sees("520102001001"));
  EXPECT_FALSE(village.Sees("520102001002"));
  Actor township{.user = "t", .role = Role::kCadre, .region = "520102001000"};
  EXPECT_TRUE(township.Sees("520102001017"));
  EXPECT_FALSE(township.Sees("520102002001"));
}

TEST(ActorTest, RoleNamesRoundTrip) {
  for (Role r : {Role::kAdmin, Role::kOfficial, Role::kCadre, Role::kDepartment, Role::kAuditor}) {
    Role back = Role::kAdmin;
    ASSERT_TRUE(ParseRole(RoleName(r), &back));
    EXPECT_EQ(back, r);
  }
  Role unused = Role::kAdmin;
  EXPECT_FALSE(ParseRole("root", &unused));
}

}  // namespace
}  // namespace fupin
