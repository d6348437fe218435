// The language of messages, tables and reports: Chinese first, English available. One enum
// for every module (the CLI's --lang, the rules' explanations, the service's messages).
#pragma once

namespace fupin {

enum class Lang { kZh, kEn };

}  // namespace fupin
