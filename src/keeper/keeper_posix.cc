#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "keeper/keeper.h"
#include "keeper/keeper_process.h"
#include "keeper/protocol.h"
#include "keeper/rendezvous_posix.h"

namespace relay::keeper {
namespace {

// How long a keeper may take to come up (fork, close descriptors, listen).
constexpr int kStartPatienceMs = 10'000;

// Waits for the keeper's kWelcome: it is listening and speaks our version.
Status AwaitWelcome(int fd) {
  char buf[13];  // u32 length, type, u32 version, u32 pid
  size_t got = 0;
  while (got < sizeof buf) {
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, kStartPatienceMs);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return Status::Io("cannot start the keeper: it did not answer");
    ssize_t n = ::read(fd, buf + got, sizeof buf - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return Status::Io("cannot start the keeper: it exited at once");
    got += static_cast<size_t>(n);
  }
  size_t pos = 0;
  Frame type;
  std::string_view payload;
  bool broken;
  if (!NextFrame(std::string_view(buf, sizeof buf), &pos, &type, &payload, &broken) ||
      type != Frame::kWelcome || FrameReader(payload).U32() != kProtocolVersion)
    return Status::Io("cannot start the keeper: it does not speak this relay's protocol");
  return Status::Ok();
}

}  // namespace

Result<std::unique_ptr<exec::Runner>> StartKeeper(const KeeperOptions& options) {
  // Bound here, so that a name in use is an error relay sees.
  RELAY_ASSIGN_OR_RETURN(int listen_fd, BindRendezvous(options.owner_id));
  int pair[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    int err = errno;
    ::close(listen_fd);
    return Status::FromErrno("cannot start the keeper: socketpair", err);
  }
  pid_t middle = ::fork();
  if (middle == 0) {
    // The keeper is forked from a child that exits at once, so it is not
    // relay's child: relay never reaps it or hears SIGCHLD from it, and it
    // belongs to the nearest subreaper (or init) from the start.
    ::close(pair[0]);
    pid_t keeper = ::fork();
    if (keeper == 0) RunKeeper(pair[1], listen_fd);
    ::_exit(keeper < 0 ? 1 : 0);
  }
  int fork_errno = errno;
  ::close(pair[1]);
  ::close(listen_fd);
  int status = 0;
  if (middle > 0) {
    while (::waitpid(middle, &status, 0) < 0 && errno == EINTR) {
    }
  }
  if (middle < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    ::close(pair[0]);
    return Status::FromErrno("cannot start the keeper: fork", middle < 0 ? fork_errno : EAGAIN);
  }
  if (Status up = AwaitWelcome(pair[0]); !up.ok()) {
    ::close(pair[0]);
    return up;
  }
  return NewKeeperRunner(pair[0]);
}

}  // namespace relay::keeper
