// Lua 5.4 string patterns (reference manual, section 6.4.1) matched with a bound on the work.
//
// Why not Lua's own matcher: it backtracks without limit, and the instruction budget cannot stop
// it, because a count hook runs between VM instructions, never inside string.find. A 24-byte
// subject and the pattern ("a*"):rep(12).."b" hold a worker for 30 seconds. This matcher does
// what Lua's does, result for result and error for error (tests/lua/unit/pattern_test.cpp compares
// the two), and counts its steps: past its limit it stops with OutOfSteps.
//
// Not thread-safe; one Matcher serves one call on one thread. No Lua here: the bindings are in
// bounded_lib.cpp.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace roost_lua::pattern {

constexpr int kMaxCaptures = 32;  // Lua's LUA_MAXCAPTURES
constexpr int kMaxDepth = 200;    // Lua's MAXCCALLS for patterns: past it, "pattern too complex"
// A capture's length while its ')' is not reached yet, and the length of a position capture "()".
constexpr ptrdiff_t kUnfinished = -1;
constexpr ptrdiff_t kPosition = -2;

// A malformed pattern or a bad capture reference: `format` is Lua's own message, for
// luaL_error, with at most one %d (filled with `arg`).
struct Error {
    const char* format;
    int arg;
};
// The matcher spent its limit of steps.
struct OutOfSteps {};

struct Capture {
    const char* init;
    ptrdiff_t len;  // or kUnfinished, kPosition
};

// True when `pattern` has none of the characters that make it a pattern (then string.find
// searches for it as plain text).
bool is_plain(std::string_view pattern);

class Matcher {
  public:
    // `subject` and `pattern` are borrowed for the matcher's life. `limit` is the most steps it may
    // take (a step is one attempt at a pattern position, or one character a repetition or %b
    // looks at) before match() throws OutOfSteps.
    Matcher(std::string_view subject, std::string_view pattern, uint64_t limit);

    // Matches the pattern from `p` (inside the pattern; a leading '^' is the caller's to strip)
    // against the subject from `s` on. Returns the end of the match, or nullptr. The captures are
    // reset first. Throws Error for a malformed pattern, OutOfSteps past the limit.
    const char* match(const char* s, const char* p);

    const char* subject_begin() const { return _s_begin; }
    const char* subject_end() const { return _s_end; }
    int level() const { return _level; }
    const Capture& capture(int i) const { return _capture[i]; }

    // Steps taken since the last restart_steps(), which sets the limit for the steps from then on.
    uint64_t steps() const { return _steps; }
    void restart_steps(uint64_t limit) {
        _steps = 0;
        _limit = limit;
    }

  private:
    const char* do_match(const char* s, const char* p);
    const char* start_capture(const char* s, const char* p, ptrdiff_t what);
    const char* end_capture(const char* s, const char* p);
    const char* match_capture(const char* s, int index_char);
    const char* match_balance(const char* s, const char* p);
    const char* max_expand(const char* s, const char* p, const char* ep);
    const char* min_expand(const char* s, const char* p, const char* ep);
    const char* class_end(const char* p) const;
    bool single_match(const char* s, const char* p, const char* ep) const;
    // The pattern's character at `p`, or '\0' at its end (Lua reads its strings' terminator).
    char at(const char* p) const { return p < _p_end ? *p : '\0'; }
    void step() {
        if (++_steps > _limit) throw OutOfSteps{};
    }

    const char* _s_begin;
    const char* _s_end;
    const char* _p_end;
    uint64_t _steps = 0;
    uint64_t _limit;
    int _depth = kMaxDepth;
    int _level = 0;
    Capture _capture[kMaxCaptures];
};

}  // namespace roost_lua::pattern
