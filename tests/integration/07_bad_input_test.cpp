// 07 bad input: raw sockets send what no well-behaved client would. For each case the client gets
// the spec's answer (MQTT 5: DISCONNECT with a reason code once a CONNACK was sent, or a CONNACK
// with the reason before; MQTT 3.1.1: the connection is closed, for a CONNECT after a 2-byte
// CONNACK where 3.1.1 has a return code for the error), the broker log names the reason,
// and a canary (a raw QoS 1 publisher/subscriber pair plus a mosquitto_sub) keeps working
// throughout, checked at the end of every test case.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <memory>
#include <mutex>
#include <thread>

#include "harness.hpp"

using namespace roost_it;

namespace {

constexpr uint32_t kMaxPacket = 1024;

BrokerOptions bad_input_options() {
    BrokerOptions o;
    o.limits = {"max_packet_size = " + std::to_string(kMaxPacket)};
    o.mosquitto = {"max_packet_size " + std::to_string(kMaxPacket)};
    return o;
}

// A well-behaved pair of clients that publish and receive QoS 1 messages every 20 ms on their own
// thread, and a mosquitto_sub that sees the same messages; check() says whether all arrived.
class Canary {
  public:
    explicit Canary(const Broker& b)
        : _watcher(b, {"-q", "1", "-t", "canary/t", "-W", "100"}), _pub(b.port()), _sub(b.port()) {
        ok_setup = _watcher.wait_subscribed() && _pub.handshake(pkt::conn(4, "canary-pub")) &&
                   _sub.handshake(pkt::conn(4, "canary-sub")) &&
                   _sub.send(pkt::subscribe(1, "canary/t", 1)) && _sub.read_until(pkt::SUBACK).has_value();
        if (ok_setup) _thread = std::thread([this] { loop(); });
    }
    ~Canary() { stop(); }

    void stop() {
        _stop = true;
        if (_thread.joinable()) _thread.join();
    }

    // Stops the canary and checks every message made it to both subscribers, in order.
    void check() {
        REQUIRE(ok_setup);
        for (int i = 0; i < 300 && sent() < 10; ++i)
            std::this_thread::sleep_for(10ms);  // let it run a bit
        stop();
        _watcher.process().signal(SIGINT);
        auto seen = _watcher.finish(5s);
        std::lock_guard lock(_mutex);
        CHECK(_errors.empty());
        for (auto& e : _errors)
            MESSAGE("canary: " << e);
        CHECK(_sent >= 5);  // it really ran
        CHECK(seen.size() == size_t(_sent));
        for (size_t i = 0; i < seen.size() && i < size_t(_sent); ++i) {
            if (seen[i] != "canary/t|" + std::to_string(i)) {
                CHECK(seen[i] == "canary/t|" + std::to_string(i));
                break;
            }
        }
    }

  private:
    int sent() {
        std::lock_guard lock(_mutex);
        return _sent;
    }
    void loop() {
        for (int seq = 0; !_stop; ++seq) {
            std::string payload = std::to_string(seq);
            uint16_t id = uint16_t(seq % 60000 + 1);
            if (!_pub.send(pkt::publish("canary/t", payload, 1, id)))
                return error("publisher lost at " + payload);
            auto ack = _pub.read_until(pkt::PUBACK, 3s);
            if (!ack || ack->packet_id() != id) return error("no PUBACK for " + payload);
            auto msg = _sub.read_until(pkt::PUBLISH, 3s);
            if (!msg) return error("subscriber got nothing for " + payload);
            if (msg->publish_payload(4) != payload) return error("subscriber got " + msg->publish_payload(4));
            _sub.send(pkt::ack(pkt::PUBACK, msg->packet_id_after_topic()));
            {
                std::lock_guard lock(_mutex);
                ++_sent;
            }
            std::this_thread::sleep_for(20ms);
        }
    }
    void error(std::string e) {
        std::lock_guard lock(_mutex);
        _errors.push_back(std::move(e));
    }

  public:
    bool ok_setup = false;

