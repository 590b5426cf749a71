// The lua plugin when scripts go wrong: an endless loop (stopped by the instruction budget), a
// runtime error (fail closed, or open when configured), a huge allocation (the memory cap), a
// script that does not compile at start (exit status 2, file:line) and at reload (the old script
// stays). In each case the broker keeps serving the other clients.
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>

#include "lua_test_util.hpp"

using namespace lua_test;

namespace {

const char kTrouble[] = R"LUA(
function on_acl(client, action, topic, qos, retain)
  if action ~= "publish" then return true end
  if topic == "trouble/loop" then
    while true do end
  elseif topic == "trouble/pcall-loop" then
    while true do pcall(function() while true do end end) end
  elseif topic == "trouble/error" then
    local t = nil
    return t.field
  elseif topic == "trouble/alloc" then
    local s = string.rep("x", 1 << 30)
    return true
  elseif topic == "trouble/grow" then
    local t = {}
    for i = 1, 1e9 do t[i] = tostring(i) .. "padding padding padding" end
  elseif topic == "trouble/pattern" then
    -- Lua's own matcher backtracks here for hours, inside one C call the count hook never sees.
    local ok = pcall(string.find, ("a"):rep(40), ("a*"):rep(20) .. "b")
    return ok
  elseif topic == "trouble/rep" then
    return string.rep("", 1e18) == ""
  elseif topic == "trouble/move" then
    table.move({}, 1, 1e18, 1)
  elseif topic == "trouble/patterns-ok" then
    local device, rest = topic:match("^trouble/(%a+)%-(%a+)$")
    return device == "patterns" and rest == "ok" and (("a,b,c"):gsub(",", ";")) == "a;b;c"
  end
  return true
end
)LUA";

}  // namespace

TEST_CASE("an endless loop is stopped by the instruction budget: deny, the log names script and line") {
    PluginBroker b(lua_setup(write_script("trouble", kTrouble), {{"instruction_budget", "200000"}}));
    auto c = connected(b, 5, "looper");
    Sub canary(b, {"-t", "canary/#", "-V", "mqttv5"});
    REQUIRE(canary.wait_subscribed());
    for (uint16_t i = 1; i <= 5; ++i) {
        CHECK(publish_qos1(*c, i, "trouble/loop") == std::optional<uint8_t>(0x83));
        auto r = run(pub(b, {"-t", "canary/" + std::to_string(i), "-m", "x"}));
        CHECK_MESSAGE(r.exit_code == 0, r.err);
    }
    // A pcall in the script cannot swallow the stop.
    CHECK(publish_qos1(*c, 9, "trouble/pcall-loop") == std::optional<uint8_t>(0x83));
    CHECK(canary.wait_messages(5));
    CHECK(success(publish_qos1(*c, 10, "fine/after")));
    CHECK_MESSAGE(b.wait_line({"trouble.lua in on_acl: ",
                               "trouble.lua:5: instruction budget of 200000 exceeded", "[answer: deny]"}),
                  tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"trouble.lua:7: instruction budget"}), tail(b.log()));
    canary_round_trip(b, "end");
}

TEST_CASE("work inside one C call is counted too: a backtracking pattern, string.rep and table.move stop") {
    PluginBroker b(lua_setup(write_script("trouble", kTrouble), {{"instruction_budget", "200000"}}));
    auto c = connected(b, 5, "backtracker");
    Sub canary(b, {"-t", "canary/#", "-V", "mqttv5"});
    REQUIRE(canary.wait_subscribed());
    const auto start = std::chrono::steady_clock::now();
    // The pcall around string.find cannot swallow the stop either.
    CHECK(publish_qos1(*c, 1, "trouble/pattern") == std::optional<uint8_t>(0x83));
    CHECK(run(pub(b, {"-t", "canary/1", "-m", "x"})).exit_code == 0);
    CHECK(publish_qos1(*c, 2, "trouble/move") == std::optional<uint8_t>(0x83));
    // string.rep of nothing is "" at once, as Lua's own would be after 1e18 empty copies.
    CHECK(success(publish_qos1(*c, 3, "trouble/rep")));
    CHECK(success(publish_qos1(*c, 4, "trouble/patterns-ok")));
    CHECK(canary.wait_messages(1));
    // Each stop is 200,000 steps: milliseconds. (Not a timing target: Lua's own matcher would
    // still be on the first publish.)
    CHECK(std::chrono::steady_clock::now() - start < 10s);
    // Raised again at the script's next instruction, after its pcall: the log still names the cause.
    CHECK_MESSAGE(b.wait_line({"trouble.lua in on_acl: ",
                               "trouble.lua:20: instruction budget of 200000 exceeded in string.find",
                               "[answer: deny]"}),
                  tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"instruction budget of 200000 exceeded in table.move"}), tail(b.log()));
    canary_round_trip(b, "patterns");
}

