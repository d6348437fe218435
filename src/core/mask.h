// Masking of personal data (脱敏) in what is shown: ID numbers and names. Who may see them
// whole is a role's decision; the default is masked. Thread-safe: pure functions.
// ID numbers: core/id_number.h (MaskIdNumber, MaskIdAndPhoneNumbersIn).
#pragma once

#include <span>
#include <string>
#include <string_view>

namespace fupin {

// What a viewer may see. `unmask` is off by default; only a role allowed to see ID numbers
// and names whole (the CLI's operator with --unmask, a server role that grants it) turns it on.
struct MaskPolicy {
  bool unmask = false;
};

// A name as shown masked: its first character kept, every other character as one '*'
// ("张三丰" -> "张**", "Li Lei" -> "L*****"); a one-character name becomes "*". An empty
// name stays empty; text that is not valid UTF-8 keeps its first byte.
std::string MaskName(std::string_view name);

// `text` (an evidence text, a finding, a history value) with what identifies a person
// masked: every ID number in it (MaskIdAndPhoneNumbersIn) and every occurrence of each of `names`
// (MaskName). Give `names` longest first, so that a name inside another is not masked
// half; a name of one character is left alone (it would mask that character everywhere).
std::string MaskPersonalData(std::string_view text, std::span<const std::string> names);

// `name` under `policy`: whole when unmasked, else MaskName.
std::string ShowName(std::string_view name, const MaskPolicy& policy);
// An ID number under `policy`: whole when unmasked, else MaskIdNumber.
std::string ShowIdNumber(std::string_view id, const MaskPolicy& policy);

}  // namespace fupin