  private:
    Subscriber _watcher;
    RawClient _pub, _sub;
    std::thread _thread;
    std::atomic<bool> _stop{false};
    std::mutex _mutex;
    std::vector<std::string> _errors;
    int _sent = 0;
};

// MQTT 5, after a CONNACK: the broker sends DISCONNECT with one of `reasons` and closes.
void expect_v5_disconnect(RawClient& c, std::vector<uint8_t> reasons) {
    std::vector<Packet> before;
    CHECK(c.wait_closed(3s, &before));
    const Packet* disconnect = nullptr;
    for (auto& p : before)
        if (p.type == pkt::DISCONNECT) disconnect = &p;
    if (!disconnect && broker_is_mosquitto()) {
        MESSAGE("mosquitto closed without DISCONNECT: reason code checked for Roost only");
        return;
    }
    REQUIRE(disconnect);
    uint8_t got = disconnect->reason();
    CAPTURE(int(got));
    CHECK(std::find(reasons.begin(), reasons.end(), got) != reasons.end());
}

// MQTT 5, before a CONNACK: a CONNACK with one of `reasons` (or, for mosquitto, just a close).
void expect_v5_connack_refusal(RawClient& c, std::vector<uint8_t> reasons) {
    std::vector<Packet> before;
    CHECK(c.wait_closed(3s, &before));
    const Packet* connack = nullptr;
    for (auto& p : before)
        if (p.type == pkt::CONNACK) connack = &p;
    if (!connack && broker_is_mosquitto()) {
        MESSAGE("mosquitto closed without CONNACK: reason code checked for Roost only");
        return;
    }
    REQUIRE(connack);
    uint8_t got = connack->reason();
    CAPTURE(int(got));
    CHECK(std::find(reasons.begin(), reasons.end(), got) != reasons.end());
}

// MQTT 3.1.1: the connection is closed, and nothing but (at most) a CONNACK came first.
void expect_v4_close(RawClient& c) {
    std::vector<Packet> before;
    CHECK(c.wait_closed(3s, &before));
    for (auto& p : before)
        CHECK(p.type == pkt::CONNACK);
}

// The broker log names the reason. Roost logs the spec's reason names; mosquitto its own words.
// Only the log from byte `from` on is searched.
void expect_log(const Broker& b, std::vector<std::string> roost, std::vector<std::string> mosquitto,
                size_t from = 0) {
    auto& needles = broker_is_mosquitto() ? mosquitto : roost;
    bool found = b.wait_log(needles, 3s, from);
    if (!found) {
        std::string log = b.log().substr(std::min(from, b.log().size()));
        if (log.size() > 3000) log = log.substr(log.size() - 3000);
        INFO("broker log tail:\n" << log);
        CHECK(found);
    }
}

const std::vector<std::string> kMalformedRoost = {"malformed"};
const std::vector<std::string> kMalformedMosq = {"malformed", "protocol error", "socket error"};
const std::vector<std::string> kProtocolRoost = {"protocol error"};
const std::vector<std::string> kProtocolMosq = {"protocol error", "malformed", "socket error"};

// A connected client of the given version; the CONNACK is required.
std::unique_ptr<RawClient> connected(const Broker& b, uint8_t version, const std::string& id) {
    auto c = std::make_unique<RawClient>(b.port());
    auto ack = c->handshake(pkt::conn(version, id));
    REQUIRE(ack);
    REQUIRE(ack->reason() == 0);
    return c;
}

}  // namespace