TEST_CASE("a runtime error denies (fail closed) and logs the traceback; on_error = allow fails open") {
    {
        PluginBroker b(lua_setup(write_script("trouble", kTrouble)));
        auto c = connected(b, 5, "erring");
        CHECK(publish_qos1(*c, 1, "trouble/error") == std::optional<uint8_t>(0x83));
        CHECK(success(publish_qos1(*c, 2, "fine/x")));
        CHECK_MESSAGE(b.wait_line({"trouble.lua in on_acl: ", "trouble.lua:10: attempt to index a nil value",
                                   "[answer: deny]; traceback: ", "trouble.lua:10: in function 'on_acl'"}),
                      tail(b.log()));
        canary_round_trip(b, "closed");
    }
    {
        PluginBroker b(lua_setup(write_script("trouble", kTrouble), {{"on_error", "allow"}}));
        Sub s(b, {"-t", "trouble/#", "-C", "1", "-W", "5"});
        REQUIRE(s.wait_subscribed());
        auto c = connected(b, 5, "erring-open");
        CHECK(success(publish_qos1(*c, 1, "trouble/error")));
        CHECK(s.finish() == std::vector<std::string>{"trouble/error|m"});
        CHECK(b.wait_line(
            {"trouble.lua:10: attempt to index a nil value", "[answer: allow (on_error = \"allow\")]"}));
    }
}

TEST_CASE("a huge allocation meets the memory cap: deny, and the state keeps working") {
    PluginBroker b(lua_setup(write_script("trouble", kTrouble),
                             {{"memory_limit", "16MiB"}, {"instruction_budget", "100000000"}}));
    auto c = connected(b, 5, "hog");
    CHECK(publish_qos1(*c, 1, "trouble/alloc") == std::optional<uint8_t>(0x83));
    CHECK(success(publish_qos1(*c, 2, "fine/1")));
    CHECK(publish_qos1(*c, 3, "trouble/grow", "m", 10s) == std::optional<uint8_t>(0x83));
    CHECK(success(publish_qos1(*c, 4, "fine/2")));
    CHECK_MESSAGE(
        b.wait_line({"trouble.lua in on_acl: ", "not enough memory (memory_limit 16 MiB): stopped"}),
        tail(b.log()));
    canary_round_trip(b, "mem");
}

TEST_CASE("a script that does not compile at start: a clear error with file:line, exit status 2") {
    std::string bad = write_script("broken", "function on_acl(client)\n  return true\n  if then\nend\n");
    auto failed = start_expecting_failure(lua_setup(bad));
    CHECK(failed.result.exit_code == 2);
    CHECK_MESSAGE(contains_ci(failed.result.err, "broken.lua:3:"), failed.result.err);
    CHECK_MESSAGE(contains_ci(failed.result.err, "plugin 'lua'"), failed.result.err);
    // --check-config says the same.
    auto check = run({ROOST_BINARY, "-c", failed.config.path, "--check-config"});
    CHECK(check.exit_code == 2);
    CHECK_MESSAGE(contains_ci(check.out + check.err, "broken.lua:3:"), check.out << check.err);

    // A top level that fails when it runs, a missing script, a misspelt option: the same way.
    auto runtime = start_expecting_failure(lua_setup(write_script("toplevel", "local x = nil\nx.y = 1\n")));
    CHECK(runtime.result.exit_code == 2);
    CHECK_MESSAGE(contains_ci(runtime.result.err, "toplevel.lua:2:"), runtime.result.err);
    auto missing = start_expecting_failure(lua_setup(temp_path("nowhere.lua")));
    CHECK(missing.result.exit_code == 2);
    CHECK_MESSAGE(contains_ci(missing.result.err, "nowhere.lua\": no such file"), missing.result.err);
    // A folder given as the script read as an empty file ("defines none of on_auth, ..."): the
    // error says it is a folder, with the option's file:line, at start and in --check-config.
    std::string folder = temp_path("scripts.lua");
    std::filesystem::create_directories(folder);
    auto dir = start_expecting_failure(lua_setup(folder));
    CHECK(dir.result.exit_code == 2);
    CHECK_MESSAGE(contains_ci(dir.result.err, "scripts.lua is a folder, not a Lua file"), dir.result.err);
    CHECK_MESSAGE(!contains_ci(dir.result.err, "defines none"), dir.result.err);
    auto dir_check = run({ROOST_BINARY, "-c", dir.config.path, "--check-config"});
    CHECK(dir_check.exit_code == 2);
    CHECK_MESSAGE(contains_ci(dir_check.err, "is a folder, not a Lua file"), dir_check.err);
    auto typo = start_expecting_failure(
        lua_setup(write_script("ok", "function on_acl() return true end\n"), {{"instruction_budgt", "5"}}));
    CHECK(typo.result.exit_code == 2);
    CHECK_MESSAGE(contains_ci(typo.result.err, "did you mean 'instruction_budget'"), typo.result.err);
}

