// Who does something (操作人): every write and every audited read carries one. The server
// fills it from the session or API token; the CLI from --user (default: the OS user) with
// the role "admin", since whoever runs the command holds the database file.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace fupin {

enum class Role { kAdmin, kOfficial, kCadre, kDepartment, kAuditor };

// "admin", "official", "cadre", "department", "auditor".
std::string_view RoleName(Role role);
// The role of a name above; false when the name is none of them.
bool ParseRole(std::string_view name, Role* role);

struct Actor {
  std::string user;  // the user name (a token acts as its user)
  Role role = Role::kAdmin;
  std::string region = "520000000000";  // the root of the region subtree the actor may see
  std::vector<std::string> datasets;    // a department officer's data sets
  std::string address;                  // the client's address ("" from the CLI)
  int64_t user_id = 0;                  // 0 for the CLI
  // True when `region_code` lies in the actor's subtree (a prefix test on the significant
  // digits of `region`: 52 for the province, 5201 for a prefecture, ...).
  bool Sees(std::string_view region_code) const;
};

}  // namespace fupin
