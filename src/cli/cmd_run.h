// relay run / resume / rerun / cancel / approve: everything that makes a run
// progress or decides for it. Each run-driving command is an engine with
// one run (and its sub-pipelines).
#pragma once

#include <string>
#include <vector>

#include "cli/common.h"
#include "plan/dag.h"

namespace relay::cli {

struct RunArgs {
  std::string file;
  std::vector<std::string> inputs;  // -i key=value
  plan::Selection selection;
  int jobs = 0;  // --slots / -j; 0: number of cores
  bool dry_run = false;
};

int CmdRun(const GlobalOptions& g, const RunArgs& a);
int CmdResume(const GlobalOptions& g, const std::string& run, int jobs);
int CmdRerun(const GlobalOptions& g, const std::string& run, bool failed, const std::string& from,
             int jobs);
int CmdCancel(const GlobalOptions& g, const std::string& run);

struct ApproveArgs {
  std::string run;
  std::string task;
  bool reject = false;
  std::string comment;
};
int CmdApprove(const GlobalOptions& g, const ApproveArgs& a);

}  // namespace relay::cli
