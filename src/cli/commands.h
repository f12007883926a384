// The command-line interface: one file per group of subcommands, all
// registered on one CLI11 app in dispatch.cc. Exit statuses (README):
// 0 success, 1 the run failed (or a ledger is broken), 2 usage or
// validation error, 3 infrastructure error (store unreadable, locked, full).
#pragma once

namespace relay::cli {

int Main(int argc, char** argv);

}  // namespace relay::cli
