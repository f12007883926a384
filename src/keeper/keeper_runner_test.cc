// The keeper's runner against the behaviours every runner shares
// (exec/runner_conformance_test.h): the same attempts, run by a keeper.
#include <unistd.h>

#include <string>

#include "exec/runner_conformance_test.h"
#include "keeper/keeper.h"

namespace relay::exec::conformance {
namespace {

std::unique_ptr<Runner> MakeKeeperRunner() {
  static int made = 0;
  std::string owner = "keeper-test:" + std::to_string(getpid()) + ":" + std::to_string(++made);
  Result<std::unique_ptr<Runner>> runner = keeper::StartKeeper({owner});
  EXPECT_TRUE(runner.ok()) << runner.status().ToString();
  return runner.ok() ? std::move(runner).value() : nullptr;
}

INSTANTIATE_TEST_SUITE_P(Keeper, RunnerTest, ::testing::Values(&MakeKeeperRunner));

}  // namespace
}  // namespace relay::exec::conformance
