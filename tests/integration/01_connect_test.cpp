// 01 connect: CONNECT/CONNACK for MQTT 3.1.1 and 5.0, keep alive, client ids, takeover.
#include <doctest/doctest.h>

#include <memory>

#include "harness.hpp"

using namespace roost_it;

TEST_CASE("mosquitto_pub connects with MQTT 3.1.1 and MQTT 5") {
    Broker b;
    for (const char* v : {"mqttv311", "mqttv5"}) {
        CAPTURE(v);
        RunResult r = run(pub_args(b, {"-V", v, "-t", "connect/test", "-m", "x"}));
        CHECK_FALSE(r.timed_out);
        CHECK(r.exit_code == 0);
    }
}

TEST_CASE("MQTT 3.1.1 CONNACK: accepted, no session present") {
    Broker b;
    RawClient c(b.port());
    auto ack = c.handshake(pkt::conn(4, "c311"));
    REQUIRE(ack);
    CHECK(ack->body == std::string("\x00\x00", 2));
    // PINGREQ is answered with PINGRESP.
    REQUIRE(c.send(pkt::pingreq()));
    auto resp = c.read_packet();
    REQUIRE(resp);
    CHECK(resp->type == pkt::PINGRESP);
}

TEST_CASE("MQTT 5 CONNACK: success, and an assigned client identifier for an empty one") {
    Broker b;
    RawClient c(b.port());
    auto ack = c.handshake(pkt::conn(5, ""));
    REQUIRE(ack);
    CHECK(ack->reason() == 0x00);
    CHECK((uint8_t(ack->body[0]) & 1) == 0);  // session present = 0
    // Assigned Client Identifier (0x12) is among the properties.
    CHECK(ack->body.find('\x12') != std::string::npos);
}

TEST_CASE("MQTT 3.1.1: empty client id with clean session 0 is rejected with return code 2") {
    Broker b;
    RawClient c(b.port());
    auto ack = c.handshake(pkt::conn(4, "", false));
    REQUIRE(ack);
    CHECK(ack->reason() == 0x02);
    CHECK(c.wait_closed());
}

TEST_CASE("unsupported protocol level: 3.1.1 return code 1 and close") {
    Broker b;
    RawClient c(b.port());
    // A CONNECT with protocol name "MQTT" and level 6 (no such version).
    auto ack = c.handshake(pkt::conn(6, "v6"));
    if (ack) CHECK((ack->reason() == 0x01 || ack->reason() == 0x84));
    CHECK(c.wait_closed());
}

TEST_CASE("keep alive: a silent client is disconnected after 1.5 x keep alive") {
    Broker b;
    for (uint8_t version : {uint8_t(4), uint8_t(5)}) {
        CAPTURE(int(version));
        RawClient c(b.port());
        auto ack = c.handshake(pkt::conn(version, "ka" + std::to_string(version), true, 1));
        REQUIRE(ack);
        CHECK(ack->reason() == 0);
        auto start = std::chrono::steady_clock::now();
        std::vector<Packet> before;
        // mosquitto checks keep alive only now and then; Roost is held to 1.5 x 1 s (+ slack).
        CHECK(c.wait_closed(broker_is_mosquitto() ? 30s : 4s, &before));
        MESSAGE("closed after "
                << std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start).count()
                << " ms");
        auto took = std::chrono::steady_clock::now() - start;
        CHECK(took >= 1s);
        if (version == 5 && !before.empty()) {
            CHECK(before.back().type == pkt::DISCONNECT);
            CHECK(before.back().reason() == 0x8D);  // Keep Alive timeout
        }
    }
}

TEST_CASE("keep alive: clients with different keep alives are each closed at their own time") {
    // The broker looks at a client when its own limit comes, not at every client every second:
    // each of these is closed 1.5 x its keep alive after its CONNECT, to within the scan gap.
    ROOST_ONLY();
    Broker b;
    std::vector<std::unique_ptr<RawClient>> clients;
    std::vector<std::chrono::steady_clock::time_point> connected;
    for (uint16_t keep_alive : {1, 2, 3}) {
        clients.push_back(std::make_unique<RawClient>(b.port()));
        REQUIRE(clients.back()->handshake(
            pkt::conn(4, "ka-each-" + std::to_string(keep_alive), true, keep_alive)));
        connected.push_back(std::chrono::steady_clock::now());
    }
    for (size_t i = 0; i < clients.size(); ++i) {
        CAPTURE(i);
        REQUIRE(clients[i]->wait_closed(6s));
        auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - connected[i]);
        MESSAGE("keep alive " << i + 1 << " s: closed after " << took.count() << " ms");
        CHECK(took >= Millis(1500 * (i + 1)));
        CHECK(took < Millis(1500 * (i + 1) + 700));  // slack for a loaded, sanitized run
    }
}

