#include "script.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

#include "roost_lib.hpp"
#include "sandbox.hpp"

namespace roost_lua {
namespace {

// The count hook runs every kStep VM instructions: cheap enough to leave on for every call, fine
// enough to stop a loop within a few microseconds of its budget.
constexpr int kStep = 1000;
// A coroutine's count hook runs every kCoroutineStep instructions, and each resume pays that
// much up front (enter_coroutine): a coroutine resumed often is charged at most this much more
// than it ran, and a fresh one cannot run uncounted.
constexpr int kCoroutineStep = 100;
// What a call allocates costs one instruction per kBytesPerStep: the C functions that make long
// strings (string.upper, format, sub, concat, ..) do work in proportion to what they make, all
// of it in one instruction, so `while true do local _ = big:upper() end` on a 32 MiB string
// would run for hours within a budget of milliseconds (the memory cap alone does not stop it:
// the collector frees each copy).
constexpr size_t kBytesPerStep = 64;
// The backstop: a call may also use at most max(1 s, budget x kNanosPerInstruction) of its
// thread's CPU time (about 25 times what its budget of Lua instructions takes), checked by the
// count hook. Counting cannot see all work: a single VM instruction can copy up to Lua's stack
// limit of 1,000,000 values (f(...) with a long vararg list) or compare two long strings, in
// milliseconds, and a loop of them ran for minutes within a budget. The floor of 1 s leaves room
// for the longest password hash roost.passwd_verify accepts (passwd.hpp).
constexpr int64_t kNanosPerInstruction = 100;
constexpr int64_t kMinCpuLimitNs = 1'000'000'000;
const char kClientsKey[] = "roost.clients";

int64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}
constexpr size_t kReserve = 1u << 20;
constexpr int kTracebackSlot = 1;

// The message handler: the error plus a traceback (not for out-of-memory, where Lua calls none).
int traceback(lua_State* L) {
    const char* msg = lua_tostring(L, 1);
    if (msg == nullptr) msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
    luaL_traceback(L, L, msg, 1);
    return 1;
}

}  // namespace

const char* Script::hook_name(Hook h) {
    static const char* const names[] = {"on_auth", "on_acl", "on_message", "on_connect", "on_disconnect"};
    return names[h];
}

Script::Script(std::shared_ptr<const Settings> settings, const HostContext& host)
    : _settings(std::move(settings)), _host(host) {
    for (int& h : _hooks)
        h = LUA_NOREF;
}

Script::~Script() {
    if (_L) {
        _executed = 0;
        _budget = _settings->instruction_budget;
        lua_close(_L);
    }
}

// The state's allocator: refuses to grow past memory_limit (Lua then raises "not enough memory"
// in the script, after an emergency collection). When ptr is NULL, osize is a type tag, not a size.
void* Script::allocate(void* ud, void* ptr, size_t osize, size_t nsize) {
    auto* self = static_cast<Script*>(ud);
    size_t old = ptr ? osize : 0;
    if (nsize == 0) {
        std::free(ptr);
        self->_used -= old;
        return nullptr;
    }
    // Outside a script's call (the plugin pushing arguments, copying data) a reserve above the
    // cap keeps an allocation from failing where nothing would catch the error.
    size_t limit = self->_settings->memory_limit + (self->_strict ? 0 : kReserve);
    if (nsize > old && self->_used - old + nsize > limit) return nullptr;
    void* p = std::realloc(ptr, nsize);
    if (p) {
        self->_used = self->_used - old + nsize;
        if (self->_strict && nsize > old) {
            self->_executed += (nsize - old) / kBytesPerStep;
            // Past the budget: the count hook (which raises the stop) runs at the main thread's
            // next instruction, not up to kStep instructions later, each of which may allocate
            // (and copy) as much again. A coroutine's hook runs every kCoroutineStep anyway.
            if (self->_executed > self->_budget && !self->_stopped && !self->_hook_armed) {
                self->_hook_armed = true;
                lua_sethook(self->_L, count_hook, LUA_MASKCOUNT, 1);
            }
        }
    }
    return p;
}

