// Read-only commands over the store: runs, show, logs (cmd_logs.cc), events,
// ledger verify.
#pragma once

#include <cstdint>
#include <string>

#include "cli/common.h"

namespace relay::cli {

int CmdRuns(const GlobalOptions& g, int limit);
int CmdShow(const GlobalOptions& g, const std::string& run);
int CmdLogs(const GlobalOptions& g, const std::string& run, const std::string& task, bool follow);
int CmdEvents(const GlobalOptions& g, const std::string& run, bool jsonl, bool follow);
// `relay events --all`: the change feed, every run's events with positions.
int CmdFeed(const GlobalOptions& g, int64_t after, bool jsonl, bool follow);
int CmdLedgerVerify(const GlobalOptions& g, const std::string& run);
int CmdConfigSet(const GlobalOptions& g, const std::string& key, const std::string& value);

}  // namespace relay::cli
