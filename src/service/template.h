// Blank XLSX templates (空白模板) of the exchange data sets, for the officers who fill them:
// the first sheet has the Chinese headers of every column (the importer accepts them), the
// header row frozen, ID and code-number columns formatted as text ("@") so Excel keeps all 18
// digits, and a drop-down of the Chinese labels on every coded column (the importer accepts a
// code's label); a second sheet 说明 explains each column; a third 代码表 holds the code lists
// the drop-downs read. Thread-safe: each call writes its own file.
#pragma once

#include <filesystem>
#include <string_view>
#include <vector>

#include "core/datasets.h"
#include "core/status.h"

namespace fupin::service {

// Writes `dir`/<dataset>.xlsx, creating `dir` when needed. The file appears whole or not at
// all (written beside it, then renamed). Fails with kUnavailable when it cannot be written.
Status WriteTemplate(const DatasetSpec& dataset, const std::filesystem::path& dir);

// The data sets named by `name`: one data set, or every one for "all". Fails with
// kInvalidArgument naming the known data sets when there is no such data set.
Result<std::vector<const DatasetSpec*>> TemplateDatasets(std::string_view name);

}  // namespace fupin::service
