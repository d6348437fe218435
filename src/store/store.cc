#include "store/store.h"

#include <fmt/format.h>

namespace fupin::store {

std::string Value::ToText() const {
  switch (kind) {
    case Kind::kNull:
      return "";
    case Kind::kInt:
      return std::to_string(i);
    case Kind::kReal:
      return fmt::format("{}", r);
    case Kind::kText:
      return text;
  }
  return "";
}

}  // namespace fupin::store
