#include "core/mask.h"

#include "core/id_number.h"
#include "core/text.h"

namespace fupin {

std::string MaskName(std::string_view name) {
  if (name.empty()) return "";
  size_t at = 0;
  NextCodePoint(name, at);
  size_t rest = 0;
  for (size_t i = at; i < name.size(); ++rest) NextCodePoint(name, i);
  return std::string(name.substr(0, at)) + std::string(rest, '*');
}

std::string ShowName(std::string_view name, const MaskPolicy& policy) {
  return policy.unmask ? std::string(name) : MaskName(name);
}

std::string ShowIdNumber(std::string_view id, const MaskPolicy& policy) {
  return policy.unmask ? std::string(id) : MaskIdNumber(id);
}

}  // namespace fupin
