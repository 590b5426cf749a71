// The lua plugin against hostile scripts and hostile clients: the ways a script could run outside
// its instruction budget (finalizers, fresh coroutines, table functions over a huge #t, work on
// long strings inside one instruction, the metamethods of what it returns) and the CPU-time
// backstop, the memory cap and string.format's limits, an on_auth that raises, per-worker
// globals, and what a client controls (a JWT, its client id, a user name with a newline) fed to
// the shipped scripts. In each case the offending call answers as documented, the log says why,
// and other clients carry on.
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>

#include "lua_test_util.hpp"

using namespace lua_test;

namespace {

const char kHostile[] = R"LUA(
work = 0
-- A proxy whose #t is `len`, read and written by C functions: no VM instruction per index.
local function huge(len)
  return setmetatable({}, {__len = function() return len end, __index = rawlen, __newindex = rawequal})
end

function on_acl(client, action, topic, qos, retain)
  if action ~= "publish" then return true end
  if topic == "gc/table" then
    -- Lua runs finalizers with hooks off: this one would never stop.
    setmetatable({}, {__gc = function() while true do end end})
  elseif topic == "gc/file" then
    local f = assert(io.open(SELF))
    if getmetatable(f) == "FILE*" and getmetatable("") == "string" then
      f:close()
      return true
    end
    getmetatable(f).__gc = function() while true do end end
    f = nil
    collectgarbage()
  elseif topic == "co/wrap" then
    while true do
      coroutine.wrap(function() for i = 1, 200 do work = work + 1 end end)()
    end
  elseif topic == "co/resume" then
    while true do
      coroutine.resume(coroutine.create(function() for i = 1, 200 do work = work + 1 end end))
    end
  elseif topic == "co/report" then
    roost.no_cache()
    local w = work
    work = 0
    roost.log("coroutine work " .. w)
    return w > 0 and w < BUDGET
  elseif topic == "co/ok" then
    local gen = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end)
    local co = coroutine.create(function() error("inside") end)
    local ok, err = coroutine.resume(co)
    local ok2, err2 = pcall(coroutine.wrap(function() error("wrapped") end))
    return gen(1) == 2 and gen(5) == 10 and not ok and err:find("inside") and not ok2 and
           err2:find("wrapped") and coroutine.status(co) == "dead"
  elseif topic == "table/insert" then
    table.insert(huge(math.maxinteger - 1), 1, 0)
  elseif topic == "table/remove" then
    table.remove(huge(math.maxinteger), 1)
  elseif topic == "table/sort" then
    table.sort(huge(1 << 30))
  elseif topic == "table/concat" then
    table.concat(huge(math.maxinteger))
  elseif topic == "table/ok" then
    local t = {5, 3, 9, 1}
    table.sort(t)
    table.insert(t, 1, 0)
    table.insert(t, 10)
    local removed = table.remove(t, 2)
    local words = {"pear", "fig", "apple"}
    table.sort(words, function(a, b) return #a < #b end)
    return table.concat(t, ",") == "0,3,5,9,10" and removed == 1 and table.concat(words, " ") == "fig pear apple"
  elseif topic == "format/width" then
    return string.format("%99999d", 1) ~= nil
  elseif topic == "memory/concat" then
    local mib, parts = ("x"):rep(1 << 20), {}
    for i = 1, 64 do parts[i] = mib end
    return #table.concat(parts) > 0
  elseif topic == "work/upper" then
    local big = ("x"):rep(1 << 20)
    while true do local _ = big:upper() end
  elseif topic == "work/sha256" then
    local big = ("x"):rep(1 << 20)
    while true do roost.sha256(big) end
  elseif topic == "work/find" then
    local big = ("x"):rep(1 << 20)
    while true do big:find("y", 1, true) end
  elseif topic == "work/compare" then
    -- Two equal 8 MiB strings: each == compares them byte by byte inside one VM instruction,
    -- allocating nothing, so the counted work stays small while the CPU time grows, until the
    -- backstop stops it.
    local a, b = ("x"):rep(8 << 20), ("x"):rep(8 << 20)
    while true do local _ = (a == b) end
  elseif topic == "work/byte" then
    local big = ("x"):rep(500000)
    while true do big:byte(1, -1) end
  elseif topic == "work/gc" then
    local big = ("x"):rep(4 << 20)
    while true do collectgarbage() end
  elseif topic == "reason/loop" then
    return false, setmetatable({}, {__tostring = function() while true do end end})
  elseif topic == "reason/error" then
    return false, setmetatable({}, {__tostring = function() error("boom") end})
  end
  return true
end

function on_auth(client)
  if client.username == "crash" then
    error("auth exploded")
  elseif client.username == "tostring" then
    -- An error object whose __tostring never returns: the plugin never calls it.
    error(setmetatable({}, {__tostring = function() while true do end end}))
  end
  return true
end

-- A global: each worker's state has its own.
function on_connect(client)
  connects = (connects or 0) + 1
  roost.log("state worker=" .. roost.worker .. " connects=" .. connects)
end

function on_message(client, msg)
  if msg.topic == "meta/index" then
    return setmetatable({}, {__index = function() while true do end end})
  elseif msg.topic == "meta/index-error" then
    return setmetatable({}, {__index = function() error("boom") end})
  elseif msg.topic == "meta/property-nul" then
    return {topic = "meta/rewritten", user_properties = {{"k", "bad\0value"}}}
  elseif msg.topic == "meta/property-utf8" then
    return {topic = "meta/rewritten", user_properties = {{"k\255", "v"}}}
  elseif msg.topic == "meta/topic-utf8" then
    return {topic = "meta/\237\160\128"}  -- a UTF-16 surrogate, encoded: not UTF-8
  end
  return nil
end
)LUA";