TEST_CASE("truncated packets: a field runs past the end of the packet") {
    Broker b(bad_input_options());
    Canary canary(b);
    SUBCASE("CONNECT whose client id length runs past the packet, 3.1.1") {
        RawClient c(b.port());
        Bytes body = pkt::str("MQTT") + char(4) + char(2) + pkt::u16(60) + pkt::u16(20) + "abc";
        REQUIRE(c.send(pkt::packet(0x10, body)));
        expect_v4_close(c);
    }
    SUBCASE("PUBLISH whose topic length runs past the packet, MQTT 5") {
        auto c = connected(b, 5, "trunc5");
        REQUIRE(c->send(pkt::packet(0x30, pkt::u16(50) + "ab")));
        expect_v5_disconnect(*c, {0x81});
        expect_log(b, kMalformedRoost, kMalformedMosq);
    }
    SUBCASE("PUBLISH whose topic length runs past the packet, 3.1.1") {
        auto c = connected(b, 4, "trunc4");
        REQUIRE(c->send(pkt::packet(0x30, pkt::u16(50) + "ab")));
        expect_v4_close(*c);
        expect_log(b, kMalformedRoost, kMalformedMosq);
    }
    SUBCASE("half a packet, then the client goes away") {
        RawClient c(b.port());
        Bytes connect = pkt::connect(pkt::conn(4, "half"));
        REQUIRE(c.send(connect.substr(0, connect.size() / 2)));
        c.close();
    }
    canary.check();
}

TEST_CASE("remaining length encoded in 5 bytes is malformed") {
    Broker b(bad_input_options());
    Canary canary(b);
    for (uint8_t version : {uint8_t(4), uint8_t(5)}) {
        CAPTURE(int(version));
        auto c = connected(b, version, "varint" + std::to_string(version));
        REQUIRE(c->send(Bytes("\x30\xff\xff\xff\xff\x01", 6)));
        if (version == 5)
            expect_v5_disconnect(*c, {0x81});
        else
            expect_v4_close(*c);
    }
    expect_log(b, kMalformedRoost, kMalformedMosq);
    canary.check();
}

TEST_CASE("ill-formed UTF-8 in a topic and in a client id") {
    Broker b(bad_input_options());
    Canary canary(b);
    const std::string bad = "a/\xc0\xaf";  // overlong encoding of '/'
    SUBCASE("PUBLISH topic, MQTT 5") {
        auto c = connected(b, 5, "utf5");
        REQUIRE(c->send(pkt::publish(bad, "x", 0, 0, false, 5)));
        expect_v5_disconnect(*c, {0x81});
        expect_log(b, kMalformedRoost, kMalformedMosq);
    }
    SUBCASE("PUBLISH topic, 3.1.1") {
        auto c = connected(b, 4, "utf4");
        REQUIRE(c->send(pkt::publish(bad, "x")));
        expect_v4_close(*c);
        expect_log(b, kMalformedRoost, kMalformedMosq);
    }
    SUBCASE("SUBSCRIBE filter, MQTT 5") {
        auto c = connected(b, 5, "utfsub5");
        REQUIRE(c->send(pkt::subscribe(1, bad, 0, 5)));
        expect_v5_disconnect(*c, {0x81});
        expect_log(b, kMalformedRoost, kMalformedMosq);
    }
    SUBCASE("CONNECT client id, MQTT 5: CONNACK 0x81 or 0x85") {
        RawClient c(b.port());
        REQUIRE(c.send(pkt::connect(pkt::conn(5, "id-\xed\xa0\x80"))));  // a UTF-16 surrogate
        expect_v5_connack_refusal(c, {0x81, 0x85});
        expect_log(b, {"malformed", "client identifier not valid"}, kMalformedMosq);
    }
    SUBCASE("CONNECT client id, 3.1.1") {
        RawClient c(b.port());
        REQUIRE(c.send(pkt::connect(pkt::conn(4, "id-\xff"))));
        expect_v4_close(c);
    }
    canary.check();
}

