#include "link/linker.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <unordered_map>

#include "core/executor.h"
#include "core/hash.h"
#include "core/id_number.h"
#include "core/parallel.h"
#include "core/text.h"
#include "link/compare.h"
#include "link/fellegi_sunter.h"
#include "link/names.h"

namespace fupin::link {
namespace {

using store::DeptIdentity;
using store::LinkRecord;
using store::LinkStage;
using store::ReviewDecision;
using Clock = std::chrono::steady_clock;

double Since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
constexpr char kCheckChars[] = "10X98765432";
constexpr uint32_t kNone = UINT32_MAX;
// A blocking key whose registry block is larger than this is skipped for that row: it would
// cost more than it could find (e.g. a surname and year shared by thousands).
constexpr size_t kMaxBlock = 2000;

int CheckValue(char c) { return c == 'X' ? 10 : c - '0'; }

uint64_t HashText(std::string_view a, int64_t b = 0, int64_t c = 0) {
  Hasher h(0x6c696e6b);
  h.Add(a);
  h.Add(b);
  h.Add(c);
  return h.Finish();
}

// Open addressing map from a packed ID to the first registry member holding it.
class IdMap {
 public:
  void Reserve(size_t n) {
    size_t cap = 16;
    while (cap < n * 2) cap <<= 1;
    entries_.assign(cap, Entry{0, kNone});
    mask_ = cap - 1;
  }
  // Keeps the first value inserted for a key.
  void Insert(uint64_t key, uint32_t value) {
    for (size_t i = Slot(key);; i = (i + 1) & mask_) {
      if (entries_[i].key == key) return;
      if (entries_[i].key == 0) {
        entries_[i] = {key, value};
        return;
      }
    }
  }
  bool Contains(uint64_t key) const { return Find(key) != kNone; }
  // Find for many keys at once, each key's slot prefetched a few keys ahead: the table is far
  // larger than the cache, so overlapping the misses is most of the speed.
  void FindMany(std::span<const uint64_t> keys, uint32_t* out) const {
    constexpr size_t kAhead = 12;
    const size_t n = keys.size();
    for (size_t k = 0; k < std::min(n, kAhead); ++k) __builtin_prefetch(&entries_[Slot(keys[k])]);
    for (size_t k = 0; k < n; ++k) {
      if (k + kAhead < n) __builtin_prefetch(&entries_[Slot(keys[k + kAhead])]);
      out[k] = Find(keys[k]);
    }
  }
  uint32_t Find(uint64_t key) const {
    if (key == 0 || entries_.empty()) return kNone;
    for (size_t i = Slot(key);; i = (i + 1) & mask_) {
      if (entries_[i].key == key) return entries_[i].value;
      if (entries_[i].key == 0) return kNone;
    }
  }

 private:
  struct Entry {  // key and value side by side: one cache line holds both
    uint64_t key;
    uint32_t value;
  };
  size_t Slot(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> 20 & mask_; }
  std::vector<Entry> entries_;
  size_t mask_ = 0;
};

// Open addressing set of non-zero 64-bit keys.
class KeySet {
 public:
  void Insert(uint64_t key) {
    if ((size_ + 1) * 2 > keys_.size()) Grow();
    for (size_t i = Slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return;
      if (keys_[i] == 0) {
        keys_[i] = key;
        ++size_;
        return;
      }
    }
  }
  bool Contains(uint64_t key) const {
    if (keys_.empty()) return false;
    for (size_t i = Slot(key);; i = (i + 1) & mask_) {
      if (keys_[i] == key) return true;
      if (keys_[i] == 0) return false;
    }
  }

 private:
  size_t Slot(uint64_t key) const { return (key * 0x9E3779B97F4A7C15ull) >> 17 & mask_; }
  void Grow() {
    std::vector<uint64_t> old = std::move(keys_);
    keys_.assign(std::max<size_t>(64, old.size() * 2), 0);
    mask_ = keys_.size() - 1;
    size_ = 0;
    for (uint64_t k : old)
      if (k) Insert(k);
  }
  std::vector<uint64_t> keys_;
  size_t mask_ = 0, size_ = 0;
};

// The registry in columns. Fixed-width texts (IDs, village codes) sit in flat strings.
struct Registry {
  std::vector<uint64_t> id;
  std::string names;
  std::vector<uint32_t> name_off;
  std::vector<uint8_t> name_len;
  std::vector<int32_t> birth;  // YYYYMMDD, 0 unknown
  std::vector<uint8_t> sex;
  std::string village;  // 12 bytes per member
  // Simplified names, once the probabilistic stage has computed them: most are the name
  // itself; the few that differ (traditional characters in the registry) are kept aside.
  bool simplified_ready = false;
  std::vector<uint8_t> simplified_differs;  // per member: has an entry in simplified_other
  std::unordered_map<uint32_t, std::string> simplified_other;
  std::vector<uint32_t> household;  // index into household_ids (kNone if not found)
  std::vector<std::string> household_ids;
  IdMap exact;

  size_t size() const { return id.size(); }
  void Reserve(size_t n) {
    id.reserve(n);
    names.reserve(n * 10);
    name_off.reserve(n);
    name_len.reserve(n);
    birth.reserve(n);
    sex.reserve(n);
    household.reserve(n);
    household_ids.reserve(n / 3);
  }
  std::string Id(uint32_t i) const { return id[i] ? UnpackIdNumber(id[i]) : std::string(); }
  std::string_view Name(uint32_t i) const {
    return std::string_view(names).substr(name_off[i], name_len[i]);
  }
  std::string_view Village(uint32_t i) const {
    return std::string_view(village).substr(i * 12ull, 12);
  }
  // The simplified name, or "" when not known yet (the comparison computes it).
  std::string_view Simplified(uint32_t i) const {
    if (!simplified_ready) return {};
    if (!simplified_differs[i]) return Name(i);
    return simplified_other.find(i)->second;
  }
  std::string_view Household(uint32_t i) const {
    return household[i] == kNone ? std::string_view()
                                 : std::string_view(household_ids[household[i]]);
  }
};

// What the probabilistic stage needs of a department row.
struct Pending {
  uint32_t dataset = 0;
  int64_t row_id = 0;
  std::string name;             // normalised
  std::string name_simplified;  // and simplified
  int32_t birth = 0;
  uint8_t sex = 0;
  std::string region;  // 12 digits or empty
  int region_digits = 0;
  std::string id_county;  // first 6 digits of the ID when it has them
};

struct Chunk {
  uint32_t dataset = 0;
  std::vector<LinkRecord> links;
  bool last = false;  // the data set's last chunk of this round (with its summary)
  // With has_exact: every exact link of the data set, sorted by row.
  bool has_exact = false;
  std::vector<int64_t> exact_rows;
  std::vector<uint64_t> exact_persons;
  DatasetLinkSummary summary;
  Status status;
};

// A bounded queue from the matching threads to the one writing thread.
class ChunkQueue {
 public:
  void Push(Chunk c) {
    std::unique_lock lock(mu_);
    not_full_.wait(lock, [&] { return queue_.size() < 8 || stopped_; });
    queue_.push_back(std::move(c));
    not_empty_.notify_one();
  }
  std::optional<Chunk> Pop() {
    std::unique_lock lock(mu_);
    not_empty_.wait(lock, [&] { return !queue_.empty() || producers_ == 0; });
    if (queue_.empty()) return std::nullopt;
    Chunk c = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    return c;
  }
  void SetProducers(int n) {
    std::lock_guard lock(mu_);
    producers_ = n;
  }
  void ProducerDone() {
    std::lock_guard lock(mu_);
    --producers_;
    not_empty_.notify_all();
  }
  // The writer failed: producers stop waiting for room.
  void Stop() {
    std::lock_guard lock(mu_);
    stopped_ = true;
    not_full_.notify_all();
  }
  bool stopped() {
    std::lock_guard lock(mu_);
    return stopped_;
  }