constexpr int kBudget = 200000;

// The hostile script with its own path and the budget in globals.
std::string hostile_script() {
    std::string path = temp_path("hostile.lua");
    write_file(path, "SELF = '" + path + "'\nBUDGET = " + std::to_string(kBudget) + "\n" + kHostile);
    return path;
}

Setup hostile_setup(std::vector<std::pair<std::string, std::string>> more = {}) {
    more.insert(more.begin(), {"instruction_budget", std::to_string(kBudget)});
    return lua_setup(hostile_script(), std::move(more));
}

const std::optional<uint8_t> kError = 0x83;

}  // namespace

TEST_CASE("finalizers: a __gc metamethod is refused, file handles' and strings' metatables are locked") {
    PluginBroker b(hostile_setup());
    auto c = connected(b, 5, "finalizer");
    // Before: accepted, and the collector later ran the loop with hooks off (the worker hung).
    CHECK(publish_qos1(*c, 1, "gc/table") == kError);
    CHECK_MESSAGE(b.wait_line({"hostile.lua in on_acl: ", "hostile.lua:14:",
                               "a __gc metamethod is not allowed in the sandbox", "[answer: deny]"}),
                  tail(b.log()));
    // Before: getmetatable(file).__gc could be replaced by a Lua loop.
    CHECK_MESSAGE(success(publish_qos1(*c, 2, "gc/file")), tail(b.log()));
    CHECK(success(publish_qos1(*c, 3, "fine/after-gc")));
    canary_round_trip(b, "gc");
}

TEST_CASE("coroutines: each resume is counted, so fresh coroutines cannot run outside the budget") {
    PluginBroker b(hostile_setup());
    auto c = connected(b, 5, "coroutines");
    const auto start = std::chrono::steady_clock::now();
    uint16_t id = 1;
    for (const char* topic : {"co/wrap", "co/resume"}) {
        INFO("topic ", std::string(topic));
        CHECK(publish_qos1(*c, id++, topic, "m", 10s) == kError);
        // The loop's work: under the budget (each `work = work + 1` is several instructions).
        // Before: the hook counted only the main thread's instructions, and this reached millions.
        size_t from = b.log_size();
        CHECK(success(publish_qos1(*c, id++, "co/report")));
        CHECK_MESSAGE(b.wait_line({"coroutine work "}, 3s, from), tail(b.log()));
    }
    CHECK_MESSAGE(b.wait_line({"hostile.lua in on_acl: ", "instruction budget of 200000 exceeded"}),
                  tail(b.log()));
    CHECK(std::chrono::steady_clock::now() - start < 10s);
    // Ordinary coroutines behave as Lua's own: yield, resume, errors, wrap.
    CHECK(success(publish_qos1(*c, id++, "co/ok")));
    canary_round_trip(b, "co");
}