TEST_CASE("reserved bits and QoS 3") {
    Broker b(bad_input_options());
    Canary canary(b);
    SUBCASE("CONNECT reserved flag set, 3.1.1") {
        RawClient c(b.port());
        Bytes connect = pkt::connect(pkt::conn(4, "reserved"));
        connect[9] = char(uint8_t(connect[9]) | 0x01);  // connect flags byte, bit 0
        REQUIRE(c.send(connect));
        expect_v4_close(c);
        expect_log(b, kMalformedRoost, kMalformedMosq);
    }
    SUBCASE("SUBSCRIBE with fixed-header flags 0000, MQTT 5") {
        auto c = connected(b, 5, "subflags");
        Bytes sub = pkt::subscribe(1, "a/b", 0, 5);
        sub[0] = char(0x80);
        REQUIRE(c->send(sub));
        expect_v5_disconnect(*c, {0x81});
        expect_log(b, kMalformedRoost, kMalformedMosq);
    }
    SUBCASE("PUBREL with fixed-header flags 0000, 3.1.1") {
        auto c = connected(b, 4, "pubrelflags");
        REQUIRE(c->send(pkt::packet(0x60, pkt::u16(1))));
        expect_v4_close(*c);
        expect_log(b, kMalformedRoost, kMalformedMosq);
    }
    SUBCASE("PUBLISH QoS 3, MQTT 5") {
        auto c = connected(b, 5, "qos3-5");
        REQUIRE(c->send(pkt::publish("a/b", "x", 3, 1, false, 5)));
        expect_v5_disconnect(*c, {0x81});
        expect_log(b, kMalformedRoost, kMalformedMosq);
    }
    SUBCASE("PUBLISH QoS 3, 3.1.1") {
        auto c = connected(b, 4, "qos3-4");
        REQUIRE(c->send(pkt::publish("a/b", "x", 3, 1)));
        expect_v4_close(*c);
        expect_log(b, kMalformedRoost, kMalformedMosq);
    }
    canary.check();
}

TEST_CASE("packet identifier 0") {
    Broker b(bad_input_options());
    Canary canary(b);
    SUBCASE("QoS 1 PUBLISH with packet id 0, MQTT 5") {
        auto c = connected(b, 5, "pid0-5");
        REQUIRE(c->send(pkt::publish("a/b", "x", 1, 0, false, 5)));
        expect_v5_disconnect(*c, {0x81, 0x82});
        expect_log(b, {"malformed", "protocol error"}, kProtocolMosq);
    }
    SUBCASE("SUBSCRIBE with packet id 0, 3.1.1") {
        auto c = connected(b, 4, "pid0-4");
        REQUIRE(c->send(pkt::subscribe(0, "a/b", 0)));
        expect_v4_close(*c);
        expect_log(b, {"malformed", "protocol error"}, kProtocolMosq);
    }
    canary.check();
}

TEST_CASE("oversize packet: MQTT 5 gets DISCONNECT 0x95, 3.1.1 is closed, the log names it") {
    Broker b(bad_input_options());
    Canary canary(b);
    SUBCASE("MQTT 5: the CONNACK announces Maximum Packet Size; a bigger PUBLISH gets 0x95") {
        auto c = std::make_unique<RawClient>(b.port());
        auto ack = c->handshake(pkt::conn(5, "big5"));
        REQUIRE(ack);
        CHECK(ack->body.find(pkt::prop_u32(0x27, kMaxPacket)) != std::string::npos);
        REQUIRE(c->send(pkt::publish("big/t", std::string(kMaxPacket * 2, 'x'), 0, 0, false, 5)));
        expect_v5_disconnect(*c, {0x95});
        expect_log(b, {"packet too large", "0x95"}, {"too large", "oversize", "socket error"});
    }
    SUBCASE("3.1.1") {
        auto c = connected(b, 4, "big4");
        REQUIRE(c->send(pkt::publish("big/t", std::string(kMaxPacket * 2, 'x'))));
        expect_v4_close(*c);
        expect_log(b, {"packet too large", "0x95"}, {"too large", "oversize", "socket error"});
    }
    SUBCASE("a remaining length far beyond the limit is refused before the body arrives") {
        auto c = connected(b, 5, "huge5");
        REQUIRE(c->send(Bytes("\x30", 1) + pkt::varint(200'000'000)));
        expect_v5_disconnect(*c, {0x95});
    }
    canary.check();
}

