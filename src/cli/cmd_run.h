// relay run / resume / rerun / cancel: everything that makes a run progress.
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
  int jobs = 0;  // 0: number of cores
  bool dry_run = false;
};

int CmdRun(const GlobalOptions& g, const RunArgs& a);
int CmdResume(const GlobalOptions& g, const std::string& run, int jobs);
int CmdRerun(const GlobalOptions& g, const std::string& run, bool failed, const std::string& from,
             int jobs);
int CmdCancel(const GlobalOptions& g, const std::string& run);

}  // namespace relay::cli
