#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <exception>
#include <new>

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
  // Expected failures are Status values; what still arrives here as an
  // exception (allocation failure above all) must end as a message and
  // exit 3, not as std::terminate's abort and core dump. Nothing here may
  // allocate: stderr is unbuffered and the texts are static.
  try {
    return relay::cli::Main(argc, argv);
  } catch (const std::bad_alloc& e) {
    std::fprintf(stderr, "relay: out of memory: %s\n", e.what());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "relay: internal error: %s\n", e.what());
  } catch (...) {
    std::fputs("relay: internal error: an unknown exception\n", stderr);
  }
  // A run in progress is left as after a crash: `relay resume` finishes it.
  return 3;
}
