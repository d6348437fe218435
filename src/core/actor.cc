#include "core/actor.h"

namespace fupin {

std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kOfficial:
      return "official";
    case Role::kCadre:
      return "cadre";
    case Role::kDepartment:
      return "department";
    case Role::kAuditor:
      return "auditor";
  }
  return "admin";
}

bool ParseRole(std::string_view name, Role* role) {
  for (Role r : {Role::kAdmin, Role::kOfficial, Role::kCadre, Role::kDepartment, Role::kAuditor}) {
    if (RoleName(r) == name) {
      *role = r;
      return true;
    }
  }
  return false;
}

bool Actor::Sees(std::string_view region_code) const {
  // The significant prefix of a 12-digit code: 2 digits province, 4 prefecture, 6 county,
  // 9 township, 12 village.
  size_t n = region.size();
  while (n > 0 && region[n - 1] == '0') --n;
  static constexpr size_t kLevels[] = {2, 4, 6, 9, 12};
  size_t prefix = 12;
  for (size_t l : kLevels) {
    if (n <= l) {
      prefix = l;
      break;
    }
  }
  if (region.size() != 12 || region_code.size() < prefix) return false;
  return region_code.substr(0, prefix) == std::string_view(region).substr(0, prefix);
}

}  // namespace fupin