// Counts instructions; past the budget it raises an error naming the script's line, and from
// then on raises again at every instruction (count 1), so a pcall in the script cannot swallow
// the stop: each level the error unwinds to raises it again at its next instruction.
void Script::count_hook(lua_State* L, lua_Debug* ar) {
    Script* self = of(L);
    // This thread's count: kStep, kCoroutineStep in a coroutine, 1 once stopped.
    self->_executed += static_cast<uint64_t>(lua_gethookcount(L));
    if (!self->_stopped && self->_executed <= self->_budget) {
        // The backstop, cheaply: its clocks start at the call's first hook (a call shorter than
        // kStep instructions, most of them, reads no clock at all), and wall time (a vDSO read)
        // bounds CPU time from above, so the thread's CPU clock (a system call) is read again
        // only once the wall clock says the call may be over.
        if (self->_started_ns == 0) {
            self->_started_ns = clock_ns(CLOCK_MONOTONIC_COARSE);
            self->_cpu_started_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID);
            return;
        }
        if (clock_ns(CLOCK_MONOTONIC_COARSE) - self->_started_ns <= self->_cpu_limit_ns ||
            clock_ns(CLOCK_THREAD_CPUTIME_ID) - self->_cpu_started_ns <= self->_cpu_limit_ns)
            return;
        self->_over_time = true;
    }
    self->_stopped = true;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    lua_getinfo(L, "Sl", ar);
    // Raised again after a pcall caught the first error: the log still names what spent it.
    if (self->_over_time)
        luaL_error(L, "%s:%d: instruction budget of %I exceeded: CPU time over %d ms: stopped", ar->short_src,
                   ar->currentline, static_cast<lua_Integer>(self->_budget),
                   static_cast<int>(self->_cpu_limit_ns / 1'000'000));
    if (self->_stopped_in)
        luaL_error(L, "%s:%d: instruction budget of %I exceeded in %s: stopped", ar->short_src,
                   ar->currentline, static_cast<lua_Integer>(self->_budget), self->_stopped_in);
    luaL_error(L, "%s:%d: instruction budget of %I exceeded: stopped", ar->short_src, ar->currentline,
               static_cast<lua_Integer>(self->_budget));
}

void Script::exhausted(lua_State* L, const char* function) {
    // As the count hook does once past the budget: every instruction from here raises again.
    _stopped = true;
    _stopped_in = function;
    lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
    luaL_error(L, "instruction budget of %I exceeded in %s: stopped", static_cast<lua_Integer>(_budget),
               function);
    __builtin_unreachable();  // luaL_error raises; lauxlib.h does not say it never returns
}

void Script::enter_coroutine(lua_State* L, lua_State* co) {
    // A running or normal coroutine (the caller itself, or one below it) cannot be resumed, and
    // resetting its hook would drop the count it has run since its hook last fired.
    lua_Debug ar;
    if (co == L || (lua_status(co) == LUA_OK && lua_getstack(co, 0, &ar))) return;
    if (_stopped) {
        lua_sethook(co, count_hook, LUA_MASKCOUNT, 1);  // raises at the coroutine's first instruction
        return;
    }
    if (work_left() < kCoroutineStep) exhausted(L, "coroutine.resume");
    spend(kCoroutineStep);
    lua_sethook(co, count_hook, LUA_MASKCOUNT, kCoroutineStep);
}

bool Script::read_source(const Settings& settings, std::string* source, std::string* error) {
    std::ifstream in(settings.script_path, std::ios::binary);
    if (!in) {
        *error = settings.script + ": cannot be read (" + std::strerror(errno) + ")";
        return false;
    }
    std::ostringstream text;
    text << in.rdbuf();
    *source = text.str();
    return true;
}

bool Script::compile(const Settings& settings, const std::string& source, std::string* error) {
    lua_State* L = luaL_newstate();
    if (L == nullptr) {
        *error = "out of memory";
        return false;
    }
    std::string chunk = "@" + settings.script;
    bool ok = luaL_loadbufferx(L, source.data(), source.size(), chunk.c_str(), "t") == LUA_OK;
    if (!ok) *error = lua_tostring(L, -1);
    lua_close(L);
    return ok;
}

