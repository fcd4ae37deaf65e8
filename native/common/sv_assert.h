// Always-on assertions. A failed SV_ASSERT is a bug in ShardVault, never the caller's fault: user input is
// validated at the public edge (lib/) and re-checked by the binding (napi_*.cc) with explicit errors.
// Asserts stay compiled in release builds (TigerBeetle style) and must have no side effects.
#pragma once

#include <cstdio>
#include <cstdlib>

#define SV_ASSERT(cond)                                                                     \
  do {                                                                                      \
    if (__builtin_expect(!(cond), 0)) {                                                     \
      std::fprintf(stderr, "shardvault: assertion failed: %s (%s:%d)\n", #cond, __FILE__, \
                   __LINE__);                                                               \
      std::abort();                                                                         \
    }                                                                                       \
  } while (0)