TEST_CASE("a second CONNECT is a protocol error") {
    Broker b(bad_input_options());
    Canary canary(b);
    for (uint8_t version : {uint8_t(4), uint8_t(5)}) {
        CAPTURE(int(version));
        auto c = connected(b, version, "twice" + std::to_string(version));
        REQUIRE(c->send(pkt::connect(pkt::conn(version, "twice" + std::to_string(version)))));
        if (version == 5)
            expect_v5_disconnect(*c, {0x82});
        else
            expect_v4_close(*c);
    }
    expect_log(b, kProtocolRoost, kProtocolMosq);
    canary.check();
}

TEST_CASE("first packet not CONNECT: closed, no CONNACK") {
    Broker b(bad_input_options());
    Canary canary(b);
    for (Bytes first : {pkt::publish("a/b", "x"), pkt::subscribe(1, "a/b", 0), pkt::pingreq()}) {
        CAPTURE(int(uint8_t(first[0]) >> 4));
        size_t mark = b.log().size();
        RawClient c(b.port());
        REQUIRE(c.send(first));
        std::vector<Packet> before;
        CHECK(c.wait_closed(3s, &before));
        CHECK(before.empty());
        // The reason is the protocol rule (3.1.0-1), whatever the bytes after the first one are.
        expect_log(b, {"not connect", "protocol error"},
                   {"protocol error", "socket error", "closed its connection"}, mark);
    }
    canary.check();
}

TEST_CASE("a burst of 500 connections, each CONNECTs and gets a CONNACK") {
    Broker b(bad_input_options());
    Canary canary(b);
    const int n = 500;
    std::vector<std::unique_ptr<RawClient>> clients;
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < n; ++i) {
        clients.push_back(std::make_unique<RawClient>(b.port()));
        REQUIRE(clients.back()->connected());
        REQUIRE(clients.back()->send(pkt::connect(pkt::conn(4, "flood-" + std::to_string(i)))));
    }
    int acked = 0;
    for (auto& c : clients) {
        auto p = c->read_packet(10s);
        if (p && p->type == pkt::CONNACK && p->reason() == 0) ++acked;
    }
    CHECK(acked == n);
    MESSAGE(n << " connections accepted in "
              << std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start).count()
              << " ms");
    clients.clear();  // all close at once, without DISCONNECT
    settle(300ms);
    canary.check();
}

TEST_CASE("connections that send nothing do not disturb others") {
    Broker b(bad_input_options());
    Canary canary(b);
    std::vector<std::unique_ptr<RawClient>> silent;
    for (int i = 0; i < 50; ++i)
        silent.push_back(std::make_unique<RawClient>(b.port()));
    settle(1s);
    // The default [limits] connect_timeout is 10 s (01_connect checks the close itself).
    CHECK_FALSE(silent.front()->wait_closed(50ms));
    CHECK_FALSE(silent.back()->wait_closed(50ms));
    canary.check();
}

// ---------------------------------------------------------------------------------------------
// Malformed CONNECTs get an answer in the form of the version they announce (MQTT-3.1.4-1,
// MQTT-3.2.2-6): 3.1.1 has only a 2-byte CONNACK with return codes 0x01 to 0x05, or a close.

