// One unit of generator work: a township (乡镇) with its poor households, their members,
// their department rows, and a proportional share of the outsider rows. A block's output
// depends only on (seed, scale, township), never on which thread made it or when, which is
// what makes the whole batch byte-identical run to run. Internal to src/gen.
// Thread-safe: GenerateBlock may run concurrently on distinct outputs and scratch.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "gen/layout.h"
#include "gen/world.h"

namespace fupin::gen {

// A dirtied identity field, described in `BlockOutput::dirty_text` (bytes [offset,
// offset+length) hold "field,kind,clean,dirty\n").
struct DirtyRef {
  uint8_t file;
  uint32_t row;  // 0-based data row within this block's part of the file
  uint32_t offset;
  uint32_t length;
};

struct PlantedRecord {
  PlantedKind kind;
  int file = -1;     // department file holding the evidence row, or -1
  uint32_t row = 0;  // 0-based within this block's part of `file`
  std::string household_id;
  std::string id_number;
  std::string detail;
};

struct BlockOutput {
  int block = -1;
  std::array<std::string, kFileCount> text;  // rows, no header
  std::array<int64_t, kFileCount> rows{};
  // Department files: 19 bytes per row, 'R' + registry ID or 'O' + outsider ID.
  std::array<std::string, kFileCount> truth;
  std::string dirty_text;
  std::vector<DirtyRef> dirty;
  std::vector<PlantedRecord> planted;
  int64_t households = 0;
  int64_t members = 0;
  // UTF-8 copies of households/members text kept for XLSX when `text` is re-encoded.
  std::array<std::string, 2> registry_utf8;

  void Clear();
};

// Per-thread reusable state.
struct BlockScratch {
  std::vector<uint8_t> id_counters;  // per (birth day, sex): registry sequence numbers used
  std::vector<uint32_t> touched;
  std::string name;
  std::string text;
};

// Generates township `township` of `plan` into `out` (cleared first).
void GenerateBlock(const Plan& plan, int township, BlockOutput& out, BlockScratch& scratch);

}  // namespace fupin::gen
