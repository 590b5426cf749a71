// The bounded string.find/match/gmatch/gsub/rep and table.move (bounded_lib.hpp) against Lua's
// own: the same calls run in a state with the standard library and in one with the bounded
// functions, and every result and error message must be the same (the matcher has no code of Lua's; this is
// how it is held to Lua's behaviour). Then the bounds themselves: a pattern that backtracks for minutes and
// the loops without allocation stop within the budget.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "bounded_lib.hpp"

using roost_lua::open_bounded_lib;
using roost_lua::WorkBudget;

namespace {

class TestBudget final : public WorkBudget {
  public:
    explicit TestBudget(uint64_t steps) : left(steps) {}
    uint64_t work_left() const override { return left; }
    void spend(uint64_t steps) override { left = steps > left ? 0 : left - steps; }
    [[noreturn]] void exhausted(lua_State* L, const char* function) override {
        luaL_error(L, "budget spent in %s", function);
        __builtin_unreachable();
    }
    void enter_coroutine(lua_State*, lua_State*) override {}
    uint64_t left;
};

// Runs `describe(...)`-style calls: the harness below, loaded into each state, returns a string
// naming every result (type and value) or the error of a protected call.
const char* const kHarness = R"lua(
local function show(ok, ...)
  local out = {ok and "ok" or "error"}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    out[#out + 1] = type(v) .. ":" .. tostring(v)
  end
  return table.concat(out, " ")
end
local function collect(s, p, init)
  local out = {}
  for a, b, c in string.gmatch(s, p, init) do
    out[#out + 1] = tostring(a) .. "," .. tostring(b) .. "," .. tostring(c)
    if #out > 50 then break end
  end
  return table.concat(out, ";")
end
local repl_table = {a = "A", ab = false, b = 7, [""] = "E"}
local function repl_function(a, b) if a == "b" then return nil end return "<" .. tostring(a) .. tostring(b) .. ">" end
function run(kind, s, p, extra)
  if kind == "find" then return show(pcall(string.find, s, p, extra))
  elseif kind == "findplain" then return show(pcall(string.find, s, p, extra, true))
  elseif kind == "match" then return show(pcall(string.match, s, p, extra))
  elseif kind == "gmatch" then return show(pcall(collect, s, p, extra))
  elseif kind == "gsubs" then return show(pcall(string.gsub, s, p, "[%0|%1]%%", extra))
  elseif kind == "gsubt" then return show(pcall(string.gsub, s, p, repl_table, extra))
  elseif kind == "gsubf" then return show(pcall(string.gsub, s, p, repl_function, extra))
  elseif kind == "method" then return show(pcall(function() return s:find(p, extra) end))
  end
end
)lua";

struct States {
    TestBudget unlimited{UINT64_MAX};
    lua_State* standard = luaL_newstate();
    lua_State* bounded = luaL_newstate();
    States() {
        for (lua_State* L : {standard, bounded}) {
            luaL_openlibs(L);
            REQUIRE(luaL_dostring(L, kHarness) == LUA_OK);
        }
        open_bounded_lib(bounded, unlimited);
    }
    ~States() {
        lua_close(standard);
        lua_close(bounded);
    }
    static std::string run(lua_State* L, const char* kind, const std::string& s, const std::string& p,
                           lua_Integer extra, bool with_extra) {
        lua_getglobal(L, "run");
        lua_pushstring(L, kind);
        lua_pushlstring(L, s.data(), s.size());
        lua_pushlstring(L, p.data(), p.size());
        if (with_extra)
            lua_pushinteger(L, extra);
        else
            lua_pushnil(L);
        if (lua_pcall(L, 4, 1, 0) != LUA_OK) return std::string("harness failed: ") + lua_tostring(L, -1);
        std::string out = lua_tostring(L, -1);
        lua_pop(L, 1);
        return out;
    }
    // Every kind of call on (s, p), with and without a start position; the number that differ.
    int compare(const std::string& s, const std::string& p) {
        int differ = 0;
        static const char* const kinds[] = {"find",  "findplain", "match", "gmatch",
                                            "gsubs", "gsubt",     "gsubf", "method"};
        static const lua_Integer extras[] = {0, 1, 2, -1, -3, 100};
        for (const char* kind : kinds) {
            for (int e = -1; e < 6; ++e) {
                const bool with_extra = e >= 0;
                const lua_Integer extra = with_extra ? extras[e] : 0;
                std::string a = run(standard, kind, s, p, extra, with_extra);
                std::string b = run(bounded, kind, s, p, extra, with_extra);
                if (a != b) {
                    ++differ;
                    if (differ <= 5)
                        MESSAGE("differs: ", std::string(kind), " s=\"", s, "\" p=\"", p, "\" extra=", extra,
                                "\n  lua:     ", a, "\n  bounded: ", b);
                }
            }
        }
        return differ;
    }
};

}  // namespace

TEST_CASE("bounded patterns give Lua's results and errors: the manual's cases and malformed patterns") {
    States states;
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"hello world from Lua", "(%w+) (%w+)"},
        {"hello world", "^(h)(.-)(o)"},
        {"key = value", "(%w+)%s*=%s*(%w+)"},
        {"THE (quick) fox", "%((%a+)%)"},
        {"f(a(b)c)d", "%b()"},
        {"THE (quick) fox", "%f[%a]%a+"},
        {"abc", "()a()"},
        {"aaa", "a-"},
        {"aaa", "a-$"},
        {"aaab", "a*b"},
        {"b", "a+b"},
        {"ab", "a?b"},
        {"hello hello", "(h%a+) %1"},
        {"x = 1, y = 2", "(%a)%s*=%s*(%d)"},
        {"[x]", "[]]"},
        {"a-b", "[a-]"},
        {"a^b", "[%^b]+"},
        {"a.b", "%."},
        {"abc", ""},
        {"", ""},
        {"", "a*"},
        {"abc", "$"},
        {"a$b", "$b"},
        {"a$b", "a$"},
        {"^abc", "^^"},
        {"abc", "[^a]"},
        {"ABCdef123", "%u+%l+%d+"},
        {"tab\there", "%c"},
        {"x,y;z", "%p"},
        {"x \n y", "%S+"},
        {"0x1F", "%x+"},
        {"abc", "%g+"},
        {"a\0b", "%z"},
        {std::string("a\0b", 3), std::string("\0", 1)},
        {std::string("a\0b", 3), std::string("[\0]", 3)},
        {"devices/42/temp", "^devices/([^/]+)/(.*)$"},
        // Malformed: each must give Lua's message.
        {"abc", "%"},
        {"abc", "[a"},
        {"abc", "[^"},
        {"abc", "(a"},
        {"abc", "a)"},
        {"abc", "%1"},
        {"abc", "(a)%2"},
        {"abc", "%0"},
        {"abc", "%b"},
        {"abc", "%ba"},
        {"abc", "%f"},
        {"abc", "%fa"},
        {"abc", "(()"},
        {"abc", "[%"},
        {"abc", "[a-"},
        {"aaa", std::string(40, '(') + "a" + std::string(40, ')')},
        {"aaaa", "((((((((((((((((((((((((((((((((((a))))))))))))))))))))))))))))))))))"},
        {std::string(300, 'a'), std::string(250, 'a') + "?"},
    };
    int differ = 0;
    for (const auto& [s, p] : cases)
        differ += states.compare(s, p);
    CHECK(differ == 0);
}