namespace {

// A 3.1.1 CONNECT body: protocol name, level 4, flags, keep alive 60, then `payload` as is.
Bytes connect4(uint8_t flags, const Bytes& payload, uint8_t level = 4) {
    return pkt::packet(0x10, pkt::str("MQTT") + char(level) + char(flags) + pkt::u16(60) + payload);
}
// The same for MQTT 5: an empty property block after the keep alive; `payload` must carry the
// will properties itself where there is a will.
Bytes connect5(uint8_t flags, const Bytes& payload) {
    return pkt::packet(0x10,
                       pkt::str("MQTT") + char(5) + char(flags) + pkt::u16(60) + pkt::varint(0) + payload);
}

// 3.1.1: whatever came before the close is at most one CONNACK of exactly 2 bytes, session
// present 0 and a return code from 0x01 to 0x05 (a 0x00 would accept the broken CONNECT). From
// Roost, exactly the CONNACK with `roost_code`, or (roost_code 0) nothing at all.
void expect_v4_refusal(RawClient& c, uint8_t roost_code) {
    std::vector<Packet> before;
    CHECK(c.wait_closed(3s, &before));
    CHECK(before.size() <= 1);
    for (auto& p : before) {
        CAPTURE(p.raw.size());
        CHECK(p.type == pkt::CONNACK);
        CHECK(p.flags == 0);
        REQUIRE(p.body.size() == 2);  // no MQTT 5 reason code + properties
        CHECK(p.body[0] == 0);
        CHECK(uint8_t(p.body[1]) >= 0x01);
        CHECK(uint8_t(p.body[1]) <= 0x05);
    }
    if (broker_is_mosquitto()) return;
    if (roost_code == 0) {
        CHECK(before.empty());
    } else {
        REQUIRE(before.size() == 1);
        CHECK(before[0].raw == Bytes("\x20\x02\x00", 3) + char(roost_code));
    }
}

// MQTT 5: a CONNACK with reason `code` and a Reason String (Roost's exact first bytes), then the
// close; mosquitto may just close.
void expect_v5_refusal(RawClient& c, uint8_t code) {
    std::vector<Packet> before;
    CHECK(c.wait_closed(3s, &before));
    if (before.empty() && broker_is_mosquitto()) return;
    REQUIRE(before.size() == 1);
    const Packet& p = before[0];
    CHECK(p.type == pkt::CONNACK);
    REQUIRE(p.body.size() >= 3);
    CHECK(p.body[0] == 0);
    CHECK(uint8_t(p.body[1]) == code);
    if (broker_is_mosquitto()) return;
    // Property length (one byte here), then the Reason String (0x1F) filling it exactly.
    REQUIRE(p.body.size() >= 6);
    CHECK(uint8_t(p.body[2]) == p.body.size() - 3);
    CHECK(p.body[3] == 0x1F);
    CHECK(((uint8_t(p.body[4]) << 8) | uint8_t(p.body[5])) == int(p.body.size()) - 6);
}

struct BadConnect {
    std::string rule;
    Bytes v4;
    uint8_t v4_roost;  // the 3.1.1 return code Roost sends; 0 = close without CONNACK
    Bytes v5;          // the same rule broken in MQTT 5; empty where MQTT 5 allows it
    uint8_t v5_code;
};

std::vector<BadConnect> bad_connects() {
    using pkt::str;
    const Bytes bad_utf8 = Bytes("\x00\x04id-\xff", 6);
    return {
        {"password without user name (MQTT-3.1.2-22)", connect4(0x42, str("c") + str("pw")), 0, {}, 0},
        {"reserved flag set (MQTT-3.1.2-3)", connect4(0x03, str("c")), 0, connect5(0x03, str("c")), 0x81},
        {"will QoS 3 (MQTT-3.1.2-14)", connect4(0x1E, str("c") + str("w/t") + str("x")), 0,
         connect5(0x1E, str("c") + pkt::varint(0) + str("w/t") + str("x")), 0x81},
        {"wildcard in the will topic (MQTT-3.3.2-2)", connect4(0x06, str("c") + str("w/+") + str("x")), 0,
         connect5(0x06, str("c") + pkt::varint(0) + str("w/#") + str("x")), 0x81},
        {"ill-formed UTF-8 client id (MQTT-1.5.3-1, MQTT-3.1.3-8)", connect4(0x02, bad_utf8), 0x02,
         connect5(0x02, bad_utf8), 0x81},
        {"trailing bytes after the payload", connect4(0x02, str("c") + Bytes(1, '\0')), 0,
         connect5(0x02, str("c") + Bytes(1, '\0')), 0x81},
        {"will QoS without will flag (MQTT-3.1.2-11)", connect4(0x0A, str("c")), 0, connect5(0x0A, str("c")),
         0x81},
        {"will retain without will flag (MQTT-3.1.2-15)", connect4(0x22, str("c")), 0,
         connect5(0x22, str("c")), 0x81},
        {"user name flag without a user name", connect4(0x82, str("c")), 0, connect5(0x82, str("c")), 0x81},
        {"fixed-header flags not 0000 (MQTT-2.2.2-2)", Bytes("\x11", 1) + connect4(0x02, str("c")).substr(1),
         0, Bytes("\x11", 1) + connect5(0x02, str("c")).substr(1), 0x81},
        {"unknown protocol level (MQTT-3.1.2-2)", connect4(0x02, str("c"), 3), 0x01, {}, 0},
        {"empty client id without clean session (MQTT-3.1.3-8)", connect4(0x00, str("")), 0x02, {}, 0},
    };
}

}  // namespace

