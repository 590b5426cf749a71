// One Lua state running one script, with its limits: a memory cap (a counting lua_Alloc), an
// instruction budget per call (a count hook that stops the script), the sandbox and the `roost`
// table. Thread rule: a Script belongs to the worker thread that made it (one per worker, plus a
// throw-away one on the main thread to check a script); it is never shared.
#pragma once
#include <lua.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <roost/plugin.h>

#include "bounded_lib.hpp"
#include "jwt.hpp"
#include "options.hpp"

namespace roost_lua {

// The client of a hook call in progress (see lua_client.hpp).
struct ActiveClient {
    uintptr_t serial;
    roost_client* client;
    const roost_auth_event* auth;
};

// What the Lua side needs of the broker; copied into each Script.
struct HostContext {
    const roost_host* host = nullptr;
    roost_plugin* self = nullptr;
};

class Script final : public WorkBudget {
  public:
    enum Hook { on_auth, on_acl, on_message, on_connect, on_disconnect, hook_count };
    static const char* hook_name(Hook h);

    // Makes a state, opens the sandbox and the roost table, compiles `source` and runs its top
    // level (with 100 times the per-call budget). nullptr with *error ("acl.lua:3: ...") on failure.
    static std::unique_ptr<Script> load(std::shared_ptr<const Settings> settings, const std::string& source,
                                        const HostContext& host, std::string* error);
    // Compiles `source` as text (no bytecode) without running it: roost_plugin_check.
    static bool compile(const Settings& settings, const std::string& source, std::string* error);
    // Reads the script file named by `settings`; false with *error when it cannot.
    static bool read_source(const Settings& settings, std::string* source, std::string* error);

    ~Script() override;
    Script(const Script&) = delete;
    Script& operator=(const Script&) = delete;

    lua_State* L() const { return _L; }
    const Settings& settings() const { return *_settings; }
    const HostContext& host() const { return _host; }
    bool has(Hook h) const { return _hooks[h] != LUA_NOREF; }

    // Pushes hook `h` (check has() first); the caller pushes its arguments, then calls call().
    void push_hook(Hook h) const;
    // Runs the function pushed below its `nargs` arguments with the budget; on success leaves
    // `nresults` results where the function was and returns true. On failure (error, budget, out
    // of memory) leaves nothing, logs what happened with the hook's name, file:line and a
    // traceback, and returns false. The no_cache flag is cleared at the start of each call.
    bool call(Hook h, int nargs, int nresults);

    // roost.no_cache() sets it: the answer of this call must not be cached.
    bool no_cache = false;
    // The clients of the calls in progress (lua_client.cpp): a serial per call, the client it
    // stands for. Usually one; more only for a call made from inside another.
    std::vector<ActiveClient> active_clients;
    uintptr_t next_client_serial = 1;
    // Per-script cache of keys read from files for roost.jwt_verify.
    std::map<std::string, std::shared_ptr<JwtKey>> jwt_keys;

    // WorkBudget: the instruction budget of the call in progress, spent by the bounded standard
    // functions (bounded_lib.hpp) as well as by the count hook.
    uint64_t work_left() const override { return _executed < _budget ? _budget - _executed : 0; }
    void spend(uint64_t steps) override { _executed += steps; }
    [[noreturn]] void exhausted(lua_State* L, const char* function) override;
    void enter_coroutine(lua_State* L, lua_State* co) override;

    static Script* of(lua_State* L) { return *static_cast<Script**>(lua_getextraspace(L)); }
    // Bytes the state holds now.
    size_t memory_used() const { return _used; }

    // Lua-side data scripts keep per client (roost.client_data_set), in the registry table
    // keyed by the client's ref. Copied into a new Script at reload (plain values only).
    void copy_client_data_to(Script& other) const;
    void drop_client_data(uint64_t ref);

  private:
    Script(std::shared_ptr<const Settings> settings, const HostContext& host);
    bool run(int nargs, int nresults, uint64_t budget, std::string* error);
    static void* allocate(void* ud, void* ptr, size_t osize, size_t nsize);
    static void count_hook(lua_State* L, lua_Debug* ar);

    std::shared_ptr<const Settings> _settings;
    HostContext _host;
    lua_State* _L = nullptr;
    size_t _used = 0;        // bytes the state holds
    uint64_t _executed = 0;  // instructions of the current call, in steps of the hook's count
    uint64_t _budget = 0;
    bool _stopped = false;              // the current call ran out of budget
    const char* _stopped_in = nullptr;  // the C function that spent the rest of it, if one did
    bool _over_time = false;            // the current call was stopped by the CPU-time backstop
    bool _hook_armed = false;           // its allocations passed the budget: hook count set to 1
    bool _strict = false;               // inside a script call: memory_limit holds without the reserve
    int _depth = 0;                     // calls in progress (nested ones share the outermost's budget)
    // The backstop (see kNanosPerInstruction): when the current call's first count hook ran (0:
    // not yet), and the CPU time it may use, in ns.
    int64_t _started_ns = 0;      // CLOCK_MONOTONIC_COARSE
    int64_t _cpu_started_ns = 0;  // CLOCK_THREAD_CPUTIME_ID
    int64_t _cpu_limit_ns = 0;
    int _hooks[hook_count];
};

}  // namespace roost_lua
