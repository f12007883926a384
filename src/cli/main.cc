#include "cli/commands.h"

int main(int argc, char** argv) { return relay::cli::Main(argc, argv); }
