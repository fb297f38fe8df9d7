#include "cli/command.hpp"

int main(int argc, char** argv) { return roofaudit::cli::run_cli(argc, argv); }
