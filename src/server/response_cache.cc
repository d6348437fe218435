#include "server/response_cache.h"

#include <utility>

namespace fupin::server {

std::shared_ptr<const std::string> ResponseCache::Find(const std::string& key,
                                                       uint64_t generation) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.generation != generation) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.body;
}

void ResponseCache::Put(const std::string& key, uint64_t generation,
                        std::shared_ptr<const std::string> body) {
  if (!body || Cost(key, *body) > max_bytes_ / 4 || max_entries_ == 0) return;
  std::lock_guard lock(mu_);
  auto it = entries_.find(key);
  if (it != entries_.end()) {
    Entry& e = it->second;
    if (e.generation > generation) return;  // a newer answer is there already
    bytes_ -= Cost(key, *e.body);
    bytes_ += Cost(key, *body);
    e.generation = generation;
    e.body = std::move(body);
    lru_.splice(lru_.begin(), lru_, e.lru);
  } else {
    lru_.push_front(key);
    bytes_ += Cost(key, *body);
    entries_.emplace(key, Entry{generation, std::move(body), lru_.begin()});
  }
  EvictLocked();
}

void ResponseCache::EvictLocked() {
  while (!lru_.empty() && (entries_.size() > max_entries_ || bytes_ > max_bytes_)) {
    auto it = entries_.find(lru_.back());
    bytes_ -= Cost(it->first, *it->second.body);
    entries_.erase(it);
    lru_.pop_back();
  }
}

ResponseCache::Stats ResponseCache::stats() const {
  std::lock_guard lock(mu_);
  return {hits_, misses_, entries_.size(), bytes_};
}

}  // namespace fupin::server