TEST_CASE("scripts/acl.lua and jwt_auth.lua refuse an option they do not read (a typo turned checks off)") {
    // "pasword_file" went to roost.options unread: acl.lua then defined no on_auth, and any user
    // name and password got in. "jwt_audiance": no token's audience was checked.
    std::string acl = temp_path("typo.acl");
    write_file(acl, "topic readwrite #\n");
    auto acl_typo = start_expecting_failure(
        lua_setup(std::string(ROOST_SCRIPTS_DIR) + "/acl.lua", {{"pasword_file", acl}, {"acl_file", acl}}));
    CHECK(acl_typo.result.exit_code == 2);
    CHECK_MESSAGE(contains_ci(acl_typo.result.err, "acl.lua: unknown option 'pasword_file'"),
                  acl_typo.result.err);
    auto acl_none = start_expecting_failure(lua_setup(std::string(ROOST_SCRIPTS_DIR) + "/acl.lua"));
    CHECK(acl_none.result.exit_code == 2);
    CHECK_MESSAGE(contains_ci(acl_none.result.err, "acl.lua needs password_file, acl_file or both"),
                  acl_none.result.err);
    std::string secret = temp_path("typo.secret");
    write_file(secret, "0123456789abcdef0123456789abcdef\n");
    auto jwt_typo =
        start_expecting_failure(lua_setup(std::string(ROOST_SCRIPTS_DIR) + "/jwt_auth.lua",
                                          {{"jwt_secret_file", secret}, {"jwt_audiance", "roost"}}));
    CHECK(jwt_typo.result.exit_code == 2);
    CHECK_MESSAGE(contains_ci(jwt_typo.result.err, "jwt_auth.lua: unknown option 'jwt_audiance'"),
                  jwt_typo.result.err);
}

TEST_CASE("reload on SIGHUP: a script that does not compile is refused and the old one keeps running") {
    std::string path = write_script("live", R"LUA(
function on_acl(client, action, topic)
  if action == "publish" and topic == "switch/x" then return false end
  return true
end
)LUA");
    PluginBroker b(lua_setup(path, {{"cache_ttl", "60s"}}));
    auto c = connected(b, 5, "reloader");
    CHECK(publish_qos1(*c, 1, "switch/x") == std::optional<uint8_t>(0x87));

    // Broken: refused with file:line, the old script answers as before.
    write_file(path, "function on_acl(client, action, topic)\n  return true\nend end\n");
    size_t from = b.log_size();
    b.signal(SIGHUP);
    // roost_plugin_check compiles it first: the broker keeps the plugin's old options and script.
    CHECK_MESSAGE(b.wait_line({"plugin 'lua'", "live.lua:3: <eof> expected near 'end'"}, 5s, from),
                  tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"plugin 'lua'", "refused its new options", "keeps the old ones"}, 5s, from),
                  tail(b.log()));

    // Compiles, but its top level fails when run: refused by the reload itself, on the main thread.
    write_file(path, "function on_acl() return true end\nlocal t = nil\nt.x = 1\n");
    from = b.log_size();
    b.signal(SIGHUP);
    CHECK_MESSAGE(
        b.wait_line({"reload refused", "live.lua:3: attempt to index", "the running script stays"}, 5s, from),
        tail(b.log()));
    CHECK(publish_qos1(*c, 2, "switch/x") == std::optional<uint8_t>(0x87));
    canary_round_trip(b, "after-bad-reload");

    // Compiles and runs on the main thread, but fails on worker 1: no worker switches.
    if (const char* workers = std::getenv("ROOST_TEST_WORKERS"); workers && std::string(workers) == "2") {
        write_file(path,
                   "if roost.worker == 1 then error('worker 1 refuses this version') end\n"
                   "function on_acl() return true end\n");
        from = b.log_size();
        b.signal(SIGHUP);
        CHECK_MESSAGE(
            b.wait_line({"reload of", "refused: worker 1:", "live.lua:1: worker 1 refuses this version",
                         "every worker keeps the running script"},
                        5s, from),
            tail(b.log()));
        settle(200ms);
        CHECK(publish_qos1(*c, 30, "switch/x") == std::optional<uint8_t>(0x87));
        auto other = connected(b, 5, "reloader-2");  // the other worker, by the accept rotation
        CHECK(publish_qos1(*other, 1, "switch/x") == std::optional<uint8_t>(0x87));
    }

    // Fixed: every worker compiles it, then all switch; the cached denial is forgotten.
    write_file(path, "function on_acl(client, action, topic)\n  return true\nend\n");
    from = b.log_size();
    b.signal(SIGHUP);
    REQUIRE_MESSAGE(b.wait_line({"reloaded", "live.lua", "switching"}, 5s, from), tail(b.log()));
    bool allowed = false;
    for (uint16_t id = 3; id < 40 && !allowed; ++id) {  // the switch is posted to each worker
        allowed = success(publish_qos1(*c, id, "switch/x"));
        if (!allowed) settle(50ms);
    }
    CHECK(allowed);
}
