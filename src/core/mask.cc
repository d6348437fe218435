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
  if (rest == 0) return "*";
  return std::string(name.substr(0, at)) + std::string(rest, '*');
}

std::string MaskPersonalData(std::string_view text, std::span<const std::string> names) {
  std::string out = MaskIdAndPhoneNumbersIn(text);
  for (const std::string& name : names) {
    size_t first = 0;
    NextCodePoint(name, first);
    if (name.empty() || first >= name.size()) continue;
    const std::string masked = MaskName(name);
    for (size_t at = out.find(name); at != std::string::npos;
         at = out.find(name, at + masked.size()))
      out.replace(at, name.size(), masked);
  }
  return out;
}

std::string ShowName(std::string_view name, const MaskPolicy& policy) {
  return policy.unmask ? std::string(name) : MaskName(name);
}

std::string ShowIdNumber(std::string_view id, const MaskPolicy& policy) {
  return policy.unmask ? std::string(id) : MaskIdNumber(id);
}

}  // namespace fupin
