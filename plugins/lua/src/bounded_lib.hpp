// The standard library functions whose work a count hook cannot see, made to count it.
//
// The instruction budget is a count hook, which runs between VM instructions. A C function runs
// as one instruction however long it takes, and some in the standard library can take any time
// without allocating (so the memory cap does not stop them either):
// - string.find, match, gmatch and gsub: Lua's pattern matcher backtracks without limit
//   (24 bytes of subject, seconds to minutes); replaced by pattern::Matcher, which counts steps;
// - string.rep("", n) for a huge n: n empty copies, one by one (the result is "");
// - table.move(a, f, e, t) for a huge range: one get and set per index, even of nils;
// - table.insert, remove, concat, sort and unpack over a #t that a __len metamethod makes huge,
//   with C functions as __index and __newindex (bounded_table.cpp);
// - string.byte and utf8.codepoint: a value per byte of the range, up to a million a call.
// Each now spends its work from the budget of the call in progress, and a call that would pass
// it is stopped with the budget's error.
// And the count hook itself is per thread: coroutine.resume, wrap and close set a coroutine's
// hook before running it (bounded_coroutine.cpp), or fresh coroutines would run uncounted.
#pragma once
#include <lua.hpp>

#include <cstdint>

namespace roost_lua {

// What C functions spend on a script's behalf. Implemented by Script (the call's instruction
// budget); a step counts as one VM instruction.
class WorkBudget {
  public:
    virtual ~WorkBudget() = default;
    // Steps the call in progress may still take.
    virtual uint64_t work_left() const = 0;
    virtual void spend(uint64_t steps) = 0;
    // Raises the budget's error for `function` (as a Lua error: does not return), and stops
    // the call as the count hook does, so a pcall in the script cannot swallow it.
    [[noreturn]] virtual void exhausted(lua_State* L, const char* function) = 0;
    // Called by L before it resumes (or closes) coroutine `co`: sets co's count hook and pays
    // for the instructions co may run before that hook first fires; stops the call when the
    // budget is spent.
    virtual void enter_coroutine(lua_State* L, lua_State* co) = 0;
};

// Replaces string.find, match, gmatch, gsub, rep and byte, utf8.codepoint, table.insert,
// remove, concat, sort, unpack and move, and coroutine.resume, wrap and close in the state's
// libraries (opened before) with the bounded ones. `budget` must outlive the state.
void open_bounded_lib(lua_State* L, WorkBudget& budget);

// The parts open_bounded_lib opens: bounded_table.cpp and bounded_coroutine.cpp.
void open_bounded_table(lua_State* L, WorkBudget& budget);
void open_bounded_coroutine(lua_State* L, WorkBudget& budget);

// For the C closures of bounded_lib.cpp, bounded_table.cpp and bounded_coroutine.cpp, which hold
// the WorkBudget as an upvalue (1, unless said otherwise) and, where they wrap Lua's own
// function, that function as another.
// The budget in upvalue `upvalue` of the running C closure.
WorkBudget& budget_at(lua_State* L, int upvalue);
// Spends `steps` of upvalue 1's budget for `function`, or stops the call when it has not that
// many left.
void spend_or_stop(lua_State* L, uint64_t steps, const char* function);
// Calls the function in upvalue `upvalue` (Lua's own) with this call's arguments; returns its
// results.
int call_standard(lua_State* L, int upvalue);

}  // namespace roost_lua
