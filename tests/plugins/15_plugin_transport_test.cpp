// A transport plugin: transport_xor XORs every byte both ways. A raw client that XORs its bytes
// speaks MQTT through the listener that selects it; a plain client does not. The transport sets a
// connection attribute that auth_table reads with client_attribute.
#include <doctest/doctest.h>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

constexpr uint8_t kKey = 0x5a;

// Listener 0: plain MQTT; listener 1: transport = "xor".
Setup xor_setup() {
    Setup s;
    s.listeners[0].auth_default = "allow";
    s.listeners.push_back(ListenerSpec{"xor", "allow", "", 0});
    s.plugins.push_back({ROOST_PLUGIN_TRANSPORT_XOR, {{"name", "xor"}, {"key", "0x5a"}}});
    s.plugins.push_back({ROOST_PLUGIN_AUTH_TABLE, {{"users", "alice:secret,xavier:pw@xor.key"}}});
    return s;
}

}  // namespace

TEST_CASE("an XORing client connects, subscribes and publishes through the xor listener") {
    PluginBroker b(xor_setup());
    WireClient x(b.port(1), kKey);
    REQUIRE(x.send(connect_with(5, "xor-client", std::nullopt, std::nullopt)));
    auto ack = x.read_until(pkt::CONNACK);
    REQUIRE_MESSAGE(ack, tail(b.log()));
    CHECK(ack->reason() == 0x00);
    CHECK_MESSAGE(b.wait_line({"transport_xor", "fixture: open, attribute xor.key=90 rc=0"}), tail(b.log()));

    // Down: a plain publisher's message reaches the XOR client, encoded by the transport.
    REQUIRE(x.send(pkt::subscribe(1, "x/#", 1, 5)));
    auto suback = x.read_until(pkt::SUBACK);
    REQUIRE(suback);
    CHECK(suback_codes(*suback, 5) == std::vector<uint8_t>{0x01});
    auto r = run(pub(b, {"-t", "x/down", "-m", "to-xor", "-q", "1"}, 0));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    auto msg = x.read_until(pkt::PUBLISH);
    REQUIRE_MESSAGE(msg, tail(b.log()));
    CHECK(msg->publish_topic() == "x/down");
    CHECK(msg->publish_payload(5) == "to-xor");
    REQUIRE(x.send(pkt::ack(pkt::PUBACK, msg->packet_id_after_topic())));

    // Up: the XOR client's message reaches a plain subscriber.
    Sub plain(b, {"-t", "x/up"}, 0);
    REQUIRE(plain.wait_subscribed());
    REQUIRE(x.send(pkt::publish("x/up", "from-xor", 1, 2, false, 5)));
    auto puback = x.read_until(pkt::PUBACK);
    REQUIRE(puback);
    CHECK(puback->packet_id() == 2);
    REQUIRE(plain.wait_messages(1));
    CHECK(plain.messages() == std::vector<std::string>{"x/up|from-xor"});

    // A large payload goes through in more than one read and more than one chunk.
    std::string big(100000, 'B');
    REQUIRE(x.send(pkt::publish("x/big", big, 1, 3, false, 5)));
    auto bigmsg = x.read_until(pkt::PUBLISH, 5s);
    REQUIRE(bigmsg);
    CHECK(bigmsg->publish_topic() == "x/big");
    CHECK(bigmsg->publish_payload(5) == big);

    x.close();
    CHECK_MESSAGE(b.wait_line({"transport_xor", "fixture: close after"}), tail(b.log()));
    // The per-connection state came zeroed, as the ABI says (conn_state_size bytes, zeroed).
    CHECK_MESSAGE(lines_with(b.log(), {"fixture: WRONG"}).empty(), tail(b.log()));
}

TEST_CASE("a plain MQTT client on the xor listener is not understood; the broker lives on") {
    PluginBroker b(xor_setup());
    auto r = run(pub(b, {"-t", "x/plain", "-m", "1"}, 1), 10s);
    CHECK(r.exit_code != 0);
    WireClient plain(b.port(1));
    REQUIRE(plain.send(connect_with(4, "plain-on-xor", std::nullopt, std::nullopt)));
    CHECK(plain.wait_closed(5s));
    // Both listeners still work.
    WireClient x(b.port(1), kKey);
    REQUIRE(x.send(connect_with(4, "after", std::nullopt, std::nullopt)));
    auto ack = x.read_until(pkt::CONNACK);
    REQUIRE(ack);
    CHECK(ack->reason() == 0);
    auto ok = run(pub(b, {"-t", "x/plain", "-m", "1"}, 0));
    CHECK(ok.exit_code == 0);
}

TEST_CASE("auth reads the transport's attribute: xavier only through the xor listener") {
    PluginBroker b(xor_setup());
    WireClient x(b.port(1), kKey);
    REQUIRE(x.send(connect_with(5, "xav-xor", "xavier", "pw")));
    auto ack = x.read_until(pkt::CONNACK);
    REQUIRE(ack);
    CHECK(ack->reason() == 0x00);
    CHECK_MESSAGE(b.wait_line({"fixture: user xavier client xav-xor attribute xor.key=90"}), tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"fixture: user xavier client xav-xor transport=xor: ALLOW"}), tail(b.log()));

    WireClient p(b.port(0));
    REQUIRE(p.send(connect_with(5, "xav-plain", "xavier", "pw")));
    auto refused = p.read_until(pkt::CONNACK);
    REQUIRE(refused);
    CHECK(refused->reason() == 0x87);
    CHECK(b.wait_line(
        {"fixture: user xavier client xav-plain transport=tcp lacks attribute xor.key: DENY 0x87"}));

    auto r = run(pub(b, {"-t", "x/a", "-m", "1", "-u", "xavier", "-P", "pw"}, 0));
    CHECK(r.exit_code != 0);
    auto a = run(pub(b, {"-t", "x/a", "-m", "1", "-u", "alice", "-P", "secret"}, 0));
    CHECK_MESSAGE(a.exit_code == 0, a.err);
}

TEST_CASE("a transport whose decode() fails closes that connection only") {
    Setup s;
    s.listeners[0].transport = "xor";
    s.plugins.push_back({ROOST_PLUGIN_TRANSPORT_XOR, {{"key", "0x5a"}, {"max_up", "300"}}});
    PluginBroker b(s);
    WireClient keeper(b.port(), kKey);
    REQUIRE(keeper.send(connect_with(5, "keeper", std::nullopt, std::nullopt)));
    REQUIRE(keeper.read_until(pkt::CONNACK));

    WireClient big(b.port(), kKey);
    REQUIRE(big.send(connect_with(5, "big", std::nullopt, std::nullopt)));
    REQUIRE(big.read_until(pkt::CONNACK));
    big.send(pkt::publish("t/big", std::string(1000, 'x'), 0, 0, false, 5));
    CHECK_MESSAGE(big.wait_closed(5s), tail(b.log()));
    CHECK(b.wait_line({"transport_xor", "is over max_up 300: failing decode"}));
    CHECK_MESSAGE(b.wait_line({"transport_xor", "fixture: close after"}), tail(b.log()));

    // The other connection on the same transport is unharmed.
    REQUIRE(keeper.send(pkt::pingreq()));
    CHECK(keeper.read_until(pkt::PINGRESP));
    CHECK(b.running());
}
