// The server's request log: lines reach the sink whole and in order, and a sink that stops
// reading never holds the caller (lines beyond the queue's limit are dropped and counted).
#include "server/request_log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <string>
#include <thread>

namespace fupin::server {
namespace {

std::string ReadAll(int fd) {
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
}

TEST(RequestLog, LinesArriveWholeAndInOrder) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::string expected;
  {
    RequestLog log(p[1]);
    for (int i = 0; i < 1000; ++i) {
      const std::string line = "GET /api/query 200 line " + std::to_string(i) + "\n";
      log.Add(line);
      expected += line;
    }
  }  // the destructor writes what is queued
  ::close(p[1]);
  EXPECT_EQ(ReadAll(p[0]), expected);
  ::close(p[0]);
}

TEST(RequestLog, AStalledSinkNeverHoldsTheCallerAndDropsAreCounted) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  std::thread reader;
  std::string got;
  {
    RequestLog log(p[1]);
    // Nobody reads the pipe: the log's thread blocks in write(2) once it is full, and the
    // queue fills up behind it. Every Add still returns. The thread may hold a whole queue's
    // worth taken before it blocked, so twice the queue and more are sure to overflow it.
    const std::string line(1000, 'x');
    const size_t lines = 2 * RequestLog::kMaxQueuedBytes / line.size() + 2000;
    for (size_t i = 0; i < lines; ++i) log.Add(line + "\n");
    EXPECT_GT(log.dropped(), 0u);
    reader = std::thread([&] { got = ReadAll(p[0]); });
  }
  ::close(p[1]);
  reader.join();
  ::close(p[0]);
  EXPECT_FALSE(got.empty());
  EXPECT_EQ(got.size() % 1001, 0u) << "only whole lines";
}

}  // namespace
}  // namespace fupin::server