TEST_CASE("malformed CONNECT: each answered in the form of the version it announces") {
    Broker b(bad_input_options());
    Canary canary(b);
    for (const BadConnect& bc : bad_connects()) {
        CAPTURE(bc.rule);
        {
            size_t mark = b.log().size();
            RawClient c(b.port());
            REQUIRE(c.send(bc.v4));
            expect_v4_refusal(c, bc.v4_roost);
            if (!broker_is_mosquitto()) CHECK(b.wait_log({"refused connect"}, 3s, mark));
        }
        if (!bc.v5.empty()) {
            RawClient c(b.port());
            REQUIRE(c.send(bc.v5));
            expect_v5_refusal(c, bc.v5_code);
        }
    }
    canary.check();
}

TEST_CASE("malformed CONNECT: too large, or cut before the protocol level") {
    Broker b(bad_input_options());
    Canary canary(b);
    SUBCASE("3.1.1 CONNECT over the maximum packet size: closed, no MQTT 5 CONNACK 0x95") {
        RawClient c(b.port());
        Bytes big = connect4(0x02, pkt::str(std::string(kMaxPacket, 'x')));
        REQUIRE(c.send(big.substr(0, 64)));  // the level is in the first bytes; the rest never comes
        expect_v4_refusal(c, 0);
    }
    SUBCASE("MQTT 5 CONNECT over the maximum packet size: CONNACK 0x95") {
        RawClient c(b.port());
        Bytes big = connect5(0x02, pkt::str(std::string(kMaxPacket, 'x')));
        REQUIRE(c.send(big.substr(0, 64)));
        expect_v5_refusal(c, 0x95);
    }
    SUBCASE("remaining length ends inside the protocol name: nothing announced, just a close") {
        RawClient c(b.port());
        REQUIRE(c.send(Bytes("\x10\x03\x00\x04M", 5)));
        expect_v4_refusal(c, 0);
    }
    canary.check();
}

TEST_CASE("MQTT 5: a PUBLISH from a client with a Subscription Identifier is a protocol error") {
    // MQTT-3.3.4-6. 3.1.1 has no properties, so nothing to break there.
    ROOST_ONLY();  // Mosquitto 2.0.11 gets it wrong: it accepts the PUBLISH and routes it
    Broker b(bad_input_options());
    Canary canary(b);
    for (uint8_t qos : {uint8_t(0), uint8_t(1)}) {
        CAPTURE(int(qos));
        size_t mark = b.log().size();
        RawClient c(b.port());
        pkt::Connect cc = pkt::conn(5, "subid-pub" + std::to_string(qos));
        cc.properties = pkt::prop_u8(0x17, 0);  // Request Problem Information 0: no Reason String
        auto ack = c.handshake(cc);
        REQUIRE(ack);
        REQUIRE(ack->reason() == 0);
        Bytes sid = Bytes("\x0B", 1) + pkt::varint(7);
        REQUIRE(c.send(pkt::publish("subid/t", "x", qos, qos ? 1 : 0, false, 5, sid)));
        std::vector<Packet> before;
        CHECK(c.wait_closed(3s, &before));
        REQUIRE(before.size() == 1);  // no PUBACK: the PUBLISH was not taken
        CHECK(before[0].raw == Bytes("\xe0\x01\x82", 3));
        expect_log(b, {"subscription identifier"}, {}, mark);
    }
    canary.check();
}