TEST_CASE("a second connection with the same client id takes the session over") {
    Broker b;
    SUBCASE("MQTT 3.1.1") {
        RawClient first(b.port());
        REQUIRE(first.handshake(pkt::conn(4, "same")));
        RawClient second(b.port());
        auto ack = second.handshake(pkt::conn(4, "same"));
        REQUIRE(ack);
        CHECK(ack->reason() == 0);
        CHECK(first.wait_closed());
        REQUIRE(second.send(pkt::pingreq()));
        auto resp = second.read_packet();
        REQUIRE(resp);
        CHECK(resp->type == pkt::PINGRESP);
    }
    SUBCASE("MQTT 5: the first gets DISCONNECT Session taken over (0x8E)") {
        RawClient first(b.port());
        REQUIRE(first.handshake(pkt::conn(5, "same5")));
        RawClient second(b.port());
        REQUIRE(second.handshake(pkt::conn(5, "same5")));
        std::vector<Packet> before;
        CHECK(first.wait_closed(3s, &before));
        if (broker_is_mosquitto()) {
            MESSAGE("mosquitto 2.0.11 closes without DISCONNECT 0x8E: checked for Roost only");
            return;
        }
        REQUIRE(!before.empty());
        CHECK(before.back().type == pkt::DISCONNECT);
        CHECK(before.back().reason() == 0x8E);
    }
}

TEST_CASE("the broker logs connections") {
    Broker b;
    RawClient c(b.port());
    REQUIRE(c.handshake(pkt::conn(4, "logged-client-id")));
    CHECK(b.wait_log({"logged-client-id"}));
}

TEST_CASE("[limits] connect_timeout: a connection without a CONNECT in time is closed, nothing sent") {
    ROOST_ONLY();  // a Roost setting; Mosquitto has no equivalent
    BrokerOptions o;
    o.limits = {"connect_timeout = 1"};
    Broker b(o);
    RawClient silent(b.port());
    RawClient half4(b.port());  // half a CONNECT of each version: still no CONNECT
    RawClient half5(b.port());
    REQUIRE(half4.send(pkt::connect(pkt::conn(4, "half4")).substr(0, 10)));
    REQUIRE(half5.send(pkt::connect(pkt::conn(5, "half5")).substr(0, 10)));
    RawClient prompt4(b.port());  // these CONNECT in time and stay
    REQUIRE(prompt4.handshake(pkt::conn(4, "prompt4")));
    RawClient prompt5(b.port());
    REQUIRE(prompt5.handshake(pkt::conn(5, "prompt5")));
    auto start = std::chrono::steady_clock::now();
    for (RawClient* c : {&silent, &half4, &half5}) {
        std::vector<Packet> before;
        CHECK(c->wait_closed(4s, &before));
        CHECK(before.empty());  // no CONNACK: there was no CONNECT to answer
    }
    auto took = std::chrono::steady_clock::now() - start;
    CHECK(took < 3500ms);  // 1 s, checked once a second
    CHECK(b.log_contains("no CONNECT within 1 s"));
    for (RawClient* c : {&prompt4, &prompt5}) {
        REQUIRE(c->send(pkt::pingreq()));
        auto resp = c->read_packet();
        REQUIRE(resp);
        CHECK(resp->raw == Bytes("\xd0\x00", 2));
    }
}

TEST_CASE("connect_timeout defaults to 10 s: silent for 2 s is still open") {
    Broker b;
    RawClient silent(b.port());
    settle(2s);
    CHECK_FALSE(silent.wait_closed(100ms));
    REQUIRE(silent.handshake(pkt::conn(4, "late-but-in-time")));
}