std::unique_ptr<Script> Script::load(std::shared_ptr<const Settings> settings, const std::string& source,
                                     const HostContext& host, std::string* error) {
    std::unique_ptr<Script> s(new Script(std::move(settings), host));
    s->_L = lua_newstate(allocate, s.get());
    if (s->_L == nullptr) {
        *error = "cannot create a Lua state (memory_limit too small?)";
        return nullptr;
    }
    lua_State* L = s->_L;
    *static_cast<Script**>(lua_getextraspace(L)) = s.get();
    lua_sethook(L, count_hook, LUA_MASKCOUNT, kStep);
    lua_pushcfunction(L, traceback);  // kTracebackSlot
    lua_newtable(L);
    lua_setfield(L, LUA_REGISTRYINDEX, kClientsKey);
    open_sandbox(L);
    open_bounded_lib(L, *s);
    open_roost_lib(L);

    std::string chunk = "@" + s->settings().script;
    if (luaL_loadbufferx(L, source.data(), source.size(), chunk.c_str(), "t") != LUA_OK) {
        *error = lua_tostring(L, -1);
        return nullptr;
    }
    // The top level may load files (a password file, keys): 100 times a call's budget.
    if (!s->run(0, 0, s->settings().instruction_budget * 100, error)) return nullptr;
    for (int h = 0; h < hook_count; ++h) {
        lua_getglobal(L, hook_name(static_cast<Hook>(h)));
        if (lua_isfunction(L, -1)) {
            s->_hooks[h] = luaL_ref(L, LUA_REGISTRYINDEX);
        } else {
            std::string type = luaL_typename(L, -1);
            lua_pop(L, 1);
            if (type != "nil") {
                *error = s->settings().script + ": " + hook_name(static_cast<Hook>(h)) + " is a " + type +
                         ", not a function";
                return nullptr;
            }
        }
    }
    if (!s->has(on_auth) && !s->has(on_acl) && !s->has(on_message) && !s->has(on_connect) &&
        !s->has(on_disconnect)) {
        *error =
            s->settings().script +
            ": defines none of on_auth, on_acl, on_message, on_connect, on_disconnect (global functions)";
        return nullptr;
    }
    lua_gc(L, LUA_GCCOLLECT);
    return s;
}

void Script::push_hook(Hook h) const {
    lua_rawgeti(_L, LUA_REGISTRYINDEX, _hooks[h]);
}

bool Script::run(int nargs, int nresults, uint64_t budget, std::string* error) {
    lua_State* L = _L;
    int base = lua_gettop(L) - nargs;  // the function
    // A call made from inside another (none is today: host->publish is queued) runs within the
    // outer call's budget instead of starting a fresh one.
    bool outermost = _depth++ == 0;
    if (outermost) {
        _executed = 0;
        _budget = budget;
        _stopped = false;
        _stopped_in = nullptr;
        _over_time = false;
        _hook_armed = false;
        _strict = true;
        _cpu_limit_ns = std::max<int64_t>(kMinCpuLimitNs, static_cast<int64_t>(std::min<uint64_t>(
                                                              budget, INT64_MAX / kNanosPerInstruction)) *
                                                              kNanosPerInstruction);
        _started_ns = 0;  // the count hook starts the clocks (see count_hook)
    }
    // The message handler stays at stack slot 1 for the state's life: nothing to push per call.
    int status = lua_pcall(L, nargs, nresults, kTracebackSlot);
    --_depth;
    if (outermost) {
        _strict = false;
        if (_stopped || _hook_armed) lua_sethook(L, count_hook, LUA_MASKCOUNT, kStep);  // back from count 1
    }
    if (status == LUA_OK) return true;
    if (status == LUA_ERRMEM) {
        *error = "not enough memory (memory_limit " + std::to_string(_settings->memory_limit >> 20) +
                 " MiB): stopped";
    } else {
        const char* msg = lua_tostring(L, -1);
        *error = msg ? msg : "error object is not a string";
    }
    lua_settop(L, base - 1);
    // Give back what the failed call held, so the next call starts with room: only when room is
    // short, since a full collection of a large state outside any budget, after every failed
    // call, would let a client that makes calls fail cost the worker that much each time.
    if (status == LUA_ERRMEM || _used > _settings->memory_limit / 2) lua_gc(L, LUA_GCCOLLECT);
    return false;
}