TEST_CASE("MQTT 5: Topic Alias 0 gets DISCONNECT 0x94 Topic Alias invalid") {
    // MQTT-3.3.2-8 and 3.3.2.3.4; MQTT 3.1.1 has no topic aliases.
    ROOST_ONLY();  // Mosquitto 2.0.11 gets it wrong: it sends DISCONNECT 0x81
    Broker b(bad_input_options());
    Canary canary(b);
    RawClient c(b.port());
    pkt::Connect cc = pkt::conn(5, "alias0");
    cc.properties = pkt::prop_u8(0x17, 0);  // Request Problem Information 0: no Reason String
    auto ack = c.handshake(cc);
    REQUIRE(ack);
    REQUIRE(ack->reason() == 0);
    REQUIRE(c.send(pkt::publish("alias/t", "x", 0, 0, false, 5, pkt::prop_u16(0x23, 0))));
    std::vector<Packet> before;
    CHECK(c.wait_closed(3s, &before));
    REQUIRE(before.size() == 1);
    CHECK(before[0].raw == Bytes("\xe0\x01\x94", 3));
    expect_log(b, {"topic alias invalid"}, {});
    canary.check();
}

TEST_CASE("MQTT 5: DISCONNECT 0x93 reaches a client that is still sending (lingering close)") {
    // The broker closes with the client's bytes still arriving. close() on a socket with unread
    // bytes makes the kernel send RST at once and throw away what it had not yet sent: with the
    // client slow to read (a small receive buffer, 100 kB of its own messages coming back), that
    // is the DISCONNECT. The broker must shut its write side, drain, and only then close.
    // Repeated, since it is a race.
    ROOST_ONLY();  // Mosquitto 2.0.11 gets it wrong: it accepts QoS 2 past its Receive Maximum
    BrokerOptions o;
    o.limits = {"max_inflight = 2"};
    Broker b(o);
    Canary canary(b);
    const std::string echo(1000, 'e');
    const int echoes = 100;
    for (int round = 0; round < 20; ++round) {
        CAPTURE(round);
        RawClient c(b.port(), 0, 4096);
        pkt::Connect cc = pkt::conn(5, "flooder");
        cc.properties = pkt::prop_u8(0x17, 0);  // Request Problem Information 0: no Reason String
        auto ack = c.handshake(cc);
        REQUIRE(ack);
        REQUIRE(ack->reason() == 0);
        REQUIRE(c.send(pkt::subscribe(1, "echo/t", 0, 5)));
        REQUIRE(c.read_until(pkt::SUBACK));
        // QoS 0 messages that come back to it, then QoS 2 PUBLISHes never released: the third
        // exceeds Receive Maximum 2. More follow in the same write, and in a few writes after it.
        Bytes burst;
        for (int i = 0; i < echoes; ++i)
            burst += pkt::publish("echo/t", echo, 0, 0, false, 5);
        for (uint16_t id = 1; id <= 100; ++id)
            burst += pkt::publish("flood/t", "x", 2, id, false, 5);
        REQUIRE(c.send(burst));
        for (uint16_t id = 101; id <= 120; ++id) {
            if (!c.send(pkt::publish("flood/t", "x", 2, id, false, 5))) break;
            std::this_thread::sleep_for(2ms);
        }
        std::vector<Packet> before;
        CHECK(c.wait_closed(5s, &before));
        REQUIRE(before.size() == size_t(echoes) + 3);
        CHECK(before[0].raw == pkt::publish("echo/t", echo, 0, 0, false, 5));
        // PUBREC 1 and 2, reason 0x10 No matching subscribers
        CHECK(before[echoes].raw == Bytes("\x50\x03\x00\x01\x10", 5));
        CHECK(before[echoes + 1].raw == Bytes("\x50\x03\x00\x02\x10", 5));
        CHECK(before[echoes + 2].raw == Bytes("\xe0\x01\x93", 3));  // DISCONNECT Receive Maximum exceeded
    }
    CHECK(b.log_contains("Receive Maximum exceeded"));
    canary.check();
}
