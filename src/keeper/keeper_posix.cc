#include <errno.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "keeper/keeper.h"
#include "keeper/keeper_process.h"
#include "keeper/rendezvous_posix.h"

namespace relay::keeper {

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
  return NewKeeperRunner(pair[0]);
}

}  // namespace relay::keeper
