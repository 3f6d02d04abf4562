#pragma once
// qkv-learn's commands, one function each; main.cpp reads the command line and calls one.
// Each returns the exit code.

#include <string>

#include "context.hpp"

namespace qkv::learn {

int cmd_list(const Context& ctx);
/// expect_stubs: CI on the untouched stubs; every test must fail and name its file.
int cmd_status(const Context& ctx, bool expect_stubs);
int cmd_check(const Context& ctx, const std::string& id);
/// Hints 1..level (level 0: 1); without an id, of the first exercise not done.
int cmd_hint(Context& ctx, const std::string& id, std::size_t level);
int cmd_solution(const Context& ctx, const std::string& id, bool force);
/// test: restore the exercise's test file (from git's HEAD) instead of its stub.
int cmd_reset(const Context& ctx, const std::string& id, bool yes, bool test);
int cmd_watch(const Context& ctx, const std::string& id, double interval, int max_checks);

/// "Next: id (title)" and what to open (and, when not watching, the commands to run).
void print_next(const Context& ctx, const Exercise& e, bool watching);

}  // namespace qkv::learn
