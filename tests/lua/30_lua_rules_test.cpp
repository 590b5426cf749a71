// The lua plugin in the real broker, with real clients (mosquitto_pub/sub, Paho C, raw bytes for
// exact codes): on_auth denials as CONNACK 0x86/0x87 (3.1.1: 4/5), on_acl denials of PUBLISH
// (PUBACK 0x87 at QoS 1, dropped at QoS 0) and SUBSCRIBE (SUBACK 0x87, or 0x80 when the script
// says so), on_message rewriting and dropping, the decision cache, and scripts/acl.lua with a
// password file made by Debian's mosquitto_passwd.
#include <MQTTClient.h>

#include "lua_test_util.hpp"

using namespace lua_test;

namespace {

const char kRules[] = R"LUA(
function on_auth(client)
  local u = client.username
  if u == "wrong-password" then return false, 0x86 end
  if u == "not-allowed" then return false end          -- 0x87 Not authorized by default
  if u == "banned" then return false, 0x8A end
  return true
end

function on_acl(client, action, topic, qos, retain)
  if topic:find("^forbidden/") then return false end   -- 0x87
  if action == "subscribe" and topic:find("^legacy/") then return false, 0x80 end
  if action == "deliver" and topic == "hidden/x" then return false end
  return true
end

function on_message(client, msg)
  if msg.topic == "drop/me" then return false end
  if msg.topic:find("^rewrite/") then
    msg.topic = "rewritten/" .. msg.topic:sub(#"rewrite/" + 1)
    msg.payload = msg.payload:upper()
    return msg
  end
  return nil
end
)LUA";

Setup rules() {
    return lua_setup(write_script("rules", kRules));
}

// A 3.1.1 CONNECT through Paho C with a user name: MQTTClient_connect returns the return code.
int paho_connect_rc(uint16_t port, const std::string& user) {
    MQTTClient client;
    std::string uri = "tcp://127.0.0.1:" + std::to_string(port);
    MQTTClient_create(&client, uri.c_str(), ("paho-" + user).c_str(), MQTTCLIENT_PERSISTENCE_NONE, nullptr);
    MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer;
    opts.username = user.c_str();
    opts.password = "pw";
    opts.connectTimeout = 5;
    opts.MQTTVersion = MQTTVERSION_3_1_1;  // the default would retry as 3.1 after a refusal
    int rc = MQTTClient_connect(client, &opts);
    if (rc == MQTTCLIENT_SUCCESS) MQTTClient_disconnect(client, 1000);
    MQTTClient_destroy(&client);
    return rc;
}

}  // namespace

TEST_CASE("on_auth: denied CONNECT is CONNACK 0x86 / 0x87 in MQTT 5 and return code 4 / 5 in 3.1.1") {
    PluginBroker b(rules());
    CHECK(connack(b, 5, "c1", "wrong-password", "pw") == std::optional<uint8_t>(0x86));
    CHECK(connack(b, 5, "c2", "not-allowed", "pw") == std::optional<uint8_t>(0x87));
    CHECK(connack(b, 5, "c3", "banned", "pw") == std::optional<uint8_t>(0x8A));
    CHECK(connack(b, 4, "c4", "wrong-password", "pw") == std::optional<uint8_t>(4));
    CHECK(connack(b, 4, "c5", "not-allowed", "pw") == std::optional<uint8_t>(5));
    CHECK(connack(b, 5, "c6", "alice", "pw") == std::optional<uint8_t>(0));
    // Real clients: Paho C (3.1.1 return codes) and mosquitto_pub (MQTT 5 reason strings).
    CHECK(paho_connect_rc(b.port(), "wrong-password") == 4);
    CHECK(paho_connect_rc(b.port(), "not-allowed") == 5);
    CHECK(paho_connect_rc(b.port(), "alice") == MQTTCLIENT_SUCCESS);
    auto r = run(pub(b, {"-t", "a", "-m", "1", "-u", "wrong-password", "-P", "x", "-V", "mqttv5"}));
    CHECK(r.exit_code != 0);
    CHECK_MESSAGE(contains_ci(r.out + r.err, "Bad User Name or Password"), r.out << r.err);
    r = run(pub(b, {"-t", "a", "-m", "1", "-u", "not-allowed", "-P", "x"}));
    CHECK(r.exit_code != 0);
    CHECK_MESSAGE(contains_ci(r.out + r.err, "not authori"), r.out << r.err);
}