TEST_CASE("table.insert, remove, sort and concat over a huge #t stop at the budget") {
    PluginBroker b(hostile_setup());
    auto c = connected(b, 5, "tables");
    const auto start = std::chrono::steady_clock::now();
    uint16_t id = 1;
    for (const char* f : {"insert", "remove", "sort", "concat"}) {
        CAPTURE(f);
        size_t from = b.log_size();
        // Before: 2^63 (or 2^30 log 2^30) steps in one C call: the worker never came back.
        CHECK(publish_qos1(*c, id++, std::string("table/") + f, "m", 10s) == kError);
        CHECK_MESSAGE(b.wait_line({"hostile.lua in on_acl: ",
                                   "instruction budget of 200000 exceeded in table.", "[answer: deny]"},
                                  3s, from),
                      tail(b.log()));
        CHECK(run(pub(b, {"-t", std::string("canary/") + f, "-m", "x"})).exit_code == 0);
    }
    CHECK(std::chrono::steady_clock::now() - start < 20s);
    CHECK(success(publish_qos1(*c, id++, "table/ok")));
    canary_round_trip(b, "tables");
}

TEST_CASE(
    "work on a long string inside one instruction is counted: allocations, hashing, search, collection") {
    PluginBroker b(hostile_setup());
    auto c = connected(b, 5, "long-strings");
    const auto start = std::chrono::steady_clock::now();
    // Before: each loop turn was a few instructions and up to milliseconds of C work on a MiB,
    // so the budget of 200,000 instructions let a call run for a minute or more.
    const std::pair<const char*, const char*> cases[] = {
        {"work/upper", "instruction budget of 200000 exceeded"},
        {"work/sha256", "exceeded in roost.sha256"},
        {"work/find", "exceeded in string.find"},
        {"work/gc", "exceeded in collectgarbage"},
    };
    uint16_t id = 1;
    for (const auto& [topic, expected] : cases) {
        INFO("topic ", std::string(topic));
        size_t from = b.log_size();
        CHECK_MESSAGE(publish_qos1(*c, id++, topic, "m", 10s) == kError, tail(b.log()));
        CHECK_MESSAGE(b.wait_line({"hostile.lua in on_acl: ", expected}, 3s, from), tail(b.log()));
    }
    CHECK(std::chrono::steady_clock::now() - start < 20s);
    CHECK(success(publish_qos1(*c, id++, "table/ok")));
    canary_round_trip(b, "long-strings");
}

TEST_CASE("the CPU-time backstop: a loop of single instructions that each compare 8 MiB stops") {
    // Budget 1,000,000: the backstop is max(1 s, 100 ns per instruction) of the thread's CPU time.
    PluginBroker b(lua_setup(hostile_script(), {{"instruction_budget", "1000000"}}));
    auto c = connected(b, 5, "compare");
    const auto start = std::chrono::steady_clock::now();
    // Before: about a minute of comparing within the budget.
    CHECK(publish_qos1(*c, 1, "work/compare", "m", 15s) == kError);
    CHECK_MESSAGE(b.wait_line({"hostile.lua in on_acl: ",
                               "instruction budget of 1000000 exceeded: CPU time over 1000 ms"}),
                  tail(b.log()));
    CHECK(std::chrono::steady_clock::now() - start < 15s);
    // string.byte over a range spends a step per byte: a loop of it meets the budget itself.
    CHECK(publish_qos1(*c, 2, "work/byte", "m", 15s) == kError);
    CHECK_MESSAGE(b.wait_line({"hostile.lua in on_acl: ", "exceeded in string.byte"}), tail(b.log()));
    CHECK(success(publish_qos1(*c, 3, "table/ok")));
}

TEST_CASE("string.format's width limit and the memory cap on table.concat: an error, logged, state intact") {
    PluginBroker b(hostile_setup({{"memory_limit", "16MiB"}}));
    auto c = connected(b, 5, "formats");
    CHECK(publish_qos1(*c, 1, "format/width") == kError);
    CHECK_MESSAGE(b.wait_line({"hostile.lua in on_acl: ", "invalid conversion", "%99999d", "[answer: deny]"}),
                  tail(b.log()));
    CHECK(publish_qos1(*c, 2, "memory/concat") == kError);
    CHECK_MESSAGE(b.wait_line({"hostile.lua in on_acl: ", "not enough memory (memory_limit 16 MiB)"}),
                  tail(b.log()));
    CHECK(success(publish_qos1(*c, 3, "table/ok")));
    canary_round_trip(b, "memory");
}

