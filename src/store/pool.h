// A pool of store connections (连接池) for a process that serves many users at once: each
// request (or worker thread) takes a lease on one connection and gives it back when done.
// Connections of one URI are opened lazily, up to a maximum, and kept open for reuse.
// Thread-safety: StorePool is thread-safe. A Lease, and the Store it leases, belong to one
// thread at a time; every ReadView or WriteTxn begun on it must end before the lease does.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/open.h"
#include "store/store.h"

namespace fupin::store {

class StorePool {
 public:
  // Borrowed use of one connection; returns it to the pool on destruction.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();

    Store& operator*() const { return *store_; }
    Store* operator->() const { return store_.get(); }

   private:
    friend class StorePool;
    Lease(StorePool* pool, std::unique_ptr<Store> store);
    void Return();
    StorePool* pool_ = nullptr;
    std::unique_ptr<Store> store_;
  };

  // Opens nothing yet. REQUIRES: max_connections >= 1. `options.bulk_journal` is turned off:
  // a pooled connection must never take the file out of WAL mode, which would stop every
  // other connection's reads for the length of an import.
  StorePool(std::string uri, size_t max_connections, OpenOptions options = {});
  // REQUIRES: every lease has been returned.
  ~StorePool();
  StorePool(const StorePool&) = delete;
  StorePool& operator=(const StorePool&) = delete;

  // An idle connection, or a new one while fewer than max_connections are open; otherwise
  // waits until a lease is returned. Fails as OpenStore does when a new connection cannot be
  // opened (the pool stays usable).
  Result<Lease> Acquire();

  // Connections open now (idle or leased).
  size_t OpenConnections() const;
  const std::string& uri() const { return uri_; }

 private:
  void Return(std::unique_ptr<Store> store);

  const std::string uri_;
  const size_t max_connections_;
  const OpenOptions options_;
  mutable std::mutex mu_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Store>> idle_;  // guarded by mu_
  size_t open_ = 0;                           // guarded by mu_: idle, leased and being opened
};

}  // namespace fupin::store