TEST_CASE("on_acl: denied PUBLISH is PUBACK 0x87 at QoS 1 (MQTT 5) and dropped at QoS 0") {
    PluginBroker b(rules());
    Sub all(b, {"-t", "#", "-V", "mqttv5"});
    REQUIRE(all.wait_subscribed());
    auto c = connected(b, 5, "p5");
    CHECK(publish_qos1(*c, 1, "forbidden/x") == std::optional<uint8_t>(0x87));
    CHECK(success(publish_qos1(*c, 2, "allowed/x")));
    // QoS 0 (3.1.1 and 5): nothing to tell the publisher; the message reaches nobody.
    for (auto version : {"mqttv311", "mqttv5"}) {
        auto r = run(pub(b, {"-t", "forbidden/q0", "-m", "no", "-V", version}));
        CHECK_MESSAGE(r.exit_code == 0, r.err);
    }
    auto r = run(pub(b, {"-t", "allowed/last", "-m", "yes"}));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    REQUIRE(all.wait_messages(2));
    settle(200ms);
    CHECK(all.messages() == std::vector<std::string>{"allowed/x|m", "allowed/last|yes"});
    // A 3.1.1 QoS 1 publisher gets its PUBACK (3.1.1 has no code) and the message is dropped.
    auto c4 = connected(b, 4, "p4");
    REQUIRE(c4->send(pkt::publish("forbidden/v4", "m", 1, 7, false, 4)));
    auto ack = c4->read_until(pkt::PUBACK);
    REQUIRE(ack);
    CHECK(ack->packet_id() == 7);
    CHECK_MESSAGE(b.wait_line({"publish to 'forbidden/x' denied", "lua"}), tail(b.log()));
}

TEST_CASE("on_acl: denied SUBSCRIBE is SUBACK 0x87, or 0x80 when the script says so; 3.1.1 always 0x80") {
    PluginBroker b(rules());
    auto c5 = connected(b, 5, "s5");
    CHECK(subscribe(*c5, 1, "forbidden/#", 5) == std::vector<uint8_t>{0x87});
    CHECK(subscribe(*c5, 2, "legacy/#", 5) == std::vector<uint8_t>{0x80});
    CHECK(subscribe(*c5, 3, "fine/#", 5) == std::vector<uint8_t>{0x01});
    auto c4 = connected(b, 4, "s4");
    CHECK(subscribe(*c4, 4, "forbidden/#", 4) == std::vector<uint8_t>{0x80});
    CHECK(subscribe(*c4, 5, "fine/+", 4) == std::vector<uint8_t>{0x01});
    auto r = run(sub(b, {"-t", "forbidden/#", "-V", "mqttv5", "-C", "1", "-W", "2"}));
    CHECK_MESSAGE(contains_ci(r.out + r.err, "All subscription requests were denied"), r.out << r.err);
}

TEST_CASE("on_acl deliver: a topic hidden from subscribers") {
    PluginBroker b(rules());
    Sub s(b, {"-t", "hidden/#", "-V", "mqttv5", "-C", "2", "-W", "10"});
    REQUIRE(s.wait_subscribed());
    for (auto topic : {"hidden/a", "hidden/x", "hidden/b"}) {
        auto r = run(pub(b, {"-t", topic, "-m", "v", "-q", "1"}));
        CHECK_MESSAGE(r.exit_code == 0, r.err);
    }
    CHECK(s.finish() == std::vector<std::string>{"hidden/a|v", "hidden/b|v"});
}

TEST_CASE("on_message: a rewritten topic and payload; a dropped message") {
    PluginBroker b(rules());
    Sub s(b, {"-t", "#", "-C", "2", "-W", "10"});
    REQUIRE(s.wait_subscribed());
    for (auto topic : {"rewrite/t1", "drop/me", "plain/t2"}) {
        auto r = run(pub(b, {"-t", topic, "-m", "hello", "-q", "1", "-V", "mqttv5"}));
        CHECK_MESSAGE(r.exit_code == 0, r.err);  // a drop without a code is Success to the publisher
    }
    CHECK(s.finish() == std::vector<std::string>{"rewritten/t1|HELLO", "plain/t2|hello"});
}

