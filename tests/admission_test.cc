// The light-read admission of the server (server/admission.h), with real threads: permits are
// granted in arrival order, and a change of the number of permits takes effect at once for
// those waiting and as holders release for those holding.
#include "server/admission.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace fupin::server {
namespace {

// Waits (at most 5 s) until `done` holds.
bool Eventually(const std::function<bool()>& done) {
  for (int i = 0; i < 5000; ++i) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

// Threads that each take a permit, note their number and wait to be let go.
class Holders {
 public:
  explicit Holders(FifoSemaphore& s) : s_(s) {}
  ~Holders() {
    go_ = true;
    for (std::thread& t : threads_) t.join();
  }
  // Starts holder `n`, once the one before it is queued or holding.
  void Start(int n) {
    threads_.emplace_back([this, n] {
      s_.Acquire();
      {
        std::lock_guard lock(mu_);
        order_.push_back(n);
      }
      while (!go_ && !released_[n]) std::this_thread::sleep_for(std::chrono::microseconds(200));
      s_.Release();
      ++finished_;
    });
    // Queued or holding before the next one starts.
    ++started_;
    EXPECT_TRUE(Eventually(
        [&] { return static_cast<int>(s_.held() + s_.waiting()) == started_ - finished_; }));
  }
  void Release(int n) { released_[n] = true; }
  std::vector<int> order() {
    std::lock_guard lock(mu_);
    return order_;
  }

 private:
  FifoSemaphore& s_;
  std::vector<std::thread> threads_;
  std::mutex mu_;
  std::vector<int> order_;
  std::array<std::atomic<bool>, 8> released_{};
  std::atomic<bool> go_{false};
  int started_ = 0;  // the test's thread only
  std::atomic<int> finished_{0};
};

TEST(AdmissionTest, GrantsPermitsInArrivalOrder) {
  FifoSemaphore s(2);
  Holders h(s);
  for (int n = 0; n < 5; ++n) h.Start(n);
  EXPECT_EQ(h.order(), (std::vector<int>{0, 1}));
  h.Release(0);
  ASSERT_TRUE(Eventually([&] { return h.order().size() == 3; }));
  EXPECT_EQ(h.order(), (std::vector<int>{0, 1, 2}));
  h.Release(2);
  ASSERT_TRUE(Eventually([&] { return h.order().size() == 4; }));
  EXPECT_EQ(h.order().back(), 3);
}

TEST(AdmissionTest, FewerPermitsWaitForHoldersAndMorePermitsLetWaitersInAtOnce) {
  FifoSemaphore s(3);
  Holders h(s);
  for (int n = 0; n < 3; ++n) h.Start(n);
  ASSERT_EQ(h.order().size(), 3u);
  s.SetPermits(1);  // the three keep theirs
  h.Start(3);
  h.Release(0);
  h.Release(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(h.order().size(), 3u);  // two of three released: still one held, one permit
  h.Release(2);
  ASSERT_TRUE(Eventually([&] { return h.order().size() == 4; }));
  h.Start(4);
  h.Start(5);
  EXPECT_EQ(h.order().size(), 4u);  // 3 holds the only permit
  s.SetPermits(3);
  ASSERT_TRUE(Eventually([&] { return h.order().size() == 6; }));  // both at once
  std::vector<int> order = h.order();
  std::sort(order.begin() + 4, order.end());
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
}

}  // namespace
}  // namespace fupin::server
