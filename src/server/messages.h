// The server's own messages (服务器提示) in zh and en, in one catalogue: what the HTTP layer
// says itself (authentication, scope, malformed requests). Messages of an operation come from
// the service layer in the caller's language.
#pragma once

#include <string_view>

#include "core/lang.h"

namespace fupin::server {

enum class Msg {
  kNotFound,          // no such route
  kMethodNotAllowed,  // route exists, method does not
  kUnauthenticated,   // no or expired session / token
  kCsrf,              // write without the session's CSRF token
  kForbiddenRole,     // the role may not do this
  kOutsideRegion,     // the object lies outside the actor's region
  kBodyTooLarge,
  kBadJson,
  kJsonTooDeep,
  kNotJsonObject,
  kUnknownField,  // followed by the field's name
  kWrongType,     // followed by the field's name
  kMissingField,  // followed by the field's name
  kBadParameter,  // followed by the parameter's name
  kUnmaskReason,  // unmask without a reason
  kUnmaskRole,    // role may not unmask
  kJobRunning,    // a job of this kind is running
  kNoSuchJob,
  kShuttingDown,
  kInternal,
  kTimeout,
};

std::string_view Text(Msg msg, Lang lang);

// One language of a message written "English / 中文" (as the libraries write theirs): the part
// before the first " / " followed by a non-ASCII character, or the part after it. A message
// without such a split is returned whole.
std::string_view InLanguage(std::string_view message, Lang lang);

}  // namespace fupin::server