bool Script::call(Hook h, int nargs, int nresults) {
    no_cache = false;
    std::string error;
    if (run(nargs, nresults, _settings->instruction_budget, &error)) return true;
    const char* answer = _settings->on_error == OnError::deny    ? "deny"
                         : _settings->on_error == OnError::allow ? "allow (on_error = \"allow\")"
                                                                 : "next plugin (on_error = \"next\")";
    // One log line: the error, the answer, then the traceback's frames separated by " | ".
    std::string message = error, frames;
    size_t at = error.find("\nstack traceback:\n");
    if (at != std::string::npos) {
        message = error.substr(0, at);
        frames = error.substr(at + 18);
        for (size_t i = 0; (i = frames.find('\n', i)) != std::string::npos;)
            frames.replace(i, 1, " | ");
        frames.erase(std::remove(frames.begin(), frames.end(), '\t'), frames.end());
    }
    _host.host->log(_host.self, ROOST_LOG_ERROR, "%s in %s: %s [answer: %s]%s%s", _settings->script.c_str(),
                    hook_name(h), message.c_str(), answer,
                    frames.empty() ? "" : "; traceback: ", frames.c_str());
    return false;
}

// Plain values only (nil, booleans, numbers, strings, and tables of them, 32 levels deep): a
// function or userdata cannot move between states and is dropped.
static void copy_value(lua_State* from, int index, lua_State* to, int depth) {
    index = lua_absindex(from, index);
    switch (lua_type(from, index)) {
        case LUA_TBOOLEAN:
            lua_pushboolean(to, lua_toboolean(from, index));
            break;
        case LUA_TNUMBER:
            if (lua_isinteger(from, index))
                lua_pushinteger(to, lua_tointeger(from, index));
            else
                lua_pushnumber(to, lua_tonumber(from, index));
            break;
        case LUA_TSTRING: {
            size_t len = 0;
            const char* s = lua_tolstring(from, index, &len);
            lua_pushlstring(to, s, len);
            break;
        }
        case LUA_TTABLE:
            if (depth > 32) {
                lua_pushnil(to);
                break;
            }
            lua_newtable(to);
            lua_pushnil(from);
            while (lua_next(from, index) != 0) {
                copy_value(from, -2, to, depth + 1);
                copy_value(from, -1, to, depth + 1);
                if (lua_isnil(to, -2))
                    lua_pop(to, 2);
                else
                    lua_rawset(to, -3);
                lua_pop(from, 1);
            }
            break;
        default:
            lua_pushnil(to);
            break;
    }
}

void Script::copy_client_data_to(Script& other) const {
    lua_getfield(_L, LUA_REGISTRYINDEX, kClientsKey);
    lua_getfield(other._L, LUA_REGISTRYINDEX, kClientsKey);
    lua_pushnil(_L);
    while (lua_next(_L, -2) != 0) {
        lua_pushvalue(_L, -2);
        copy_value(_L, -1, other._L, 0);  // the key (a client ref)
        copy_value(_L, -2, other._L, 0);  // the value
        lua_rawset(other._L, -3);
        lua_pop(_L, 2);
    }
    lua_pop(_L, 1);
    lua_pop(other._L, 1);
}

void Script::drop_client_data(uint64_t ref) {
    lua_getfield(_L, LUA_REGISTRYINDEX, kClientsKey);
    lua_pushnil(_L);
    lua_rawseti(_L, -2, static_cast<lua_Integer>(ref));
    lua_pop(_L, 1);
}

}  // namespace roost_lua