TEST_CASE("decision cache: one on_acl call per client and topic within the TTL; roost.no_cache() opts out") {
    const char* script = R"LUA(
function on_acl(client, action, topic)
  if action ~= "publish" then return true end
  roost.log("acl call " .. client.id .. " " .. topic)
  if topic:find("^live/") then roost.no_cache() end
  return not topic:find("^deny/")
end
)LUA";
    PluginBroker b(lua_setup(write_script("cache", script), {{"cache_ttl", "60s"}}));
    auto c = connected(b, 5, "cacher");
    for (uint16_t i = 1; i <= 3; ++i) {
        CHECK(success(publish_qos1(*c, i, "cached/t")));
        CHECK(publish_qos1(*c, uint16_t(10 + i), "deny/t") == std::optional<uint8_t>(0x87));
        CHECK(success(publish_qos1(*c, uint16_t(20 + i), "live/t")));
    }
    CHECK(lines_with(b.log(), {"acl call cacher cached/t"}).size() == 1);
    CHECK(lines_with(b.log(), {"acl call cacher deny/t"}).size() == 1);  // denials are cached too
    CHECK(lines_with(b.log(), {"acl call cacher live/t"}).size() == 3);

    PluginBroker off(lua_setup(write_script("cache_off", script), {{"cache_ttl", "0"}}));
    auto d = connected(off, 5, "nocache");
    for (uint16_t i = 1; i <= 3; ++i)
        CHECK(success(publish_qos1(*d, i, "cached/t")));
    CHECK(lines_with(off.log(), {"acl call nocache cached/t"}).size() == 3);
}

TEST_CASE("per-client data: kept between calls, released when the client goes") {
    const char* script = R"LUA(
function on_auth(client)
  roost.client_data_set(client, { user = client.username, n = 0 })
  return true
end
function on_acl(client, action, topic)
  local d = roost.client_data_get(client)
  d.n = d.n + 1
  roost.log("data " .. client.id .. " user " .. tostring(d.user) .. " call " .. d.n)
  roost.no_cache()
  return true
end
function on_disconnect(client, reason)
  roost.log("gone " .. client.id .. " data " .. tostring(roost.client_data_get(client) ~= nil))
end
)LUA";
    PluginBroker b(lua_setup(write_script("data", script)));
    {
        auto c = connected(b, 5, "keeper", "kim", "pw");
        CHECK(success(publish_qos1(*c, 1, "a")));
        CHECK(success(publish_qos1(*c, 2, "b")));
        CHECK_MESSAGE(b.wait_line({"data keeper user kim call 2"}), tail(b.log()));
        c->send(pkt::disconnect(5));
    }
    CHECK_MESSAGE(b.wait_line({"gone keeper data true"}), tail(b.log()));
    // The same client id again: fresh data (the old client's was released).
    auto again = connected(b, 5, "keeper", "lee", "pw");
    CHECK(success(publish_qos1(*again, 1, "a")));
    CHECK_MESSAGE(b.wait_line({"data keeper user lee call 1"}), tail(b.log()));
}

