// The answer cache of GET /api/query (查询结果缓存). A dashboard asks the same few questions
// over and over; answering one from the snapshot's cube costs far more than sending it. The
// cache keeps whole response bodies, each under the key of everything the answer depends on
// — the query as the service takes it (measures, dimensions, filters with the caller's
// region added, poverty lines), the caller's region scope and role, the language — and the
// snapshot generation it was computed from (SnapshotHolder::View::generation, which moves
// with every delta and every swap). An entry of an older generation is never served: it is
// replaced, or falls out. So one scope's answer is never served to another (the region is in
// the key twice over: in the filters and by itself), and an edit's delta shows in the very
// next answer.
//
// Bounded: at most `max_entries` entries and `max_bytes` of keys and bodies, the least
// recently used going first.
//
// Thread-safety: every method may be called from any number of threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace fupin::server {

class ResponseCache {
 public:
  ResponseCache(size_t max_entries, size_t max_bytes)
      : max_entries_(max_entries), max_bytes_(max_bytes) {}

  // The body cached under `key` for `generation`, or null.
  std::shared_ptr<const std::string> Find(const std::string& key, uint64_t generation);
  // Keeps `body` under `key` for `generation` (a newer generation replaces an older one; an
  // older never replaces a newer). A body larger than a quarter of max_bytes is not kept.
  void Put(const std::string& key, uint64_t generation, std::shared_ptr<const std::string> body);

  struct Stats {
    int64_t hits = 0, misses = 0;
    size_t entries = 0, bytes = 0;
  };
  Stats stats() const;

 private:
  struct Entry {
    uint64_t generation = 0;
    std::shared_ptr<const std::string> body;
    std::list<std::string>::iterator lru;  // its key's place: front = most recently used
  };
  static size_t Cost(const std::string& key, const std::string& body) {
    return key.size() * 2 + body.size() + 128;
  }
  void EvictLocked();

  const size_t max_entries_, max_bytes_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  std::list<std::string> lru_;
  size_t bytes_ = 0;
  int64_t hits_ = 0, misses_ = 0;
};

}  // namespace fupin::server