 private:
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  std::deque<Chunk> queue_;
  int producers_ = 0;
  bool stopped_ = false;
};

int32_t BirthFromId(std::string_view id) {
  if (id.size() < 14) return 0;
  return ParseDateKey(id.substr(6, 8));
}

bool RegionAgrees(std::string_view row, int digits, std::string_view village) {
  if (row.size() != 12 || digits == 0) return true;  // nothing to disagree with
  return row.substr(0, static_cast<size_t>(digits)) ==
         village.substr(0, static_cast<size_t>(digits));
}

// The four comparison levels of a department row against a registry member.
void CompareRow(const Registry& reg, uint32_t p, std::string_view name,
                std::string_view name_simplified, int32_t birth, int sex, std::string_view region,
                int region_digits, uint8_t levels[4]) {
  levels[0] = CompareNames(name, reg.Name(p), name_simplified, reg.Simplified(p));
  levels[1] = CompareDates(birth, reg.birth[p]);
  levels[2] = CompareSex(sex, reg.sex[p]);
  levels[3] = CompareRegions(region, region_digits, reg.Village(p));
}

// Registry members one substitution or adjacent transposition away from a well-formed ID
// that fails its check character or names no real date. Only variants that are themselves
// valid IDs can be registry IDs, so most of the 170 or so variants are never looked up.
void RepairCandidates(const Registry& reg, std::string_view id, std::vector<uint32_t>& out) {
  out.clear();
  if (id.size() != 18) return;
  int d[17];
  int64_t sum = 0;
  uint64_t body = 0;
  for (int i = 0; i < 17; ++i) {
    if (id[i] < '0' || id[i] > '9') return;
    d[i] = id[i] - '0';
    sum += kWeights[i] * d[i];
    body = body * 10 + static_cast<uint64_t>(d[i]);
  }
  char check = id[17];
  if ((check < '0' || check > '9') && check != 'X') return;
  uint64_t pow10[17];
  pow10[16] = 1;
  for (int i = 15; i >= 0; --i) pow10[i] = pow10[i + 1] * 10;
  auto try_id = [&](uint64_t b, int check_value) {
    uint32_t p = reg.exact.Find(b * 11 + static_cast<uint64_t>(check_value) + 1);
    if (p != kNone && std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  };
  auto valid = [&](int64_t s, char c) { return kCheckChars[s % 11] == c; };
  int check_value = CheckValue(check);
  for (int i = 0; i < 17; ++i) {  // one digit mistyped
    for (int v = 0; v <= 9; ++v) {
      if (v == d[i]) continue;
      int64_t s = sum + kWeights[i] * (v - d[i]);
      if (!valid(s, check)) continue;
      uint64_t b =
          body + pow10[i] * static_cast<uint64_t>(v) - pow10[i] * static_cast<uint64_t>(d[i]);
      try_id(b, check_value);
    }
  }
  try_id(body, CheckValue(kCheckChars[sum % 11]));  // the check character mistyped
  for (int i = 0; i + 1 < 17; ++i) {                // two neighbours swapped
    if (d[i] == d[i + 1]) continue;
    int64_t s = sum + (kWeights[i] - kWeights[i + 1]) * (d[i + 1] - d[i]);
    if (!valid(s, check)) continue;
    uint64_t b = body - pow10[i] * static_cast<uint64_t>(d[i]) -
                 pow10[i + 1] * static_cast<uint64_t>(d[i + 1]) +
                 pow10[i] * static_cast<uint64_t>(d[i + 1]) +
                 pow10[i + 1] * static_cast<uint64_t>(d[i]);
    try_id(b, check_value);
  }
  if (check != 'X') {  // the last digit swapped with the check character
    int c = check - '0';
    int64_t s = sum + kWeights[16] * (c - d[16]);
    if (valid(s, static_cast<char>('0' + d[16])) && c != d[16])
      try_id(body - static_cast<uint64_t>(d[16]) + static_cast<uint64_t>(c), d[16]);
  }
}

Model StartModel() {
  Model m;
  m.lambda = 0.05;
  m.fields = {
      {"name",
       {"identical", "simplified", "homophone", "one_char", "different"},
       {0.88, 0.03, 0.03, 0.03, 0.03},
       {0.002, 0.0005, 0.002, 0.02, 0.9755}},
      {"birth_date",
       {"identical", "one_part", "day_month_swapped", "different"},
       {0.95, 0.03, 0.01, 0.01},
       {0.3, 0.1, 0.01, 0.59}},
      {"sex", {"same", "different"}, {0.98, 0.02}, {0.5, 0.5}},
      {"region",
       {"village", "township", "county", "different"},
       {0.5, 0.2, 0.25, 0.05},
       {0.02, 0.05, 0.5, 0.43}},
  };
  return m;
}

class Linker {
 public:
  Linker(store::Store& store, const LinkOptions& options)
      : links_(store.Links()), options_(options) {}

  Result<LinkSummary> Run() {
    auto start = Clock::now();
    RETURN_IF_ERROR(CheckNameData());
    // What changed since the last run decides between a full and an incremental run.
    ASSIGN_OR_RETURN(auto last, links_.LastRun());
    ASSIGN_OR_RETURN(int64_t members_file, links_.CurrentFileId("members"));
    ASSIGN_OR_RETURN(int64_t households_file, links_.CurrentFileId("households"));
    seen_.registry_file_id = std::max(members_file, households_file);
    std::optional<Model> last_model;
    if (last && !last->params_json.empty()) {
      // A model that was never trained (no rows needed it) is no model: run in full.
      auto m = Model::FromJson(last->params_json);
      if (m && m->em_iterations > 0) last_model = *m;
    }
    // Nothing new since the last run: nothing to do. Otherwise a full run when asked, when
    // the registry changed, or when there is no trained model to reuse; else incremental.
    const bool registry_same = last && last->registry_file_id == seen_.registry_file_id;
    std::vector<std::pair<const DatasetSpec*, int64_t>> changed;  // data set, file last linked
    bool any_data = false;
    for (const DatasetSpec& d : AllDatasets()) {
      if (d.kind != DatasetKind::kDepartment) continue;
      ASSIGN_OR_RETURN(int64_t file, links_.CurrentFileId(d.name));
      seen_.dataset_files.emplace_back(std::string(d.name), file);
      int64_t before = 0;
      if (last)
        for (const auto& [name, f] : last->dataset_files)
          if (name == d.name) before = f;
      if (file == 0 && before == 0) continue;
      any_data = true;
      if (file != before) changed.emplace_back(&d, before);
    }
    if (!options_.full && registry_same && changed.empty()) {
      summary_.nothing_to_do = true;
      summary_.run_id = last->run_id;
      summary_.timings.total_s = Since(start);
      return summary_;
    }
    summary_.full = options_.full || !registry_same || !last_model;
    if (summary_.full) {
      for (const DatasetSpec& d : AllDatasets()) {
        if (d.kind != DatasetKind::kDepartment) continue;
        for (const auto& [name, file] : seen_.dataset_files)
          if (name == d.name && file != 0) work_.push_back({&d, 0});
      }
      // Data sets whose data is gone entirely still lose their links.
      if (any_data)
        for (const auto& [d, before] : changed)
          if (std::none_of(work_.begin(), work_.end(),
                           [&](const Work& w) { return w.dataset == d; }))
            work_.push_back({d, 0});
    } else {
      for (const auto& [d, before] : changed) work_.push_back({d, before});
    }
    if (!summary_.full) model_ = *last_model;

    auto t = Clock::now();
    RETURN_IF_ERROR(LoadRegistry());
    summary_.timings.registry_s = Since(t);

    store::LinkRunInfo info;
    info.actor = options_.actor;
    info.full = summary_.full;
    ASSIGN_OR_RETURN(summary_.run_id, links_.BeginRun(info));
    Status st = LinkAll();
    if (!st.ok()) {
      links_.AbortRun();
      return Err(st);
    }
    t = Clock::now();
    seen_.params_json = model_.ToJson();
    summary_.model_json = seen_.params_json;
    summary_.timings.total_s = Since(start);
    RETURN_IF_ERROR(links_.CommitRun(seen_, LinkSummaryJson(summary_)));
    summary_.timings.commit_s = Since(t);
    summary_.timings.total_s = Since(start);
    return summary_;
  }

 private:
  struct Work {
    const DatasetSpec* dataset;
    int64_t after_file_id;
  };

  void Progress(std::string_view what, int64_t done, int64_t total) {
    if (options_.progress) options_.progress(what, done, total);
  }

  // Households and members are read side by side (each in household order) and joined by
  // walking both, so no member costs an index lookup.
  Status LoadRegistry() {
    Registry& r = reg_;
    ASSIGN_OR_RETURN(int64_t hint, links_.RegistrySizeHint());
    r.Reserve(static_cast<size_t>(std::max<int64_t>(hint, 0)));
    std::vector<std::string> household_villages;  // parallel to r.household_ids
    Status households_status;
    auto households = [&] {
      households_status = links_.ScanHouseholds([&](std::string_view id, std::string_view village) {
        r.household_ids.emplace_back(id);
        std::string v(village.substr(0, 12));
        v.resize(12, '0');
        household_villages.push_back(std::move(v));
      });
    };
    std::vector<std::string> member_households;
    Status members_status;
    auto members = [&] {
      members_status = links_.ScanMembers([&](const store::RegistryMember& m) {
        r.id.push_back(PackIdNumber(m.id_number));
        std::string name = NormalizeName(m.name);
        r.name_off.push_back(static_cast<uint32_t>(r.names.size()));
        r.name_len.push_back(static_cast<uint8_t>(std::min<size_t>(name.size(), 255)));
        r.names.append(name, 0, std::min<size_t>(name.size(), 255));
        r.birth.push_back(ParseDateKey(m.birth_date));
        r.sex.push_back(static_cast<uint8_t>(m.sex));
        if (member_households.empty() || member_households.back() != m.household_id)
          member_households.emplace_back(m.household_id);
        r.household.push_back(static_cast<uint32_t>(member_households.size() - 1));
      });
    };
    RunPair(members, households);
    RETURN_IF_ERROR(members_status);
    RETURN_IF_ERROR(households_status);
    // member_households holds each member household once, in order; find each one's row.
    std::vector<uint32_t> household_row(member_households.size(), kNone);
    for (size_t h = 0, k = 0; h < member_households.size(); ++h) {
      while (k < r.household_ids.size() && r.household_ids[k] < member_households[h]) ++k;
      if (k < r.household_ids.size() && r.household_ids[k] == member_households[h])
        household_row[h] = static_cast<uint32_t>(k);
    }
    r.village.resize(r.size() * 12, '0');
    for (size_t i = 0; i < r.size(); ++i) {
      uint32_t h = household_row[r.household[i]];
      r.household[i] = h;
      if (h != kNone) r.village.replace(i * 12, 12, household_villages[h]);
    }
    summary_.registry_members = static_cast<int64_t>(r.size());
    if (r.size() >= kNone) return InvalidArgument("the registry has too many members to index");
    r.exact.Reserve(r.size());
    for (uint32_t i = 0; i < r.size(); ++i)
      if (r.id[i]) r.exact.Insert(r.id[i], i);
    Progress("registry", summary_.registry_members, summary_.registry_members);
    return OkStatus();
  }

  // Runs `fn` for every data set on the worker threads while this thread writes the chunks
  // they produce.
  Status RunRound(const std::function<void(uint32_t, ChunkQueue&)>& fn) {
    ChunkQueue queue;
    std::atomic<size_t> next{0};
    int threads = std::max(1, std::min<int>(options_.threads, static_cast<int>(work_.size())));
    queue.SetProducers(threads);
    // Producers are pipeline stages (core/executor.h): this thread drains what they make.
    std::vector<std::unique_ptr<Concurrent>> workers;
    for (int w = 0; w < threads; ++w) {
      workers.push_back(std::make_unique<Concurrent>([&] {
        for (size_t i; (i = next.fetch_add(1)) < work_.size();) {
          if (queue.stopped()) break;
          fn(static_cast<uint32_t>(i), queue);
        }
        queue.ProducerDone();
      }));
    }
    Status write_status;
    while (auto chunk = queue.Pop()) {
      if (!write_status.ok()) continue;
      if (!chunk->status.ok()) {
        write_status = chunk->status;
        queue.Stop();
        continue;
      }
      const DatasetSpec& d = *work_[chunk->dataset].dataset;
      auto w = Clock::now();
      write_status = links_.PutLinks(d, chunk->links);
      if (write_status.ok() && chunk->has_exact)
        write_status = links_.ReplaceExactLinks(d, chunk->exact_rows, chunk->exact_persons);
      summary_.timings.write_s += Since(w);
      if (!write_status.ok()) queue.Stop();
      if (chunk->last) {
        DatasetLinkSummary& s = summary_.datasets[chunk->dataset];
        s.rows += chunk->summary.rows;
        s.exact += chunk->summary.exact;
        s.repaired += chunk->summary.repaired;
        if (chunk->has_exact || chunk->summary.repaired || chunk->summary.rows)
          Progress(s.dataset, s.rows, 0);
      }
    }
    for (auto& w : workers) w->Join();
    return write_status;
  }

  Status LinkAll() {
    summary_.datasets.resize(work_.size());
    gone_.resize(work_.size());
    for (size_t i = 0; i < work_.size(); ++i) {
      const DatasetSpec& d = *work_[i].dataset;
      summary_.datasets[i].dataset = std::string(d.name);
      if (summary_.full) {
        RETURN_IF_ERROR(links_.ClearLinks(d));
      } else {
        ASSIGN_OR_RETURN(auto gone, links_.GoneRows(d, work_[i].after_file_id));
        RETURN_IF_ERROR(links_.RemoveLinks(d, gone));
        summary_.datasets[i].removed = static_cast<int64_t>(gone.size());
        gone_[i] = std::move(gone);
      }
    }

    // Round 1, the exact stage, from the store's identity index; round 2, rows read as rows:
    // those whose ID is not valid (repair, else the probabilistic stage), or every row of a
    // data set without an index. Data sets are shared out between the threads; links are
    // written here as they come.
    auto t = Clock::now();
    exact_.assign(work_.size(), {});
    RETURN_IF_ERROR(RunRound([&](uint32_t i, ChunkQueue& q) { ExactFromIdentity(i, q); }));
    summary_.timings.exact_s = Since(t);
    t = Clock::now();
    std::vector<std::vector<Pending>> pending(work_.size());
    RETURN_IF_ERROR(RunRound([&](uint32_t i, ChunkQueue& q) { MatchRows(i, q, pending[i]); }));
    summary_.timings.rows_s = Since(t);

    t = Clock::now();
    RETURN_IF_ERROR(Probabilistic(pending));
    summary_.timings.probabilistic_s = Since(t);
    for (auto& s : summary_.datasets)
      s.unlinked = s.rows - (s.exact + s.repaired + s.probabilistic + s.review + s.accepted);
    if (summary_.full) {
      t = Clock::now();
      RETURN_IF_ERROR(Findings());
      summary_.timings.findings_s = Since(t);
    }
    return OkStatus();
  }

  // What round 1 leaves for round 2, per data set.
  struct ExactState {
    bool indexed = false;       // the identity index was used
    std::vector<int64_t> rows;  // rows to read as rows (full runs): their ID is not valid
  };

  // Round 1: exact links from the identity index of the data set's current file, if the
  // store has one. In an incremental run they are recomputed for the whole data set (cheap);
  // counts then cover only new and changed rows (round 2).
  void ExactFromIdentity(uint32_t index, ChunkQueue& queue) {
    const Work& work = work_[index];
    const bool incremental = work.after_file_id > 0;
    Chunk chunk;
    chunk.dataset = index;
    int64_t file_id = 0;
    for (const auto& [name, f] : seen_.dataset_files)
      if (name == work.dataset->name) file_id = f;
    ExactState& state = exact_[index];
    std::vector<uint32_t> found;
    auto result = links_.ScanIdentity(*work.dataset, file_id, [&](const store::IdentityBlock& b) {
      const size_t n = b.row_ids.size();
      if (chunk.exact_rows.capacity() < chunk.exact_rows.size() + n) {
        chunk.exact_rows.reserve(2 * (chunk.exact_rows.size() + n));
        chunk.exact_persons.reserve(2 * (chunk.exact_rows.size() + n));
      }
      found.resize(n);
      reg_.exact.FindMany(b.ids, found.data());
      for (size_t i = 0; i < n; ++i) {
        if (b.problems[i] == 0) {
          if (found[i] != kNone) {
            chunk.exact_rows.push_back(b.row_ids[i]);
            chunk.exact_persons.push_back(b.ids[i]);
          }
        } else if (!incremental) {
          state.rows.push_back(b.row_ids[i]);
        }
      }
      if (!incremental) chunk.summary.rows += static_cast<int64_t>(n);
    });
    if (!result && result.error().code() == StatusCode::kDataLoss) {
      // The index is only a faster copy of the table: when it is damaged, read the rows.
      chunk.exact_rows.clear();
      chunk.exact_persons.clear();
      chunk.summary = {};
      state.rows.clear();
    } else if (!result) {
      chunk.status = result.error();
    } else if (*result) {
      state.indexed = true;
      chunk.has_exact = true;
      if (!incremental) {
        chunk.summary.rows -= static_cast<int64_t>(state.rows.size());  // counted in round 2
        chunk.summary.exact = static_cast<int64_t>(chunk.exact_rows.size());
      }
    }
    chunk.last = true;
    queue.Push(std::move(chunk));
  }

  // Round 2: rows read as rows. With the identity index: in a full run the rows whose ID is
  // not valid, in an incremental run the new and changed rows. Without it: every row in
  // scope, exact stage included; an incremental run then keeps the earlier exact links of
  // rows it did not read.
  void MatchRows(uint32_t index, ChunkQueue& queue, std::vector<Pending>& pending) {
    const Work& work = work_[index];
    const DatasetSpec& d = *work.dataset;
    ExactState& state = exact_[index];
    Chunk chunk;
    chunk.dataset = index;
    DatasetLinkSummary& s = chunk.summary;
    const bool incremental = work.after_file_id > 0;
    std::vector<uint32_t> candidates;
    constexpr size_t kChunk = 65536;
    chunk.links.reserve(kChunk);
    auto emit = [&](const LinkRecord& l) {
      chunk.links.push_back(l);
      if (chunk.links.size() >= kChunk) {
        Chunk full;
        full.dataset = index;
        std::swap(full.links, chunk.links);
        queue.Push(std::move(full));
        chunk.links.reserve(kChunk);
      }
    };
    // A row whose ID is not a registry ID: repair, else the probabilistic stage.
    auto not_exact = [&](const DeptIdentity& r) {
      std::string name = NormalizeName(r.name);
      std::string simplified = ToSimplified(name);
      int32_t birth = ParseDateKey(r.birth_date);
      int region_digits = RegionDigits(r.region_code);
      if (r.id_problem == static_cast<int>(IdProblem::kBadCheckChar) ||
          r.id_problem == static_cast<int>(IdProblem::kImpossibleDate)) {
        RepairCandidates(reg_, r.id_number, candidates);
        uint32_t accepted = kNone;
        int agreeing = 0;
        uint8_t best[4] = {};
        for (uint32_t p : candidates) {
          uint8_t lv[4];
          CompareRow(reg_, p, name, simplified, birth ? birth : BirthFromId(r.id_number), r.sex,
                     r.region_code, region_digits, lv);
          bool name_ok = lv[0] != kMissing && lv[0] < kNameLevels - 1;
          bool birth_ok = birth == 0 || lv[1] == 0;
          bool sex_ok = lv[2] != 1;
          if (name_ok && birth_ok && sex_ok &&
              RegionAgrees(r.region_code, region_digits, reg_.Village(p))) {
            ++agreeing;
            accepted = p;
            std::copy(lv, lv + 4, best);
          }
        }
        if (agreeing == 1) {
          ++s.repaired;
          emit({.row_id = r.row_id,
                .person_id = static_cast<int64_t>(reg_.id[accepted]),
                .stage = LinkStage::kRepaired,
                .levels = static_cast<uint32_t>(PackLevels(best))});
          return;
        }
      }
      if (incremental) emit({.row_id = r.row_id});  // drops a link the row had before
      Pending p;
      p.dataset = index;
      p.row_id = r.row_id;
      p.name = std::move(name);
      p.name_simplified = std::move(simplified);
      p.birth = birth ? birth : BirthFromId(r.id_number);
      p.sex = static_cast<uint8_t>(r.sex);
      if (region_digits >= 6) {
        p.region = std::string(r.region_code);
        p.region_digits = region_digits;
      }
      if (r.id_number.size() >= 6 && std::all_of(r.id_number.begin(), r.id_number.begin() + 6,
                                                 [](char c) { return c >= '0' && c <= '9'; }))
        p.id_county = std::string(r.id_number.substr(0, 6));
      pending.push_back(std::move(p));
    };

    Status st;
    if (state.indexed && !incremental) {
      s.rows = static_cast<int64_t>(state.rows.size());
      st = links_.ScanDepartmentRows(d, state.rows, not_exact);
      state.rows.clear();
      state.rows.shrink_to_fit();
    } else if (state.indexed) {
      st = links_.ScanDepartment(d, {work.after_file_id}, [&](const DeptIdentity& r) {
        ++s.rows;
        if (r.id_problem == static_cast<int>(IdProblem::kNone)) {
          // Exact or nobody: either way no link row (the exact link is in the blocks).
          if (reg_.exact.Contains(PackIdNumber(r.id_number))) ++s.exact;
          emit({.row_id = r.row_id});
          return;
        }
        not_exact(r);
      });
    } else {
      std::vector<std::pair<int64_t, uint64_t>> exact;
      std::vector<int64_t> in_scope;
      st = links_.ScanDepartment(d, {work.after_file_id}, [&](const DeptIdentity& r) {
        ++s.rows;
        if (incremental) in_scope.push_back(r.row_id);
        if (r.id_problem == static_cast<int>(IdProblem::kNone)) {
          uint32_t p = reg_.exact.Find(PackIdNumber(r.id_number));
          if (p != kNone) {
            exact.emplace_back(r.row_id, reg_.id[p]);
            ++s.exact;
          }
          if (incremental) emit({.row_id = r.row_id});
          return;
        }
        not_exact(r);
      });
      if (st.ok() && incremental) {
        // Keep the earlier exact links of rows this run did not read (and that still exist).
        std::sort(in_scope.begin(), in_scope.end());
        std::vector<int64_t> gone = gone_[index];
        std::sort(gone.begin(), gone.end());
        st = links_.ScanExactLinks(
            d, [&](std::span<const int64_t> rows, std::span<const uint64_t> persons) {
              for (size_t i = 0; i < rows.size(); ++i)
                if (!std::binary_search(in_scope.begin(), in_scope.end(), rows[i]) &&
                    !std::binary_search(gone.begin(), gone.end(), rows[i]))
                  exact.emplace_back(rows[i], persons[i]);
            });
      }
      std::sort(exact.begin(), exact.end());
      for (const auto& [row, person] : exact) {
        chunk.exact_rows.push_back(row);
        chunk.exact_persons.push_back(person);
      }
      chunk.has_exact = true;
    }
    chunk.last = true;
    chunk.status = st;
    queue.Push(std::move(chunk));
  }

  // Sorted (key, member) pairs: one blocking index.
  using BlockIndex = std::vector<std::pair<uint64_t, uint32_t>>;

  static std::string SurnamePinyin(std::string_view simplified_name) {
    std::string out;
    std::string_view surname = Surname(simplified_name);
    for (size_t i = 0; i < surname.size();) {
      const size_t at = i;
      const char32_t cp = NextCodePoint(surname, i);
      std::string_view py = cp == kNotUtf8 ? std::string_view() : CharPinyin(cp);
      if (py.empty()) {
        out.append(surname.substr(at, i - at));
      } else {
        out.append(py);
      }
    }
    return out;
  }

  static uint64_t KeyCountyBirth(std::string_view county, int32_t birth) {
    return HashText(county, birth, 1);
  }
  // Province-wide, so the full birth date: a year would make blocks of thousands.
  static uint64_t KeySurnameBirthSex(std::string_view surname_pinyin, int32_t birth, int sex) {
    return HashText(surname_pinyin, birth, 10 + sex);
  }
  static uint64_t KeyNameCounty(std::string_view simplified, std::string_view county) {
    Hasher h(0x6e616d65);
    h.Add(simplified);
    h.Add(county);
    return h.Finish();
  }

  // The review queue's decisions on the rows of the data sets this run links, by work index.
  struct Decisions {
    std::vector<std::vector<ReviewDecision>> by_dataset;  // sorted by (row_id, person_id)
    std::pair<const ReviewDecision*, const ReviewDecision*> Of(uint32_t dataset,
                                                               int64_t row_id) const {
      if (dataset >= by_dataset.size()) return {nullptr, nullptr};
      const auto& v = by_dataset[dataset];
      auto lo = std::lower_bound(v.begin(), v.end(), row_id,
                                 [](const ReviewDecision& d, int64_t r) { return d.row_id < r; });
      auto hi = lo;
      while (hi != v.end() && hi->row_id == row_id) ++hi;
      return {v.data() + (lo - v.begin()), v.data() + (hi - v.begin())};
    }
    bool Rejected(uint32_t dataset, int64_t row_id, uint64_t person) const {
      auto [lo, hi] = Of(dataset, row_id);
      for (auto* d = lo; d != hi; ++d)
        if (!d->accepted && static_cast<uint64_t>(d->person_id) == person) return true;
      return false;
    }
    const ReviewDecision* Accepted(uint32_t dataset, int64_t row_id) const {
      auto [lo, hi] = Of(dataset, row_id);
      for (auto* d = lo; d != hi; ++d)
        if (d->accepted) return d;
      return nullptr;
    }
  };
  Result<Decisions> LoadDecisions() {
    Decisions out;
    out.by_dataset.resize(work_.size());
    for (size_t d = 0; d < work_.size(); ++d) {
      ASSIGN_OR_RETURN(out.by_dataset[d], links_.ReviewDecisions(*work_[d].dataset));
    }
    return out;
  }

  Status Probabilistic(std::vector<std::vector<Pending>>& pending_by_dataset) {
    std::vector<Pending> pending;
    for (auto& v : pending_by_dataset) {
      std::sort(v.begin(), v.end(),
                [](const Pending& a, const Pending& b) { return a.row_id < b.row_id; });
      for (auto& p : v) pending.push_back(std::move(p));
      v.clear();
      v.shrink_to_fit();
    }
    if (pending.empty()) {
      if (summary_.full) model_ = StartModel();
      return OkStatus();
    }
    Progress("blocking", 0, static_cast<int64_t>(pending.size()));
    // The blocking keys the pending rows need; the registry is then read once and only
    // members under one of those keys are indexed (a few per row, not 3 x 7 M).
    struct RowKeys {
      uint64_t keys[3] = {0, 0, 0};  // county+birth, surname+birth+sex, name+county; 0 = none
      uint64_t name = 0;
    };
    std::vector<RowKeys> row_keys(pending.size());
    KeySet wanted, wanted_names;
    for (size_t r = 0; r < pending.size(); ++r) {
      const Pending& p = pending[r];
      std::string_view county = p.region_digits >= 6 ? std::string_view(p.region).substr(0, 6)
                                                     : std::string_view(p.id_county);
      RowKeys& k = row_keys[r];
      if (!county.empty() && p.birth) k.keys[0] = KeyCountyBirth(county, p.birth);
      if (!p.name_simplified.empty() && p.birth)
        k.keys[1] = KeySurnameBirthSex(SurnamePinyin(p.name_simplified), p.birth, p.sex);
      if (!p.name_simplified.empty() && !county.empty())
        k.keys[2] = KeyNameCounty(p.name_simplified, county);
      if (!p.name_simplified.empty()) k.name = HashText(p.name_simplified);
      for (uint64_t key : k.keys)
        if (key) wanted.Insert(key);
      if (k.name) wanted_names.Insert(k.name);
    }
    const size_t n = reg_.size();
    struct Part {
      BlockIndex index;
      std::vector<uint64_t> names;  // registry names some pending row has
      std::unordered_map<uint32_t, std::string> simplified_other;
    };
    Part parts[2];
    auto build = [&](size_t from, size_t to, Part& part) {
      for (size_t i = from; i < to; ++i) {
        auto p = static_cast<uint32_t>(i);
        if (reg_.id[i] == 0) continue;  // no valid ID: nobody a link could name
        std::string simplified = ToSimplified(reg_.Name(p));
        if (simplified != reg_.Name(p)) part.simplified_other.emplace(p, simplified);
        std::string_view county = reg_.Village(p).substr(0, 6);
        uint64_t name = HashText(simplified);
        if (wanted_names.Contains(name)) part.names.push_back(name);
        uint64_t keys[3] = {KeyCountyBirth(county, reg_.birth[i]), 0,
                            KeyNameCounty(simplified, county)};
        if (reg_.birth[i])
          keys[1] = KeySurnameBirthSex(SurnamePinyin(simplified), reg_.birth[i], reg_.sex[i]);
        for (uint64_t key : keys)
          if (key && wanted.Contains(key)) part.index.push_back({key, p});
      }
    };
    {
      RunPair([&] { build(0, n / 2, parts[0]); }, [&] { build(n / 2, n, parts[1]); });
    }
    reg_.simplified_differs.assign(n, 0);
    for (Part& part : parts) {
      for (const auto& [i, text] : part.simplified_other) reg_.simplified_differs[i] = 1;
      reg_.simplified_other.merge(part.simplified_other);
    }
    reg_.simplified_ready = true;
    BlockIndex index = std::move(parts[0].index);
    index.insert(index.end(), parts[1].index.begin(), parts[1].index.end());
    std::vector<uint64_t> names = std::move(parts[0].names);
    names.insert(names.end(), parts[1].names.begin(), parts[1].names.end());
    {
      RunPair([&] { std::sort(index.begin(), index.end()); },
              [&] { std::sort(names.begin(), names.end()); });
    }
    // Term frequencies of names: a shared common name (王伟) is weaker evidence than a rare one.
    auto name_count = [&](uint64_t h) {
      auto [lo, hi] = std::equal_range(names.begin(), names.end(), h);
      return static_cast<double>(std::max<ptrdiff_t>(hi - lo, 1));
    };

    // Candidate pairs and their comparison levels, rows split between two threads.
    auto t = Clock::now();
    struct Pair {
      uint32_t row;
      uint32_t person;
      uint8_t levels[4];
    };
    // Candidates first (blocking index lookups), then the comparisons, timed apart: the
    // comparisons are the pair scoring whose rate the issue asks about.
    auto candidates = [&](size_t from, size_t to, std::vector<Pair>& out) {
      std::vector<uint32_t> cand;
      for (size_t r = from; r < to; ++r) {
        cand.clear();
        for (uint64_t key : row_keys[r].keys) {
          if (!key) continue;
          auto lo = std::lower_bound(index.begin(), index.end(), std::make_pair(key, uint32_t{0}));
          auto hi = std::upper_bound(lo, index.end(), std::make_pair(key, kNone));
          if (static_cast<size_t>(hi - lo) > kMaxBlock) continue;
          for (auto it = lo; it != hi; ++it) cand.push_back(it->second);
        }
        std::sort(cand.begin(), cand.end());
        cand.erase(std::unique(cand.begin(), cand.end()), cand.end());
        for (uint32_t person : cand) out.push_back(Pair{static_cast<uint32_t>(r), person, {}});
      }
    };
    auto compare = [&](std::span<Pair> part) {
      // The registry is far larger than the cache and candidates are spread over it: the
      // columns of a member a few pairs ahead are fetched while this one is compared.
      for (size_t k = 0; k < part.size(); ++k) {
        if (k + 8 < part.size()) {
          uint32_t q = part[k + 8].person;
          __builtin_prefetch(&reg_.name_off[q]);
          __builtin_prefetch(&reg_.name_len[q]);
          __builtin_prefetch(&reg_.birth[q]);
          __builtin_prefetch(&reg_.sex[q]);
          __builtin_prefetch(reg_.village.data() + q * 12ull);
          __builtin_prefetch(&reg_.simplified_differs[q]);
        }
        if (k + 4 < part.size())
          __builtin_prefetch(reg_.names.data() + reg_.name_off[part[k + 4].person]);
        Pair& pair = part[k];
        const Pending& p = pending[pair.row];
        CompareRow(reg_, pair.person, p.name, p.name_simplified, p.birth, p.sex, p.region,
                   p.region_digits, pair.levels);
      }
    };
    std::vector<Pair> pairs, tail;
    {
      size_t half = pending.size() / 2;
      RunPair([&] { candidates(0, half, pairs); }, [&] { candidates(half, pending.size(), tail); });
      pairs.insert(pairs.end(), tail.begin(), tail.end());
      tail.clear();
      tail.shrink_to_fit();
    }
    summary_.timings.candidates_s = Since(t);
    t = Clock::now();
    {
      std::span<Pair> all(pairs);
      RunPair([&] { compare(all.first(all.size() / 2)); },
              [&] { compare(all.subspan(all.size() / 2)); });
    }
    summary_.candidate_pairs = static_cast<int64_t>(pairs.size());
    summary_.timings.compare_s = Since(t);
    t = Clock::now();
    if (summary_.full) {
      std::vector<std::array<uint8_t, 4>> levels(pairs.size());
      for (size_t i = 0; i < pairs.size(); ++i)
        std::copy(pairs[i].levels, pairs[i].levels + 4, levels[i].begin());
      model_ = Train(pending, levels);
    }
    summary_.timings.train_s = Since(t);

    // Scores and decisions, one row at a time (pairs are grouped by row).
    std::vector<std::vector<LinkRecord>> out(work_.size());
    std::vector<char> scored(pending.size(), 0);
    ASSIGN_OR_RETURN(Decisions decisions, LoadDecisions());
    const double registry_size = static_cast<double>(std::max<size_t>(reg_.size(), 1));
    for (size_t i = 0; i < pairs.size();) {
      size_t j = i;
      const Pending& p = pending[pairs[i].row];
      double tf[4] = {0, 0, 0, 0};
      // The chance that a random registry member has exactly this name.
      tf[0] = name_count(row_keys[pairs[i].row].name) / registry_size;
      double best = -1e300;
      size_t best_at = pairs.size();
      // A pair a person rejected is no candidate: neither the best nor a rival.
      const auto rejected = [&](size_t k) {
        return decisions.Rejected(p.dataset, p.row_id, reg_.id[pairs[k].person]);
      };
      for (; j < pairs.size() && pairs[j].row == pairs[i].row; ++j) {
        if (rejected(j)) continue;
        double w = model_.Weight(pairs[j].levels, tf);
        if (w > best) {
          best = w;
          best_at = j;
        }
      }
      // The probability that the best candidate is the row's person, given that at most one
      // candidate is: its odds against "nobody" and against every other person together.
      // One person listed in two households (the same ID twice) is not another person.
      if (best_at == pairs.size()) {  // every candidate rejected
        if (!summary_.full) out[p.dataset].push_back({.row_id = p.row_id});
        scored[pairs[i].row] = 1;
        i = j;
        continue;
      }
      const double prior = std::log2(model_.lambda / (1 - model_.lambda));
      double rivals = std::exp2(-(best + prior));  // "nobody", relative to the best
      for (size_t k = i; k < j; ++k)
        if (reg_.id[pairs[k].person] != reg_.id[pairs[best_at].person] && !rejected(k))
          rivals += std::exp2(model_.Weight(pairs[k].levels, tf) - best);
      double pb = 1.0 / (1.0 + rivals);
      LinkRecord l{.row_id = p.row_id,
                   .person_id = static_cast<int64_t>(reg_.id[pairs[best_at].person]),
                   .weight = best,
                   .probability = pb,
                   .levels = static_cast<uint32_t>(PackLevels(pairs[best_at].levels))};
      if (pb >= options_.upper) {
        l.stage = LinkStage::kProbabilistic;
      } else if (pb >= options_.lower) {
        l.stage = LinkStage::kReview;
      }
      if (l.stage != LinkStage::kUnlinked || !summary_.full) out[p.dataset].push_back(l);
      scored[pairs[i].row] = 1;
      i = j;
    }
    // Rows without any candidate stay unlinked.
    for (uint32_t r = 0; r < pending.size(); ++r)
      if (!scored[r] && !summary_.full)
        out[pending[r].dataset].push_back({.row_id = pending[r].row_id});
    // A pair a person accepted is the row's link, whatever this run scored; rows the run
    // did not look at keep the link they have.
    for (uint32_t r = 0; r < pending.size(); ++r) {
      const Pending& p = pending[r];
      const ReviewDecision* accepted = decisions.Accepted(p.dataset, p.row_id);
      if (!accepted) continue;
      std::vector<LinkRecord>& links = out[p.dataset];
      auto it = std::find_if(links.begin(), links.end(),
                             [&](const LinkRecord& l) { return l.row_id == p.row_id; });
      LinkRecord l{.row_id = p.row_id,
                   .person_id = accepted->person_id,
                   .stage = LinkStage::kAccepted,
                   .weight = accepted->weight,
                   .probability = accepted->probability,
                   .levels = accepted->levels};
      if (it == links.end()) {
        links.push_back(l);
      } else {
        *it = l;
      }
    }
    for (size_t d = 0; d < out.size(); ++d) {
      DatasetLinkSummary& s = summary_.datasets[d];
      for (LinkRecord& l : out[d]) {
        if (l.stage == LinkStage::kProbabilistic) ++s.probabilistic;
        if (l.stage == LinkStage::kReview) ++s.review;
        if (l.stage == LinkStage::kAccepted) {
          ++s.accepted;
          l.stage = LinkStage::kProbabilistic;  // stored so; the decision marks it accepted
        }
      }
      RETURN_IF_ERROR(links_.PutLinks(*work_[d].dataset, out[d]));
    }
    return OkStatus();
  }

  // The probabilistic model, estimated the way Splink does, from the data alone:
  //  - u from random (row, member) pairs: how often two different people agree by chance;
  //  - m by EM with u fixed, in two sessions, each on the pairs of one blocking key and
  //    leaving out the fields that key forces to agree: county + birth date gives m for name,
  //    sex and region within the county; name + county gives m for birth date;
  //  - the prior: the matches EM finds among county + birth date pairs, over all possible
  //    (row, member) pairs.
  // A pair's weight then adds log2(m/u) over the fields, against that prior.
  Model Train(const std::vector<Pending>& pending,
              const std::vector<std::array<uint8_t, 4>>& pairs) {
    Model model = StartModel();
    if (reg_.size() == 0 || pending.empty() || pairs.empty()) return model;  // nothing to learn
    PairSampler sample;
    const size_t n = reg_.size();
    EstimateU(model, 2'000'000, [&](int64_t, uint8_t* lv) {
      const Pending& p = pending[sample.Below(pending.size())];
      CompareRow(reg_, static_cast<uint32_t>(sample.Below(n)), p.name, p.name_simplified, p.birth,
                 p.sex, p.region, p.region_digits, lv);
    });
    const Model random_u = model;
    // Session 1: pairs agreeing on county and birth date. Region's u is taken given the
    // same county (its three agreeing levels renormalised).
    PatternCounts session1, session2;
    int64_t pairs1 = 0;
    for (const auto& lv : pairs) {
      bool same_county = lv[3] != kMissing && lv[3] <= 2;
      if (lv[1] == 0 && same_county) {
        session1.Add(lv);
        ++pairs1;
      }
      if (lv[0] <= 1 && same_county) session2.Add(lv);
    }
    Model s1 = model;
    FieldModel& region = s1.fields[3];
    double in_county = region.u[0] + region.u[1] + region.u[2];
    for (int l = 0; l < 3; ++l) region.u[static_cast<size_t>(l)] /= in_county;
    region.u[3] = 1e-9;
    region.m = {0.5, 0.25, 0.25, 1e-9};
    const FieldModel region_in_county = region;
    s1 = EstimateEm(s1, session1, {.fix_u = true, .active = {0, 2, 3}});
    // Session 2: pairs agreeing on name and county give birth date's m. Sex and region
    // (within the county) keep the session identifiable, with their m from session 1:
    // left free, EM can take a cluster of namesakes in one village for the matches (at
    // full scale it once put birth date's m(identical) at 0.09).
    Model s2 = model;
    s2.fields[2].m = s1.fields[2].m;
    s2.fields[3] = region_in_county;
    s2.fields[3].m = s1.fields[3].m;
    s2 = EstimateEm(s2, session2, {.fix_u = true, .active = {1, 2, 3}, .frozen_m = {2, 3}});
    model.fields[0].m = s1.fields[0].m;
    model.fields[2].m = s1.fields[2].m;
    model.fields[1].m = s2.fields[1].m;
    // Every key but the surname one fixes the county, so EM cannot see how often a match
    // disagrees on it; 1% is assumed (a person registered in one county and known to a
    // department in another).
    constexpr double kRegionDisagrees = 0.01;
    for (int l = 0; l < 3; ++l)
      model.fields[3].m[static_cast<size_t>(l)] =
          s1.fields[3].m[static_cast<size_t>(l)] * (1 - kRegionDisagrees);
    model.fields[3].m[3] = kRegionDisagrees;
    for (size_t f = 0; f < model.fields.size(); ++f) model.fields[f].u = random_u.fields[f].u;
    double matches = s1.lambda * static_cast<double>(pairs1);
    double all_pairs = static_cast<double>(pending.size()) * static_cast<double>(n);
    model.lambda = std::clamp(matches / all_pairs, 1e-15, 0.5);
    model.em_iterations = s1.em_iterations + s2.em_iterations;
    return model;
  }

  // Registry data-quality findings: one ID in two households (the same person, or two
  // people sharing an ID), and one person registered twice under different IDs.
  Status Findings() {
    const uint32_t n = static_cast<uint32_t>(reg_.size());
    std::vector<store::LinkFinding> findings;
    std::vector<uint32_t> order(n);
    for (uint32_t i = 0; i < n; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
      return reg_.id[a] != reg_.id[b] ? reg_.id[a] < reg_.id[b] : a < b;
    });
    summary_.persons = 0;
    for (uint32_t i = 0; i < n;) {
      uint32_t j = i + 1;
      while (j < n && reg_.id[order[j]] == reg_.id[order[i]]) ++j;
      if (reg_.id[order[i]] != 0) {
        ++summary_.persons;
        for (uint32_t k = i + 1; k < j; ++k) {
          uint32_t a = order[i], b = order[k];
          bool same = ToSimplified(reg_.Name(a)) == ToSimplified(reg_.Name(b)) &&
                      reg_.birth[a] == reg_.birth[b];
          findings.push_back({same ? "same_person_two_households" : "shared_id", reg_.Id(a),
                              std::string(reg_.Household(a)), reg_.Id(b),
                              std::string(reg_.Household(b)),
                              fmt::format("{} / {}", reg_.Name(a), reg_.Name(b))});
        }
      }
      i = j;
    }
    // Same simplified name, birth date, sex and county under different IDs.
    std::vector<std::pair<uint64_t, uint32_t>> keyed(n);
    for (uint32_t i = 0; i < n; ++i) {
      Hasher h(0x64757031);
      h.Add(ToSimplified(reg_.Name(i)));
      h.Add(int64_t{reg_.birth[i]});
      h.Add(int64_t{reg_.sex[i]});
      h.Add(reg_.Village(i).substr(0, 6));
      keyed[i] = {h.Finish(), i};
    }
    std::sort(keyed.begin(), keyed.end());
    for (uint32_t i = 0; i < n;) {
      uint32_t j = i + 1;
      while (j < n && keyed[j].first == keyed[i].first) ++j;
      for (uint32_t k = i + 1; k < j; ++k) {
        uint32_t a = keyed[i].second, b = keyed[k].second;
        if (reg_.id[a] == reg_.id[b] || reg_.Name(a).empty() || reg_.birth[a] == 0) continue;
        findings.push_back({"possible_duplicate", reg_.Id(a), std::string(reg_.Household(a)),
                            reg_.Id(b), std::string(reg_.Household(b)),
                            fmt::format("{} {}", reg_.Name(a), reg_.birth[a])});
      }
      i = j;
    }
    std::map<std::string, int64_t> by_kind;
    for (const auto& f : findings) ++by_kind[f.kind];
    summary_.findings.assign(by_kind.begin(), by_kind.end());
    return links_.ReplaceFindings(findings);
  }

  store::LinkStore& links_;
  LinkOptions options_;
  LinkSummary summary_;
  store::LastLinkRun seen_;
  std::vector<Work> work_;
  std::vector<std::vector<int64_t>> gone_;  // per work item: rows removed since the last run
  std::vector<ExactState> exact_;           // per work item: what round 1 left for round 2
  Registry reg_;
  Model model_ = StartModel();
};

}  // namespace

Result<LinkSummary> RunLinker(store::Store& store, const LinkOptions& options) {
  return Linker(store, options).Run();
}

std::string LinkSummaryJson(const LinkSummary& s) {
  nlohmann::json j;
  j["run_id"] = s.run_id;
  j["full"] = s.full;
  j["nothing_to_do"] = s.nothing_to_do;
  j["registry_members"] = s.registry_members;
  j["persons"] = s.persons;
  j["candidate_pairs"] = s.candidate_pairs;
  j["pairs_per_s"] =
      s.timings.compare_s > 0 ? static_cast<double>(s.candidate_pairs) / s.timings.compare_s : 0.0;
  j["datasets"] = nlohmann::json::array();
  for (const auto& d : s.datasets)
    j["datasets"].push_back({{"dataset", d.dataset},
                             {"rows", d.rows},
                             {"exact", d.exact},
                             {"repaired", d.repaired},
                             {"probabilistic", d.probabilistic},
                             {"review", d.review},
                             {"accepted", d.accepted},
                             {"unlinked", d.unlinked},
                             {"removed", d.removed}});
  j["findings"] = nlohmann::json::object();
  for (const auto& [k, v] : s.findings) j["findings"][k] = v;
  j["timings"] = {{"registry_s", s.timings.registry_s},
                  {"exact_s", s.timings.exact_s},
                  {"probabilistic_s", s.timings.probabilistic_s},
                  {"candidates_s", s.timings.candidates_s},
                  {"compare_s", s.timings.compare_s},
                  {"train_s", s.timings.train_s},
                  {"findings_s", s.timings.findings_s},
                  {"write_s", s.timings.write_s},
                  {"rows_s", s.timings.rows_s},
                  {"commit_s", s.timings.commit_s},
                  {"total_s", s.timings.total_s}};
  if (!s.model_json.empty()) j["model"] = nlohmann::json::parse(s.model_json, nullptr, false);
  return j.dump();
}

}  // namespace fupin::link
