#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // Started with stdin, stdout or stderr closed (a cron job, `relay … <&-`),
  // the next file relay opens would take that number: the store would get
  // our error messages, or a step's stdout pipe would land on fd 1 and be
  // crossed with its stderr. Holding /dev/null there keeps 0–2 spoken for.
  for (int fd = 0; fd <= 2; ++fd) {
    if (::fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      if (::open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY) != fd) return 3;
    }
  }
  // `relay run … | head` must not kill relay mid-run: a closed stdout makes
  // writes fail quietly instead, and the run goes on to its recorded end.
  // (Attempts get the default SIGPIPE back when they are spawned.)
  std::signal(SIGPIPE, SIG_IGN);
  return relay::cli::Main(argc, argv);
}