TEST_CASE("what a hook returns is read without running its metamethods") {
    PluginBroker b(hostile_setup());
    auto c = connected(b, 5, "returns");
    // A reason code with __tostring: before, the log line called it outside the budget and
    // outside a protected call (a loop hung the worker, an error aborted the broker).
    CHECK(publish_qos1(*c, 1, "reason/loop") == std::optional<uint8_t>(0x87));
    CHECK(publish_qos1(*c, 2, "reason/error") == std::optional<uint8_t>(0x87));
    CHECK_MESSAGE(b.wait_line({"hostile.lua: on_acl returned false with reason code a table"}),
                  tail(b.log()));
    // A rewrite table with __index: read raw, so it has no topic.
    CHECK(publish_qos1(*c, 3, "meta/index") == kError);
    CHECK(publish_qos1(*c, 4, "meta/index-error") == kError);
    CHECK_MESSAGE(b.wait_line({"on_message returned a message whose topic is missing"}), tail(b.log()));
    // What a subscriber's client would choke on: a NUL or invalid UTF-8 in a user property or topic.
    size_t from = b.log_size();
    CHECK(publish_qos1(*c, 5, "meta/property-nul") == kError);
    CHECK(publish_qos1(*c, 6, "meta/property-utf8") == kError);
    CHECK_MESSAGE(
        b.wait_line({"on_message returned user property 1 that is not an MQTT UTF-8 string"}, 3s, from),
        tail(b.log()));
    CHECK(publish_qos1(*c, 7, "meta/topic-utf8") == kError);
    CHECK_MESSAGE(b.wait_line({"not a topic name", "not UTF-8"}, 3s, from), tail(b.log()));
    CHECK(b.running());
    canary_round_trip(b, "returns");
}

TEST_CASE("scripts/jwt_auth.lua against hostile tokens and client ids") {
    std::string secret = temp_path("hs.secret");
    write_file(secret, "s3cret\n");
    PluginBroker b(
        lua_setup(std::string(ROOST_SCRIPTS_DIR) + "/jwt_auth.lua", {{"jwt_secret_file", secret}}));
    auto b64 = [](const std::string& s) {
        static const char* a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        std::string out;
        size_t i = 0;
        for (; i + 2 < s.size(); i += 3) {
            uint32_t v =
                (uint32_t(uint8_t(s[i])) << 16) | (uint32_t(uint8_t(s[i + 1])) << 8) | uint8_t(s[i + 2]);
            out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63], a[v & 63]};
        }
        if (i + 1 == s.size()) {
            uint32_t v = uint32_t(uint8_t(s[i])) << 16;
            out += {a[v >> 18], a[(v >> 12) & 63]};
        } else if (i + 2 == s.size()) {
            uint32_t v = (uint32_t(uint8_t(s[i])) << 16) | (uint32_t(uint8_t(s[i + 1])) << 8);
            out += {a[v >> 18], a[(v >> 12) & 63], a[(v >> 6) & 63]};
        }
        return out;
    };
    const std::string claims = b64("{\"exp\":9999999999,\"publish\":[\"devices/%c/up\"]}");
    std::string nested = "{\"alg\":\"HS256\",\"x\":" + std::string(5000, '[') + std::string(5000, ']') + "}";
    const std::vector<std::pair<std::string, std::string>> tokens = {
        // The header's "alg" is not a string: before, the script raised (0x83 instead of 0x86).
        {"alg-number", b64("{\"alg\":1}") + "." + claims + ".x"},
        {"alg-table", b64("{\"alg\":{\"a\":1}}") + "." + claims + ".x"},
        {"alg-none", b64("{\"alg\":\"none\"}") + "." + claims + "."},
        {"not-json", b64("not json") + "." + claims + ".x"},
        {"bad-base64", "!!!." + claims + ".x"},
        {"nested", b64(nested) + "." + claims + ".x"},
        {"oversized", b64("{\"alg\":\"HS256\"}") + "." + std::string(60000, 'A') + ".x"},
    };
    for (const auto& [name, token] : tokens) {
        CAPTURE(name);
        CHECK(connack(b, 5, "jwt-" + name, std::string("device"), token) == std::optional<uint8_t>(0x86));
        CHECK(connack(b, 4, "jwt4-" + name, std::string("device"), token) == std::optional<uint8_t>(4));
    }
    CHECK_MESSAGE(b.wait_line({"client jwt-alg-number from ", "JWT refused: not a JWT"}), tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"client jwt-alg-none from ", "JWT refused: no public key for none"}),
                  tail(b.log()));
    CHECK(lines_with(b.log(), {"jwt_auth.lua in on_auth"}).empty());  // no script error at all
    CHECK(b.running());
}

