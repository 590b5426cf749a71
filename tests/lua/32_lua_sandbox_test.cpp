// The sandbox and the roost table as a script sees them: what is missing (os.execute, io.popen,
// debug, bytecode, writing files, reading outside read_dirs), what works (require from read_dirs,
// the hashing, encoding, JSON and password helpers), and roost.publish from a hook.
#include "lua_test_util.hpp"

using namespace lua_test;

TEST_CASE("the sandbox: no commands, no bytecode, no debug, files only under read_dirs") {
    std::string dir = temp_path("modules");
    run({"mkdir", "-p", dir + "/util"});
    write_file(dir + "/util/greet.lua", "return { hello = function(n) return 'hello ' .. n end }\n");
    std::string outside = "/etc/hostname";
    std::string script = write_script("sandbox", R"LUA(
local function refused(f, ...)
  local ok, err = pcall(f, ...)
  return not ok, err
end
assert(os.execute == nil and io.popen == nil and os.getenv == nil and os.remove == nil, "os/io escape hatches")
assert(debug == nil and package == nil and string.dump == nil, "debug/package/dump")
assert(io.write == nil and io.output == nil and io.read == nil, "standard streams")
assert(type(os.time()) == "number" and type(os.clock()) == "number")
-- Text only: a bytecode chunk is refused even when mode says "b".
local ok, err = load("\27Lua\84\0", "x", "b")
assert(ok == nil and err:find("binary", 1, true), "bytecode: " .. tostring(err))
assert(load("return 1 + 1")() == 2)
-- Files: read under read_dirs, never write, never outside.
local f, e = io.open(OUTSIDE)
assert(f == nil and e:find("read_dirs", 1, true), "outside: " .. tostring(e))
assert(refused(io.open, roost.config_dir .. "/new.txt", "w"))
assert(refused(io.lines, OUTSIDE))
assert(roost.read_file(OUTSIDE) == nil)
assert(refused(collectgarbage, "stop"))
assert(collectgarbage("count") > 0)
-- require: a/b.lua from read_dirs, once; no C modules.
local greet = require("util.greet")
assert(greet.hello("lua") == "hello lua" and require("util.greet") == greet)
assert(refused(require, "os"))
assert(refused(require, "../x"))
-- The roost table's helpers.
assert(roost.sha256("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
assert(#roost.sha256("abc", "raw") == 32)
assert(roost.hmac("sha256", "Jefe", "what do ya want for nothing?") ==
       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
assert(roost.base64_encode("foobar") == "Zm9vYmFy" and roost.base64_decode("Zm9vYmFy") == "foobar")
assert(roost.base64_encode("\251\255", "url") == "-_8" and roost.base64_decode("!!") == nil)
assert(roost.constant_time_equal("a", "a") and not roost.constant_time_equal("a", "b"))
local v = roost.json_decode('{"a":[1,2,{"b":null}],"s":"\\u00e9","n":1.5,"t":true}')
assert(v.a[2] == 2 and v.s == "\195\169" and v.n == 1.5 and v.t == true and v.a[3].b == nil)
assert(roost.json_encode({1, 2, 3}) == "[1,2,3]" and roost.json_encode({x = "q\""}) == '{"x":"q\\""}')
assert(refused(roost.json_encode, {f = print}))
local t = {} t.self = t
assert(refused(roost.json_encode, t))
assert(roost.json_decode("{bad") == nil)
assert(roost.topic_matches("a/+/c", "a/b/c") and not roost.topic_matches("#", "$SYS/x"))
assert(roost.filter_covers("a/#", "a/+/b") and not roost.filter_covers("a/+", "a/#"))
assert(roost.passwd_verify("$6$ZkcpWBSG43m/Cbru$24HTOuLNAvmNyphNhbf9+ekvXGve1HEgHFnD7+XSeQEf5fpeTtDnU/gSRngemNdncXwEQnrkXGdnDNvnYBgwIg==", "hunter2") == true)
assert(roost.passwd_verify("nonsense", "x") == nil)
assert(roost.options.greeting == "hi there")
roost.log("sandbox checks passed on worker " .. roost.worker)

function on_connect(client)
  roost.publish("presence/" .. client.id, "online", 1, false)
end
function on_acl(client, action, topic)
  if topic == "keep/client" then kept = client end
  if topic == "use/kept" then local _ = kept.id end
  return true
end
)LUA");
    // The script reads OUTSIDE from a global: set it before the script runs.
    std::string source = read_file(script);
    write_file(script, "OUTSIDE = '" + outside + "'\n" + source);
    PluginBroker b(lua_setup(script, {{"read_dirs", dir}, {"greeting", "hi there"}}));
    CHECK_MESSAGE(b.wait_line({"sandbox checks passed on worker 0"}), tail(b.log()));

    // roost.publish from on_connect reaches a subscriber.
    // (Its own CONNECT publishes presence/<its id> too: listen to the one client only.)
    Sub s(b, {"-t", "presence/announced", "-C", "1", "-W", "5"});
    REQUIRE(s.wait_subscribed());
    auto c = connected(b, 5, "announced");
    CHECK(s.finish() == std::vector<std::string>{"presence/announced|online"});

    // A client object kept past its hook raises instead of reading freed memory (fail closed).
    CHECK(success(publish_qos1(*c, 1, "keep/client")));
    CHECK(publish_qos1(*c, 2, "use/kept") == std::optional<uint8_t>(0x83));
    CHECK_MESSAGE(b.wait_line({"client used after its hook returned"}), tail(b.log()));
}
