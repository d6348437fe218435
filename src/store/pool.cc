#include "store/pool.h"

#include <cassert>
#include <utility>

namespace fupin::store {

StorePool::Lease::Lease(StorePool* pool, std::unique_ptr<Store> store)
    : pool_(pool), store_(std::move(store)) {}

StorePool::Lease::Lease(Lease&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), store_(std::move(other.store_)) {}

StorePool::Lease& StorePool::Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    Return();
    pool_ = std::exchange(other.pool_, nullptr);
    store_ = std::move(other.store_);
  }
  return *this;
}

StorePool::Lease::~Lease() { Return(); }

void StorePool::Lease::Return() {
  if (pool_ && store_) pool_->Return(std::move(store_));
  pool_ = nullptr;
}

StorePool::StorePool(std::string uri, size_t max_connections, OpenOptions options)
    : uri_(std::move(uri)), max_connections_(max_connections), options_([&] {
        options.bulk_journal = false;
        return options;
      }()) {
  assert(max_connections_ >= 1 && "a pool needs room for one connection");
}

StorePool::~StorePool() {
  std::lock_guard lock(mu_);
  assert(idle_.size() == open_ && "a lease outlived its pool");
}

Result<StorePool::Lease> StorePool::Acquire() {
  std::unique_lock lock(mu_);
  returned_.wait(lock, [&] { return !idle_.empty() || open_ < max_connections_; });
  if (!idle_.empty()) {
    std::unique_ptr<Store> store = std::move(idle_.back());
    idle_.pop_back();
    return Lease(this, std::move(store));
  }
  ++open_;  // reserve the slot, then open without holding the lock
  lock.unlock();
  Result<std::unique_ptr<Store>> opened = OpenStore(uri_, options_);
  if (!opened) {
    lock.lock();
    --open_;
    returned_.notify_one();  // the slot is free again for another waiter to try
    return Err(opened.error());
  }
  return Lease(this, std::move(*opened));
}

size_t StorePool::OpenConnections() const {
  std::lock_guard lock(mu_);
  return open_;
}

void StorePool::Return(std::unique_ptr<Store> store) {
  {
    std::lock_guard lock(mu_);
    idle_.push_back(std::move(store));
  }
  returned_.notify_one();
}

}  // namespace fupin::store