TEST_CASE("scripts/acl.lua with a password file made by mosquitto_passwd and a Mosquitto acl_file") {
    std::string passwd = temp_path("acl.passwd");
    auto made = run({"mosquitto_passwd", "-c", "-b", passwd, "alice", "alice pass"});
    REQUIRE_MESSAGE(made.exit_code == 0, made.err);
    made = run({"mosquitto_passwd", "-b", passwd, "bob", "bob-pass"});
    REQUIRE_MESSAGE(made.exit_code == 0, made.err);
    std::string acl = temp_path("acl.acl");
    write_file(acl,
               "topic read public/#\n"
               "user alice\n"
               "topic readwrite sensors/#\n"
               "user bob\n"
               "topic read sensors/#\n"
               "topic deny sensors/secret\n"
               "pattern readwrite users/%u/#\n"
               "pattern write devices/%c/up\n");
    Setup s = lua_setup(std::string(ROOST_SCRIPTS_DIR) + "/acl.lua",
                        {{"password_file", passwd}, {"acl_file", acl}});
    s.listeners[0].auth_default = "allow";
    PluginBroker b(s);

    CHECK(connack(b, 5, "a1", "alice", "alice pass") == std::optional<uint8_t>(0));
    CHECK(connack(b, 5, "a2", "alice", "wrong") == std::optional<uint8_t>(0x86));
    CHECK(connack(b, 4, "a3", "alice", "wrong") == std::optional<uint8_t>(4));
    CHECK(connack(b, 5, "a4", "mallory", "x") == std::optional<uint8_t>(0x86));
    CHECK(connack(b, 5, "a5", std::nullopt, std::nullopt) == std::optional<uint8_t>(0));  // auth_default

    // mosquitto_sub as bob reads sensors/#, but not sensors/secret (deny), and not users/alice.
    Sub bob(b, {"-u", "bob", "-P", "bob-pass", "-t", "sensors/#", "-t", "users/bob/#", "-V", "mqttv5"});
    REQUIRE(bob.wait_subscribed());
    auto alice = connected(b, 5, "alice-dev", "alice", "alice pass");
    CHECK(success(publish_qos1(*alice, 1, "sensors/t1", "21.5")));
    CHECK(success(publish_qos1(*alice, 2, "sensors/secret", "s")));
    CHECK(success(publish_qos1(*alice, 3, "users/alice/x", "mine")));
    CHECK(publish_qos1(*alice, 4, "users/bob/x") == std::optional<uint8_t>(0x87));
    CHECK(success(publish_qos1(*alice, 5, "devices/alice-dev/up", "up")));
    CHECK(publish_qos1(*alice, 6, "devices/other/up") == std::optional<uint8_t>(0x87));
    auto bobc = connected(b, 5, "bob-dev", "bob", "bob-pass");
    CHECK(publish_qos1(*bobc, 1, "sensors/t1") == std::optional<uint8_t>(0x87));  // read only
    CHECK(success(publish_qos1(*bobc, 2, "users/bob/note", "n")));
    CHECK(subscribe(*bobc, 3, "sensors/+", 5) == std::vector<uint8_t>{0x01});
    CHECK(subscribe(*bobc, 4, "#", 5) == std::vector<uint8_t>{0x87});  // wider than any rule
    CHECK(subscribe(*bobc, 5, "$share/g/sensors/#", 5) == std::vector<uint8_t>{0x01});
    auto anon = connected(b, 4, "anon");
    CHECK(subscribe(*anon, 1, "public/#", 4) == std::vector<uint8_t>{0x01});
    CHECK(subscribe(*anon, 2, "sensors/#", 4) == std::vector<uint8_t>{0x80});
    REQUIRE(bob.wait_messages(2));
    settle(200ms);
    CHECK(bob.messages() == std::vector<std::string>{"sensors/t1|21.5", "users/bob/note|n"});
}

TEST_CASE(
    "examples/configs/lua-acl.toml runs as it is: alice publishes, bob reads, a wrong password is refused") {
    // The example as shipped, on a free port instead of 1883 (-p replaces its listener).
    std::string config = std::string(ROOST_SCRIPTS_DIR) + "/../examples/configs/lua-acl.toml";
    auto check = run({ROOST_BINARY, "-c", config, "--check-config"});
    CHECK_MESSAGE(check.exit_code == 0, check.out << check.err);
    // What .ci/start runs loads too.
    auto start = run({ROOST_BINARY, "-c", std::string(ROOST_SCRIPTS_DIR) + "/../examples/configs/roost.toml",
                      "--check-config"});
    CHECK_MESSAGE(start.exit_code == 0, start.out << start.err);
    uint16_t port = free_port();
    Process broker({ROOST_BINARY, "-c", config, "-p", std::to_string(port)});
    for (int i = 0; i < 200 && !port_accepts(port); ++i)
        settle(20ms);
    REQUIRE_MESSAGE(port_accepts(port), broker.err());
    std::string p = std::to_string(port);
    Process bob({"mosquitto_sub", "-p", p, "-h", "127.0.0.1", "-u", "bob", "-P", "bob-secret", "-t",
                 "sensors/#", "-C", "1", "-W", "10"});
    settle(300ms);
    auto ok = run({"mosquitto_pub", "-p", p, "-h", "127.0.0.1", "-u", "alice", "-P", "alice-secret", "-t",
                   "sensors/t1", "-m", "21.5", "-q", "1"});
    CHECK_MESSAGE(ok.exit_code == 0, ok.err);
    auto got = bob.wait(10s);
    CHECK(got.out == "21.5\n");
    auto refused = run(
        {"mosquitto_pub", "-p", p, "-h", "127.0.0.1", "-u", "alice", "-P", "wrong", "-t", "x", "-m", "1"});
    CHECK(refused.exit_code != 0);
    CHECK(broker.stop(5s) == 0);
}
