// The data contract (数据交换格式) as documents: the Markdown of docs/exchange-format.md
// generated from the data set catalogue (core/datasets.h) and the code lists
// (core/code_lists.h), the same tables the importer validates against, so the two cannot
// drift. Thread-safe: pure functions of constant data.
#pragma once

#include <string>
#include <string_view>

#include "core/status.h"

namespace fupin::service {

// The markers around the generated part of docs/exchange-format.md.
inline constexpr std::string_view kContractBegin =
    "<!-- BEGIN GENERATED CONTRACT: `fupin template --markdown FILE` rewrites this part -->";
inline constexpr std::string_view kContractEnd = "<!-- END GENERATED CONTRACT -->";

// The contract in Markdown: every data set (file name, key, what a repeated key does), every
// column (English name, Chinese header, type, required or not, meaning) and every code list
// with its Chinese and English labels. Does not include the markers.
std::string ExchangeFormatMarkdown();

// `doc` with the text between kContractBegin and kContractEnd replaced by
// ExchangeFormatMarkdown(). Fails with kInvalidArgument when the markers are missing or out
// of order.
Result<std::string> SpliceContract(std::string_view doc);

}  // namespace fupin::service
