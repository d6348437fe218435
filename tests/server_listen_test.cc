// The listening socket of the real `fupin serve` (server/app.cc): its accept backlog, read
// back from the kernel over sock_diag netlink (what `ss -ltn` shows as Send-Q). Debian's
// cpp-httplib is a compiled library whose own listen() asks for 5: with 64 clients
// connecting at once SYNs were dropped and retried after a second or more (wrk's timeouts,
// the dashboard's p99 of 833 ms at full scale). The server asks for 1,024 again itself.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include "server_harness.h"
#include "store/open.h"
#include "test_files.h"

namespace fupin::test {
namespace {

// The accept backlog of the TCP socket listening on 127.0.0.1:`port`, from the kernel.
std::optional<uint32_t> ListenBacklog(int port) {
  const int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return std::nullopt;
  struct {
    nlmsghdr header;
    inet_diag_req_v2 request;
  } ask{};
  ask.header.nlmsg_len = sizeof ask;
  ask.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  ask.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  ask.request.sdiag_family = AF_INET;
  ask.request.sdiag_protocol = IPPROTO_TCP;
  ask.request.idiag_states = 1u << 10;  // TCP_LISTEN
  std::optional<uint32_t> found;
  if (send(fd, &ask, sizeof ask, 0) == static_cast<ssize_t>(sizeof ask)) {
    alignas(nlmsghdr) char buffer[16384];
    for (bool done = false; !done;) {
      ssize_t n = recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) break;
      for (auto* h = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
        if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) {
          done = true;
          break;
        }
        const auto* msg = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
        if (ntohs(msg->id.idiag_sport) == port) found = msg->idiag_wqueue;  // max backlog
      }
    }
  }
  close(fd);
  return found;
}

TEST(ServerListenTest, TheListeningSocketQueuesABurstOfConnections) {
  TempDir dir;
  ASSERT_TRUE(store::OpenStore((dir / "f.db").string()));  // an empty store
  ServerProcess server(dir.path(), dir / "f.db");
  auto client = server.Client();
  ASSERT_EQ(client.Get("/healthz")->status, 200);
  const std::optional<uint32_t> backlog = ListenBacklog(server.port());
  ASSERT_TRUE(backlog) << "no listening socket on port " << server.port();
  EXPECT_GE(*backlog, 1024u);
}

}  // namespace
}  // namespace fupin::test