TEST_CASE("scripts/acl.lua: a user name with a newline cannot forge a log line") {
    std::string passwd = temp_path("users.passwd");
    write_file(passwd, "");
    std::string acl = temp_path("users.acl");
    write_file(acl, "topic readwrite #\n");
    Setup setup = lua_setup(std::string(ROOST_SCRIPTS_DIR) + "/acl.lua",
                            {{"password_file", passwd}, {"acl_file", acl}});
    // The broker refuses control characters in a user name by default; a broker that allows
    // them (or an MQTT 3.1.1 password, a topic) still must not let a script's log line be forged.
    setup.broker.push_back("allow_control_characters = true");
    PluginBroker b(std::move(setup));
    CHECK(connack(b, 4, "forger", std::string("x\n2026-01-01 00:00:00 INFO forged"), std::string("pw")) ==
          std::optional<uint8_t>(4));
    CHECK_MESSAGE(b.wait_line({"refused x\\x0a2026-01-01 00:00:00 INFO forged from "}), tail(b.log()));
    CHECK(lines_with(b.log(), {"forged from"}).size() == 1);
    CHECK(b.running());
}

TEST_CASE(
    "on_auth that raises: CONNACK 0x83 (3.1.1: 3), the log names script and line; an error object is never "
    "tostring'd") {
    PluginBroker b(hostile_setup());
    CHECK(connack(b, 5, "crasher", std::string("crash"), std::string("pw")) == std::optional<uint8_t>(0x83));
    CHECK(connack(b, 4, "crasher4", std::string("crash"), std::string("pw")) == std::optional<uint8_t>(3));
    CHECK_MESSAGE(
        b.wait_line({"hostile.lua in on_auth: ", "hostile.lua:", "auth exploded", "[answer: deny]"}),
        tail(b.log()));
    CHECK(connack(b, 5, "tostringer", std::string("tostring"), std::string("pw")) ==
          std::optional<uint8_t>(0x83));
    CHECK_MESSAGE(b.wait_line({"hostile.lua in on_auth: ", "(error object is a table value)"}),
                  tail(b.log()));
    auto c = connected(b, 5, "after-crash");
    CHECK(success(publish_qos1(*c, 1, "fine/after-crash")));
}

TEST_CASE("globals are per worker: each worker's state counts its own connections") {
    PluginBroker b(hostile_setup());
    std::vector<std::unique_ptr<WireClient>> clients;
    for (int i = 0; i < 8; ++i)
        clients.push_back(connected(b, 5, "counted-" + std::to_string(i)));
    CHECK_MESSAGE(b.wait_line({"state worker="}), tail(b.log()));
    settle(300ms);
    // Per worker, its count goes 1, 2, 3, ...: no state sees another's global.
    std::map<std::string, int> last;
    size_t lines = 0;
    for (const std::string& line : lines_with(b.log(), {"state worker="})) {
        size_t w = line.find("worker="), n = line.find(" connects=");
        REQUIRE(w != std::string::npos);
        REQUIRE(n != std::string::npos);
        std::string worker = line.substr(w + 7, n - w - 7);
        int count = std::stoi(line.substr(n + 10));
        CHECK_MESSAGE(count == last[worker] + 1, line);
        last[worker] = count;
        ++lines;
    }
    CHECK(lines == 8);
    const char* workers = std::getenv("ROOST_TEST_WORKERS");
    MESSAGE("workers seen: ", last.size(), " (ROOST_TEST_WORKERS=", workers ? workers : "unset", ")");
}
