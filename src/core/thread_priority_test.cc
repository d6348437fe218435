#include "core/thread_priority.h"

#include <gtest/gtest.h>

#include <array>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace fupin {
namespace {

// A thread that reports its id and waits until told to start a child and end.
class Parked {
 public:
  Parked()
      : thread_([this] {
          std::unique_lock lock(mu_);
          tid_ = ThisThreadId();
          cv_.notify_all();
          cv_.wait(lock, [&] { return go_; });
          // A thread started now inherits this one's nice value.
          std::thread child([this] {
            std::lock_guard child_lock(mu_);
            child_nice_ = *ThreadNice(ThisThreadId());
          });
          lock.unlock();
          child.join();
        }) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return tid_ != 0; });
  }
  ~Parked() { Finish(); }
  pid_t tid() const { return tid_; }
  // Starts its child and waits for both; the child's nice value.
  int Finish() {
    {
      std::lock_guard lock(mu_);
      go_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    return child_nice_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  pid_t tid_ = 0;
  bool go_ = false;
  int child_nice_ = -100;
  std::thread thread_;
};

TEST(ThreadPriorityTest, LowersEveryThreadButTheKeptOnesAndTheirChildrenInherit) {
  Parked kept, lowered;
  const int base = *ThreadNice(kept.tid());
  ASSERT_EQ(*ThreadNice(lowered.tid()), base);
  if (base > 14) GTEST_SKIP() << "already at nice " << base;
  const std::array<pid_t, 1> keep{kept.tid()};
  ASSERT_TRUE(LowerPriorityOfThreadsExcept(5, keep).ok());
  EXPECT_EQ(*ThreadNice(kept.tid()), base);
  EXPECT_EQ(*ThreadNice(lowered.tid()), base + 5);
  EXPECT_EQ(*ThreadNice(ThisThreadId()), base + 5);  // the caller too, unless kept
  EXPECT_EQ(kept.Finish(), base);
  EXPECT_EQ(lowered.Finish(), base + 5);
}

TEST(ThreadPriorityTest, CapsAtNineteen) {
  Parked a;
  const std::array<pid_t, 0> keep{};
  ASSERT_TRUE(LowerPriorityOfThreadsExcept(19, keep).ok());
  EXPECT_EQ(*ThreadNice(a.tid()), 19);
  ASSERT_TRUE(LowerPriorityOfThreadsExcept(19, keep).ok());
  EXPECT_EQ(*ThreadNice(a.tid()), 19);
}

TEST(ThreadPriorityTest, RejectsAnIncrementOutsideOneToNineteen) {
  const std::array<pid_t, 0> keep{};
  for (int bad : {0, -1, 20}) {
    Status st = LowerPriorityOfThreadsExcept(bad, keep);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find("1 to 19"), std::string::npos) << st.message();
  }
}

}  // namespace
}  // namespace fupin