TEST_CASE("bounded patterns give Lua's results on 10,000 random subjects and patterns") {
    States states;
    std::mt19937 random(20261201);
    // Small enough that Lua's own matcher never backtracks for long (subjects up to 10, patterns
    // up to 8 items).
    const std::string subject_chars = std::string("aab(). \0x1]%", 12);
    const char* const pieces[] = {"a",     "b",   ".",  "%a", "%d",   "%s",   "%S",    "[ab]",   "[^a]",
                                  "[a-c]", "[]]", "(",  ")",  "()",   "*",    "+",     "-",      "?",
                                  "^",     "$",   "%1", "%2", "%bab", "%b()", "%f[a]", "%f[%s]", "%",
                                  "[",     "%x",  "%.", "%%", "x",    "1"};
    int differ = 0;
    for (int i = 0; i < 10000 && differ < 5; ++i) {
        std::string s, p;
        for (size_t n = random() % 11; n > 0; --n)
            s += subject_chars[random() % subject_chars.size()];
        for (size_t n = random() % 9; n > 0; --n)
            p += pieces[random() % std::size(pieces)];
        differ += states.compare(s, p);
    }
    CHECK(differ == 0);
}

TEST_CASE("a pattern that backtracks for minutes stops at the budget, quickly") {
    TestBudget budget{1'000'000};
    lua_State* L = luaL_newstate();
    luaL_openlibs(L);
    open_bounded_lib(L, budget);
    // Lua's own matcher takes about 30 s for 24 bytes and 12 repetitions; this is far worse.
    const auto start = std::chrono::steady_clock::now();
    REQUIRE(luaL_loadstring(L, "return string.find(('a'):rep(40), ('a*'):rep(20) .. 'b')") == LUA_OK);
    CHECK(lua_pcall(L, 0, LUA_MULTRET, 0) != LUA_OK);
    CHECK(std::string(lua_tostring(L, -1)).find("budget spent in string.find") != std::string::npos);
    CHECK(budget.left == 0);
    lua_settop(L, 0);
    for (const char* code :
         {"return ('x'):rep(30):gsub(('x-'):rep(15) .. 'y', '')",
          "for a in ('x'):rep(30):gmatch(('x*'):rep(15) .. 'y') do end",
          "return ('x'):rep(30):match(('.-'):rep(15) .. 'y')", "return (('('):rep(3000)):find('%b()')"}) {
        budget.left = 1'000'000;
        REQUIRE(luaL_loadstring(L, code) == LUA_OK);
        CHECK_MESSAGE(lua_pcall(L, 0, LUA_MULTRET, 0) != LUA_OK, code);
        lua_settop(L, 0);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(seconds < 5.0);  // each stop is a million steps, milliseconds; not a timing target
    lua_close(L);
}

TEST_CASE("string.rep of nothing and table.move of a huge range do not loop; ordinary calls still work") {
    TestBudget budget{1'000'000};
    lua_State* L = luaL_newstate();
    luaL_openlibs(L);
    open_bounded_lib(L, budget);
    auto run = [&](const char* code) {
        REQUIRE(luaL_loadstring(L, code) == LUA_OK);
        int status = lua_pcall(L, 0, 1, 0);
        std::string out = lua_tostring(L, -1) ? lua_tostring(L, -1) : "";
        lua_settop(L, 0);
        return std::make_pair(status, out);
    };
    // Lua's own rep makes 1e18 empty copies one at a time; the result is "" at once.
    CHECK(run("return '[' .. string.rep('', 1e18) .. string.rep('', 1e18, '') .. ']'") ==
          std::make_pair(LUA_OK, std::string("[]")));
    CHECK(run("return string.rep('ab', 3, ',')") == std::make_pair(LUA_OK, std::string("ab,ab,ab")));
    CHECK(run("return string.rep('x', 0)") == std::make_pair(LUA_OK, std::string("")));
    // Lua's own move would visit 1e18 indices.
    auto [status, message] = run("table.move({}, 1, 1e18, 1)");
    CHECK(status != LUA_OK);
    CHECK(message.find("budget spent in table.move") != std::string::npos);
    budget.left = 1'000'000;
    CHECK(run("local t = table.move({1, 2, 3}, 1, 3, 2) return table.concat(t, ',')") ==
          std::make_pair(LUA_OK, std::string("1,1,2,3")));
    CHECK(run("local t = table.move({1, 2, 3}, 2, 1, 1) return #t") ==
          std::make_pair(LUA_OK, std::string("3")));
    // The widest range there is (one more than 2^64 - 1 indices) is refused too.
    std::tie(status, message) = run("table.move({}, math.mininteger, math.maxinteger, 1)");
    CHECK(status != LUA_OK);
    lua_close(L);
}

namespace {

// Runs `code` (a chunk that returns one value) in a state: "ok: <value>" or "error: <message>".
std::string evaluate(lua_State* L, const std::string& code) {
    if (luaL_loadstring(L, code.c_str()) != LUA_OK) return std::string("load: ") + lua_tostring(L, -1);
    const int status = lua_pcall(L, 0, 1, 0);
    const char* text = lua_tostring(L, -1);
    std::string out =
        (status == LUA_OK ? "ok: " : "error: ") + std::string(text ? text : luaL_typename(L, -1));
    lua_settop(L, 0);
    return out;
}

}  // namespace

TEST_CASE("bounded table.insert, remove, concat, sort and coroutine.resume, wrap, close give Lua's results") {
    States states;
    const char* const cases[] = {
        "local t = {5, 2, 8, 1, 9, 3} table.sort(t) return table.concat(t, ',')",
        "local t = {5, 2, 8, 1, 9, 3} table.sort(t, function(a, b) return a > b end) return table.concat(t, "
        "',')",
        "local t = {} for i = 1, 500 do t[i] = (i * 7919) % 1000 end table.sort(t) return table.concat(t, "
        "',')",
        "local t = {} for i = 1, 100 do t[i] = i end table.sort(t, function() return true end) return 1",
        "table.sort({1, 'x', 2})",
        "table.sort(5)",
        "table.sort({1, 2}, 3)",
        "local t = {1, 2, 3} table.insert(t, 2, 9) table.insert(t, 7) return table.concat(t, ',')",
        "table.insert({1, 2}, 5, 0)",
        "table.insert({1, 2}, 0, 0)",
        "table.insert({}, 1, 2, 3)",
        "table.insert({})",
        "local t = {1, 2, 3} local a = table.remove(t) local b = table.remove(t, 1) "
        "return a .. b .. #t .. tostring(table.remove({}))",
        "table.remove({1, 2, 3}, 7)",
        "return tostring(table.remove({}, 0)) .. tostring(table.remove({1}, 2))",
        "return table.concat({1, 2, 'a'}, '-', 2, 3)",
        "table.concat({1, {}, 3})",
        "return '[' .. table.concat({}, 'x', 3, 1) .. ']'",
        "table.concat('abc')",
        // A proxy: the functions go through __index, __newindex and __len as Lua's own do.
        "local store = {3, 1, 2} local log = {} "
        "local p = setmetatable({}, {__index = function(_, k) log[#log + 1] = 'r' .. k return store[k] end, "
        "__newindex = function(_, k, v) log[#log + 1] = 'w' .. k store[k] = v end, __len = function() return "
        "#store end}) "
        "table.insert(p, 1, 0) table.remove(p, 2) table.sort(p) "
        "return table.concat(p, ',') .. ' ' .. table.concat(log, ',')",
        "local co = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) "
        "return co(1) .. ',' .. co(5)",
        "local co = coroutine.wrap(function() error('x') end) co()",
        "local co = coroutine.wrap(function() error({}) end) local ok, e = pcall(co) return type(e)",
        "local co = coroutine.wrap(function() end) co() co()",
        "local co = coroutine.create(function(...) coroutine.yield(...) return 'done' end) "
        "local a = {coroutine.resume(co, 1, 2)} local b = {coroutine.resume(co)} local c = "
        "{coroutine.resume(co)} "
        "return #a .. tostring(a[3]) .. tostring(b[2]) .. tostring(c[1]) .. tostring(c[2])",
        "return select(2, coroutine.resume(coroutine.running()))",
        "coroutine.resume(5)",
        "coroutine.wrap(5)",
        "local co = coroutine.create(function() local x <close> = setmetatable({}, {__close = function() "
        "CLOSED = true end}) coroutine.yield() end) coroutine.resume(co) "
        "return tostring(coroutine.close(co)) .. tostring(CLOSED) .. coroutine.status(co)",
        "coroutine.close(5)",
        "return table.concat({table.unpack({1, 2, 3})}, ',') .. select('#', table.unpack({}, 1, 3))",
        "return select('#', table.unpack({1, 2, 3}, 3, 2)) .. table.concat({table.unpack({1, 2, 3}, -1, 1)}, "
        "',')",
        "table.unpack({}, 1, 1e8)",
        "table.unpack(5)",
        "return table.concat({string.byte('hello', 2, 4)}, ',') .. select('#', string.byte(''))",
        "return table.concat({string.byte('abc', -10, 10)}, ',') .. string.byte('abc', -1)",
        "return table.concat({utf8.codepoint('h\195\169llo', 1, -1)}, ',')",
        "utf8.codepoint('abc', 5)",
        "utf8.codepoint('\255')",
    };
    for (const char* code : cases) {
        CAPTURE(code);
        CHECK(evaluate(states.bounded, code) == evaluate(states.standard, code));
    }
}

TEST_CASE("table functions over a huge #t (a __len, C functions as __index/__newindex) stop at the budget") {
    TestBudget budget{1'000'000};
    lua_State* L = luaL_newstate();
    luaL_openlibs(L);
    open_bounded_lib(L, budget);
    REQUIRE(luaL_dostring(L,
                          "function huge(n) return setmetatable({}, {__len = function() return n end, "
                          "__index = rawlen, __newindex = rawequal}) end") == LUA_OK);
    const auto start = std::chrono::steady_clock::now();
    const std::pair<const char*, const char*> cases[] = {
        {"table.insert(huge(math.maxinteger - 1), 1, 0)", "budget spent in table.insert"},
        {"table.remove(huge(math.maxinteger), 1)", "budget spent in table.remove"},
        {"table.concat(huge(math.maxinteger))", "budget spent in table.concat"},
        {"table.sort(huge(1 << 30))", "budget spent in table.sort"},
        {"table.unpack(huge(900000))", "budget spent in table.unpack"},
        {"utf8.codepoint(('x'):rep(900000), 1, -1)", "budget spent in utf8.codepoint"},
        {"string.byte(('x'):rep(2000000), 1, -1)", "budget spent in string.byte"},
    };
    for (const auto& [code, expected] : cases) {
        CAPTURE(code);
        budget.left = 500'000;
        const std::string out = evaluate(L, code);
        CHECK_MESSAGE(out.find(expected) != std::string::npos, out);
    }
    CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(5));
    lua_close(L);
}
