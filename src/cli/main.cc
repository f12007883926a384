#include <csignal>

#include "cli/commands.h"

int main(int argc, char** argv) {
  // `relay run … | head` must not kill relay mid-run: a closed stdout makes
  // writes fail quietly instead, and the run goes on to its recorded end.
  // (Attempts get the default SIGPIPE back when they are spawned.)
  std::signal(SIGPIPE, SIG_IGN);
  return relay::cli::Main(argc, argv);
}
