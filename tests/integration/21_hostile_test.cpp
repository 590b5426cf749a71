// 21 hostile clients (issue 12): one client must not exhaust, stall or fool the broker. Each case
// has a hostile client cross one limit over real sockets and checks three things: the answer it
// gets (the MQTT 5 reason code where there is one), that the broker's resident memory stays under
// a stated bound (VmRSS from /proc), and, where the attack is about the others, that a second
// client keeps getting its messages within a stated latency. Every case takes a few seconds.
#include <doctest/doctest.h>

#include <cstdlib>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <thread>

#include "harness.hpp"

using namespace roost_it;

namespace {

// The latency bound for the second client: generous for a shared 2-core machine, far below the
// multi-second stalls issue 12 measured.
constexpr Millis kMaxLatency = 1500ms;

constexpr size_t kMiB = 1024 * 1024;

// A publisher and a subscriber (MQTT 3.1.1, QoS 0) that measure, every 50 ms on their own thread,
// how long one message takes to come round; max() is the worst seen.
class Probe {
  public:
    explicit Probe(const Broker& b) : _pub(b.port()), _sub(b.port()) {
        ok = _pub.handshake(pkt::conn(4, "probe-pub")) && _sub.handshake(pkt::conn(4, "probe-sub")) &&
             _sub.send(pkt::subscribe(1, "probe/t", 0)) && _sub.read_until(pkt::SUBACK).has_value();
        if (ok) _thread = std::thread([this] { loop(); });
    }
    ~Probe() { stop(); }
    void stop() {
        _stop = true;
        if (_thread.joinable()) _thread.join();
    }
    // Stops, and checks every message came within kMaxLatency.
    void check() {
        REQUIRE(ok);
        stop();
        MESSAGE("probe: " << _count << " messages, worst latency " << _max.count() << " ms");
        CHECK(_count >= 1);
        CHECK(_lost == 0);
        CHECK(_max <= kMaxLatency);
    }
    bool ok = false;

  private:
    void loop() {
        // At least one round, even when the test stops the probe at once (a load that ends in a
        // few ms would otherwise leave nothing measured, and check() would fail on _count).
        for (int seq = 0; seq == 0 || !_stop; ++seq) {
            auto start = std::chrono::steady_clock::now();
            std::string payload = std::to_string(seq);
            if (!_pub.send(pkt::publish("probe/t", payload))) return void(++_lost);
            std::optional<Packet> got;
            do {
                got = _sub.read_until(pkt::PUBLISH, 5s);
            } while (got && got->publish_payload(4) != payload);
            if (!got) return void(++_lost);
            auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
            _max = std::max(_max, took);
            ++_count;
            std::this_thread::sleep_for(50ms);
        }
    }
    RawClient _pub, _sub;
    std::thread _thread;
    std::atomic<bool> _stop{false};
    Millis _max{0};
    int _count = 0;
    int _lost = 0;
};

// SUBSCRIBE with several filters (MQTT 5 when version is 5).
Bytes subscribe_many(uint16_t id, const std::vector<std::string>& filters, uint8_t version) {
    Bytes body = pkt::u16(id);
    if (version == 5) body += pkt::varint(0);
    for (const auto& f : filters)
        body += pkt::str(f) + char(0);
    return pkt::packet(0x82, body);
}

// The reason codes of a SUBACK.
std::string suback_codes(const Packet& p, uint8_t version) {
    return p.body.substr(version == 5 ? 3 : 2);
}

// The packet the broker sent before it closed, of `type`, or nullopt.
std::optional<Packet> last_before_close(RawClient& c, uint8_t type, Millis timeout = 5s) {
    std::vector<Packet> before;
    if (!c.wait_closed(timeout, &before)) return std::nullopt;
    for (auto it = before.rbegin(); it != before.rend(); ++it)
        if (it->type == type) return *it;
    return Packet{};  // closed, without such a packet (type 0)
}

// CONNECT with a user name (3.1.1 or 5).
Bytes connect_with_user(uint8_t version, std::string_view id, std::string_view user) {
    Bytes body = pkt::str("MQTT") + char(version) + char(0x82) + pkt::u16(60);
    if (version == 5) body += pkt::varint(0);
    body += pkt::str(id) + pkt::str(user);
    return pkt::packet(0x10, body);
}

// MQTT 5 PUBLISH properties: the Topic Alias (0x23) if there is one, else 0.
uint16_t topic_alias_of(const Packet& p) {
    const Bytes& b = p.body;
    size_t len = (uint8_t(b[0]) << 8) | uint8_t(b[1]);
    size_t i = 2 + len + (((p.flags >> 1) & 3) ? 2 : 0);
    uint32_t plen = 0;
    for (int shift = 0; i < b.size(); shift += 7) {
        uint8_t c = uint8_t(b[i++]);
        plen |= uint32_t(c & 0x7f) << shift;
        if (!(c & 0x80)) break;
    }
    size_t end = i + plen;
    while (i < end && i < b.size()) {
        uint8_t id = uint8_t(b[i++]);
        if (id == 0x23) return uint16_t((uint8_t(b[i]) << 8) | uint8_t(b[i + 1]));
        if (id == 0x01 || id == 0x17 || id == 0x19 || id == 0x24 || id == 0x25)
            i += 1;
        else if (id == 0x02 || id == 0x11 || id == 0x18 || id == 0x27)
            i += 4;
        else if (id == 0x13 || id == 0x21 || id == 0x22)
            i += 2;
        else if (id == 0x0B) {
            while (uint8_t(b[i++]) & 0x80) {
            }
        } else {  // strings and binary data: 2-byte length; user property: two of them
            size_t n = (uint8_t(b[i]) << 8) | uint8_t(b[i + 1]);
            i += 2 + n;
            if (id == 0x26) {
                n = (uint8_t(b[i]) << 8) | uint8_t(b[i + 1]);
                i += 2 + n;
            }
        }
    }
    return 0;
}

}  // namespace

TEST_CASE("1: max_topic_levels refuses deep filters (0x8F) and deep topics (0x90), memory stays flat") {
    ROOST_ONLY();
    Broker b;
    Probe probe(b);
    const size_t before = resident_bytes(b.pid());
    RawClient c(b.port());
    REQUIRE(c.handshake(pkt::conn(5, "deep")));
    // 20 SUBSCRIBEs of 64 KiB filters made of '/' (32768 levels each): 473 MB before the limit.
    const std::string slashes(65000, '/');
    for (uint16_t i = 1; i <= 20; ++i)
        REQUIRE(c.send(pkt::subscribe(i, slashes, 0, 5)));
    for (int i = 0; i < 20; ++i) {
        auto ack = c.read_until(pkt::SUBACK, 5s);
        REQUIRE(ack);
        CHECK(suback_codes(*ack, 5) == Bytes(1, char(0x8F)));
    }
    // 128 levels are fine, 129 are not.
    std::string ok_filter = "a";
    for (int i = 1; i < 128; ++i)
        ok_filter += "/a";
    REQUIRE(c.send(subscribe_many(30, {ok_filter, ok_filter + "/a"}, 5)));
    auto ack = c.read_until(pkt::SUBACK);
    REQUIRE(ack);
    CHECK(suback_codes(*ack, 5) == Bytes{char(0x00), char(0x8F)});
    const size_t after = resident_bytes(b.pid());
    MESSAGE("RSS before " << before / 1024 << " KiB, after " << after / 1024 << " KiB");
    CHECK(after < before + memory_bound(16 * kMiB));
    // A topic name of 129 levels ends the connection with 0x90 Topic Name invalid.
    REQUIRE(c.send(pkt::publish(ok_filter + "/a", "x", 0, 0, true, 5)));
    auto d = last_before_close(c, pkt::DISCONNECT);
    REQUIRE(d);
    CHECK(int(d->reason()) == 0x90);
    CHECK(b.log_contains("max_topic_levels"));
    probe.check();
}

TEST_CASE("2: user properties, CONNECT size and announced lengths are bounded before authentication") {
    ROOST_ONLY();
    Broker b;
    Probe probe(b);
    const size_t before = resident_bytes(b.pid());
    {
        // 65 user properties in a CONNECT: refused with 0x97 Quota exceeded.
        pkt::Connect cn = pkt::conn(5, "props");
        for (int i = 0; i < 65; ++i)
            cn.properties += pkt::prop_str(0x26, "k") + pkt::str("v");
        RawClient c(b.port());
        REQUIRE(c.send(pkt::connect(cn)));
        auto ack = last_before_close(c, pkt::CONNACK);
        REQUIRE(ack);
        CHECK(ack->type == pkt::CONNACK);
        CHECK(int(ack->reason()) == 0x97);
    }
    {
        // A 100 KB CONNECT: over max_connect_packet_size (64 KiB): 0x95 Packet too large.
        pkt::Connect cn = pkt::conn(5, "big");
        cn.properties = pkt::prop_str(0x26, "k") + pkt::str(std::string(60000, 'v')) +
                        pkt::prop_str(0x26, "k") + pkt::str(std::string(40000, 'v'));
        RawClient c(b.port());
        REQUIRE(c.send(pkt::connect(cn)));
        auto ack = last_before_close(c, pkt::CONNACK);
        REQUIRE(ack);
        if (ack->type == pkt::CONNACK) CHECK(int(ack->reason()) == 0x95);
    }
    {
        // 30 five-byte CONNECT headers announcing 256 MB each: closed at once, nothing reserved.
        std::vector<std::unique_ptr<RawClient>> clients;
        for (int i = 0; i < 30; ++i) {
            clients.push_back(std::make_unique<RawClient>(b.port()));
            clients.back()->send(std::string("\x10\xff\xff\xff\x7f", 5));
        }
        for (auto& c : clients)
            CHECK(c->wait_closed(3s));
    }
    const size_t after = resident_bytes(b.pid());
    MESSAGE("RSS before " << before / 1024 << " KiB, after " << after / 1024 << " KiB");
    CHECK(after < before + memory_bound(16 * kMiB));
    CHECK(b.log_contains("max_user_properties"));
    probe.check();
}

TEST_CASE("3: a client's 2 MiB batch does not stall the others; keep alive counts bytes") {
    ROOST_ONLY();
    Broker b;
    Probe probe(b);
    {
        RawClient c(b.port());
        REQUIRE(c.handshake(pkt::conn(4, "batch")));
        // 2 MiB of QoS 1 publishes in one go, read back slowly: the PUBACKs pile up, the batch is
        // handled in budgets, and the probe keeps its latency.
        Bytes batch;
        for (uint16_t i = 1; batch.size() < 2 * kMiB; ++i)
            batch += pkt::publish("batch/t", std::string(100, 'x'), 1, uint16_t(i % 60000 + 1));
        REQUIRE(c.send(batch));
        settle(1500ms);
    }
    {
        // Keep alive 1 s, and a packet trickled one byte every 400 ms over 3 s: bytes keep it alive.
        RawClient c(b.port());
        REQUIRE(c.handshake(pkt::conn(4, "slow", true, 1)));
        Bytes p = pkt::publish("slow/t", "12345");
        for (char ch : p) {
            REQUIRE(c.send(std::string(1, ch)));
            settle(400ms);
        }
        REQUIRE(c.send(pkt::pingreq()));
        CHECK(c.read_until(pkt::PINGRESP, 2s).has_value());
    }
    probe.check();
}

TEST_CASE(
    "3/9: SUBSCRIBE '#' over many retained messages goes out in turns, none dropped, others unstalled") {
    ROOST_ONLY();
    Broker b;
    const int retained = 20000;
    {
        RawClient loader(b.port());
        REQUIRE(loader.handshake(pkt::conn(4, "loader")));
        Bytes all;
        for (int i = 0; i < retained; ++i)
            all += pkt::publish("r/" + std::to_string(i), std::string(200, 'v'), 0, 0, true);
        REQUIRE(loader.send(all));
        REQUIRE(loader.send(pkt::pingreq()));
        REQUIRE(loader.read_until(pkt::PINGRESP, 10s));
    }
    Probe probe(b);
    // A small receive buffer: the 4.5 MB of each walk cannot all sit in the kernel, so the
    // broker holds the rest back (max_output_buffer) rather than dropping it.
    RawClient hostile(b.port(), 0, 4096);
    REQUIRE(hostile.handshake(pkt::conn(4, "walker")));
    const int rounds = 3;
    Bytes burst;
    for (int i = 0; i < rounds; ++i)
        burst += pkt::subscribe(uint16_t(2 * i + 1), "#", 0) +
                 pkt::packet(0xA2, pkt::u16(uint16_t(2 * i + 2)) + pkt::str("#"));
    REQUIRE(hostile.send(burst));
    settle(1s);  // the broker meets a client that does not read
    std::vector<int> per_walk;
    int count = 0;
    while (auto p = hostile.read_packet(5s)) {
        if (p->type == pkt::PUBLISH && p->publish_topic().starts_with("r/")) ++count;  // not the probe's
        if (p->type == pkt::UNSUBACK) {
            per_walk.push_back(count);
            count = 0;
            if (per_walk.size() == rounds) break;
        }
    }
    std::string counts;
    for (int n : per_walk)
        counts += std::to_string(n) + " ";
    MESSAGE("retained messages per SUBSCRIBE '#': " << counts);
    CHECK(per_walk == std::vector<int>(rounds, retained));
    probe.check();
}

TEST_CASE("4/5: max_output_buffer and send_timeout bound a client that does not read") {
    ROOST_ONLY();
    BrokerOptions o;
    o.limits = {"send_timeout = 3"};
    Broker b(o);
    Probe probe(b);
    const size_t before = resident_bytes(b.pid());
    // A subscriber that never reads, and 20 MB of QoS 0 messages for it.
    RawClient sink(b.port(), 0, 4096);
    REQUIRE(sink.handshake(pkt::conn(4, "sink")));
    REQUIRE(sink.send(pkt::subscribe(1, "flood/t", 0)));
    REQUIRE(sink.read_until(pkt::SUBACK));
    // PINGREQs without reading the PINGRESPs: reading stops at max_output_buffer.
    RawClient pinger(b.port(), 0, 4096);
    REQUIRE(pinger.handshake(pkt::conn(4, "pinger")));
    Bytes pings;
    for (int i = 0; i < 100000; ++i)
        pings += pkt::pingreq();
    std::thread ping_thread([&] {
        for (int i = 0; i < 10 && pinger.send(pings); ++i) {
        }
    });
    RawClient pub(b.port());
    REQUIRE(pub.handshake(pkt::conn(4, "flooder")));
    const Bytes msg = pkt::publish("flood/t", std::string(10000, 'x'));
    Bytes burst;
    for (int i = 0; i < 100; ++i)
        burst += msg;
    for (int i = 0; i < 20; ++i) {
        REQUIRE(pub.send(burst));
        settle(20ms);
    }
    settle(500ms);
    const size_t peak = resident_bytes(b.pid());
    MESSAGE("RSS before " << before / 1024 << " KiB, with 20 MB sent to a non-reader " << peak / 1024
                          << " KiB");
    CHECK(peak < before + memory_bound(24 * kMiB));
    // send_timeout = 3: the non-readers are disconnected (messages keep coming meanwhile, so
    // that the broker's own output, not only the kernel's socket buffer, waits for the sink).
    // The sink is not touched until the broker says so: reading it would let the write progress.
    bool timed_out = false;
    for (int i = 0; i < 80 && !timed_out; ++i) {
        pub.send(msg);
        settle(100ms);
        timed_out = b.log_contains("send_timeout = 3); closing");
    }
    CHECK(timed_out);
    CHECK(sink.wait_closed(10s));
    pinger.close();
    ping_thread.join();
    CHECK(b.log_contains("max_output_buffer"));
    probe.check();
}

TEST_CASE("6: max_sessions, max_subscriptions_per_client and 3.1.1 session expiry") {
    ROOST_ONLY();
    BrokerOptions o;
    o.limits = {"max_sessions = 3", "max_subscriptions_per_client = 5", "max_session_expiry = 1"};
    Broker b(o);
    std::vector<std::unique_ptr<RawClient>> held;
    for (int i = 0; i < 3; ++i) {
        held.push_back(std::make_unique<RawClient>(b.port()));
        auto ack = held.back()->handshake(pkt::conn(4, "s" + std::to_string(i), false));
        REQUIRE(ack);
        CHECK(int(ack->reason()) == 0);
    }
    {
        RawClient c(b.port());
        auto ack = c.handshake(pkt::conn(5, "s-over"));
        REQUIRE(ack);
        CHECK(int(ack->reason()) == 0x97);
        RawClient d(b.port());
        ack = d.handshake(pkt::conn(4, "s-over-311", false));
        REQUIRE(ack);
        CHECK(int(ack->reason()) == 0x03);
    }
    // A resumed session is not a new one.
    held[0].reset();
    settle(100ms);
    {
        RawClient c(b.port());
        auto ack = c.handshake(pkt::conn(4, "s0", false));
        REQUIRE(ack);
        CHECK(int(ack->reason()) == 0);
        CHECK((uint8_t(ack->body[0]) & 1) == 1);  // session present
        REQUIRE(c.send(subscribe_many(1, {"a", "b", "c", "d", "e", "f"}, 4)));
        auto sub = c.read_until(pkt::SUBACK);
        REQUIRE(sub);
        CHECK(suback_codes(*sub, 4) == Bytes{0, 0, 0, 0, 0, char(0x80)});
        c.send(pkt::disconnect());
    }
    // max_session_expiry = 1 applies to the 3.1.1 clean-session-0 session too.
    settle(3000ms);
    RawClient c(b.port());
    auto ack = c.handshake(pkt::conn(4, "s0", false));
    REQUIRE(ack);
    CHECK((uint8_t(ack->body[0]) & 1) == 0);
}

TEST_CASE("7: connections are bounded from accept, before CONNECT, and per address") {
    ROOST_ONLY();
    BrokerOptions o;
    o.limits = {"max_pending_connects = 5", "max_connections_per_address = 8"};
    Broker b(o);
    auto count_open = [](std::vector<std::unique_ptr<RawClient>>& cs) {
        int open = 0;
        for (auto& c : cs)
            open += !c->wait_closed(300ms);
        return open;
    };
    {
        // 10 silent sockets: at most 5 stay open waiting for their CONNECT.
        std::vector<std::unique_ptr<RawClient>> silent;
        for (int i = 0; i < 10; ++i)
            silent.push_back(std::make_unique<RawClient>(b.port()));
        settle(300ms);
        CHECK(count_open(silent) <= 5);
    }
    settle(500ms);
    {
        // Connected clients from one address: at most 8.
        std::vector<std::unique_ptr<RawClient>> cs;
        int accepted = 0;
        for (int i = 0; i < 10; ++i) {
            cs.push_back(std::make_unique<RawClient>(b.port()));
            accepted += cs.back()->handshake(pkt::conn(4, "c" + std::to_string(i)), 1s).has_value();
        }
        CHECK(accepted == 8);
    }
    CHECK(b.log_contains("max_pending_connects"));
    CHECK(b.log_contains("max_connections_per_address"));
    CHECK(b.log_contains("open-file limit"));  // the automatic max_connections, logged at start
}

TEST_CASE("7b: a client that saw its connection end finds its place free when it reconnects at once") {
    // The broker gives a connection's pending and per-address places back when it closes or
    // lingers, before the peer can see the end: not a loop turn later, when the handle is freed.
    // A device at the limit that reconnects the moment it is dropped is not refused for its own
    // old connection.
    ROOST_ONLY();
    BrokerOptions o;
    o.limits = {"max_pending_connects = 1", "max_connections_per_address = 1", "connect_timeout = 1"};
    Broker b(o);
    settle(300ms);  // the harness's probe of the port, closed by the client, is gone
    for (int round = 0; round < 3; ++round) {
        CAPTURE(round);
        // Closed for want of a CONNECT: the pending place and the address's one.
        RawClient silent(b.port());
        REQUIRE(silent.wait_closed(4s));
        RawClient next(b.port());
        auto ack = next.handshake(pkt::conn(4, "next" + std::to_string(round)), 2s);
        REQUIRE_MESSAGE(ack, b.log());
        CHECK(ack->reason() == 0);
        // Ended by its own DISCONNECT: the address's place.
        REQUIRE(next.send(pkt::disconnect()));
        REQUIRE(next.wait_closed(2s));
        RawClient again(b.port());
        auto ack2 = again.handshake(pkt::conn(4, "again" + std::to_string(round)), 2s);
        REQUIRE_MESSAGE(ack2, b.log());
        CHECK(ack2->reason() == 0);
        REQUIRE(again.send(pkt::disconnect()));
        REQUIRE(again.wait_closed(2s));
        // Refused at CONNECT (3.1.1: an empty client id needs a clean session): the broker sends
        // its CONNACK and ends its side, then waits for the client's end. The client saw the
        // end and tries again at once, before closing its old socket.
        RawClient refused(b.port());
        auto no = refused.handshake(pkt::conn(4, "", false), 2s);
        REQUIRE_MESSAGE(no, b.log());
        CHECK(no->reason() == 2);
        REQUIRE(refused.wait_closed(2s));
        RawClient retry(b.port());
        auto ok = retry.handshake(pkt::conn(4, "retry" + std::to_string(round)), 2s);
        REQUIRE_MESSAGE(ok, b.log());
        CHECK(ok->reason() == 0);
        REQUIRE(retry.send(pkt::disconnect()));
        REQUIRE(retry.wait_closed(2s));
    }
}

TEST_CASE("8: buffers shrink after a large message; idle connections keep little") {
    ROOST_ONLY();
    BrokerOptions o;
    o.limits = {"max_packet_size = 8388608", "max_output_buffer = 16777216"};
    Broker b(o);
    std::vector<std::unique_ptr<RawClient>> subs;
    for (int i = 0; i < 4; ++i) {
        subs.push_back(std::make_unique<RawClient>(b.port()));
        REQUIRE(subs.back()->handshake(pkt::conn(4, "big" + std::to_string(i))));
        REQUIRE(subs.back()->send(pkt::subscribe(1, "big/t", 0)));
        REQUIRE(subs.back()->read_until(pkt::SUBACK));
    }
    const size_t before = resident_bytes(b.pid());
    RawClient pub(b.port());
    REQUIRE(pub.handshake(pkt::conn(4, "bigpub")));
    REQUIRE(pub.send(pkt::publish("big/t", std::string(6 * kMiB, 'x'))));
    for (auto& s : subs)
        CHECK(s->read_until(pkt::PUBLISH, 10s).has_value());
    settle(300ms);
    const size_t after = resident_bytes(b.pid());
    MESSAGE("RSS before " << before / 1024 << " KiB, after delivering 6 MiB to 4 clients " << after / 1024
                          << " KiB");
    // 5 connections held 6 MiB each at the peak (30 MiB); idle again, they keep none of it.
    CHECK(after < before + memory_bound(12 * kMiB));
    CHECK(after < before + memory_bound(48 * kMiB));
}

TEST_CASE("9: max_retained_messages and max_retained_payload: the message routes, is not retained") {
    ROOST_ONLY();
    BrokerOptions o;
    o.limits = {"max_retained_messages = 5", "max_retained_payload = 1000"};
    Broker b(o);
    RawClient live(b.port());
    REQUIRE(live.handshake(pkt::conn(4, "live")));
    REQUIRE(live.send(pkt::subscribe(1, "r/#", 0)));
    REQUIRE(live.read_until(pkt::SUBACK));
    RawClient pub(b.port());
    REQUIRE(pub.handshake(pkt::conn(4, "rpub")));
    for (int i = 0; i < 8; ++i)
        REQUIRE(pub.send(pkt::publish("r/" + std::to_string(i), "v", 0, 0, true)));
    REQUIRE(pub.send(pkt::publish("r/big", std::string(2000, 'x'), 0, 0, true)));
    int routed = 0;
    while (live.read_until(pkt::PUBLISH, 1s))
        ++routed;
    CHECK(routed == 9);  // every message was routed
    RawClient late(b.port());
    REQUIRE(late.handshake(pkt::conn(4, "late")));
    REQUIRE(late.send(pkt::subscribe(1, "r/#", 0)));
    REQUIRE(late.read_until(pkt::SUBACK));
    int retained = 0;
    while (late.read_until(pkt::PUBLISH, 1s))
        ++retained;
    CHECK(retained == 5);
    CHECK(b.log_contains("max_retained_messages"));
    CHECK(b.log_contains("max_retained_payload"));
}

TEST_CASE("11: control characters are refused in ids, user names and topics; the log escapes them") {
    ROOST_ONLY();
    {
        Broker b;
        RawClient c5(b.port());
        auto ack = c5.handshake(pkt::conn(5, "evil\nFORGED LINE"));
        REQUIRE(ack);
        CHECK(int(ack->reason()) == 0x85);
        RawClient c4(b.port());
        ack = c4.handshake(pkt::conn(4, "evil\x01"));
        REQUIRE(ack);
        CHECK(int(ack->reason()) == 0x02);
        RawClient u5(b.port());
        REQUIRE(u5.send(connect_with_user(5, "user5", "bad\nname")));
        ack = u5.read_until(pkt::CONNACK);
        REQUIRE(ack);
        CHECK(int(ack->reason()) == 0x86);
        RawClient t(b.port());
        REQUIRE(t.handshake(pkt::conn(5, "topic5")));
        REQUIRE(
            t.send(pkt::publish("a\x07"
                                "b",
                                "x", 0, 0, false, 5)));
        auto d = last_before_close(t, pkt::DISCONNECT);
        REQUIRE(d);
        CHECK(int(d->reason()) == 0x90);
        RawClient s(b.port());
        REQUIRE(s.handshake(pkt::conn(5, "filter5")));
        REQUIRE(s.send(pkt::subscribe(1, "a\x1b[2J", 0, 5)));
        auto sub = s.read_until(pkt::SUBACK);
        REQUIRE(sub);
        CHECK(suback_codes(*sub, 5) == Bytes(1, char(0x8F)));
    }
    {
        // Allowed by configuration: the log escapes them instead.
        BrokerOptions o;
        o.broker = {"allow_control_characters = true"};
        Broker b(o);
        RawClient c(b.port());
        auto ack = c.handshake(pkt::conn(4, "evil\nFORGED LINE"));
        REQUIRE(ack);
        CHECK(int(ack->reason()) == 0);
        settle(100ms);
        CHECK(b.log_contains("evil\\x0aFORGED LINE"));
        CHECK(b.log().find("\nFORGED") == std::string::npos);
    }
}

TEST_CASE("12: outbound topic aliases are capped by max_topic_alias_out, whatever the client offers") {
    ROOST_ONLY();
    Broker b;
    pkt::Connect cn = pkt::conn(5, "aliases");
    cn.properties = pkt::prop_u16(0x22, 1000);  // Topic Alias Maximum 1000
    RawClient c(b.port());
    REQUIRE(c.handshake(cn));
    REQUIRE(c.send(pkt::subscribe(1, "al/#", 0, 5)));
    REQUIRE(c.read_until(pkt::SUBACK));
    RawClient pub(b.port());
    REQUIRE(pub.handshake(pkt::conn(4, "alpub")));
    for (int i = 0; i < 20; ++i)
        REQUIRE(pub.send(pkt::publish("al/" + std::to_string(i), "x")));
    uint16_t highest = 0;
    int got = 0;
    while (auto p = c.read_until(pkt::PUBLISH, 1s)) {
        highest = std::max(highest, topic_alias_of(*p));
        ++got;
    }
    CHECK(got == 20);
    CHECK(highest == 10);
}

TEST_CASE("13: a shared group with thousands of offline members: every publish goes to the online one") {
    ROOST_ONLY();
    Broker b;
    // Offline members: 3.1.1 persistent sessions that joined the group and left.
    const int offline = 2000;
    for (int i = 0; i < offline; ++i) {
        RawClient c(b.port());
        REQUIRE(c.handshake(pkt::conn(4, "member" + std::to_string(i), false)));
        REQUIRE(c.send(pkt::subscribe(1, "$share/g/work", 0)));
        REQUIRE(c.read_until(pkt::SUBACK));
        REQUIRE(c.send(pkt::disconnect()));
        REQUIRE(c.wait_closed(2s));
    }
    Probe probe(b);
    RawClient online(b.port());
    REQUIRE(online.handshake(pkt::conn(4, "online-member")));
    REQUIRE(online.send(pkt::subscribe(1, "$share/g/work", 0)));
    REQUIRE(online.read_until(pkt::SUBACK));
    // QoS 0 is dropped for an offline member: any publish the group gave to one is missing here.
    RawClient pub(b.port());
    REQUIRE(pub.handshake(pkt::conn(4, "worker-pub")));
    const int messages = 5000;
    Bytes burst;
    for (int i = 0; i < messages; ++i)
        burst += pkt::publish("work", "job");
    auto start = std::chrono::steady_clock::now();
    REQUIRE(pub.send(burst));
    int received = 0;
    while (received < messages && online.read_until(pkt::PUBLISH, 5s))
        ++received;
    auto took = std::chrono::duration_cast<Millis>(std::chrono::steady_clock::now() - start);
    MESSAGE(messages << " publishes to a group of " << offline << " offline members and 1 online: "
                     << received << " reached the online one in " << took.count() << " ms");
    CHECK(received == messages);
    probe.check();
}

TEST_CASE("14: without a configuration the broker listens on loopback only and says so") {
    ROOST_ONLY();
    const uint16_t port = free_port();
    Process roost({ROOST_BINARY, "-p", std::to_string(port)});
    bool up = false;
    for (int i = 0; i < 100 && !up; ++i) {
        up = port_accepts(port);
        if (!up) settle(50ms);
    }
    CHECK(up);
    settle(200ms);
    CHECK(contains_ci(roost.err(), "listening on this machine only (127.0.0.1)"));
    CHECK(contains_ci(roost.err(), "--listen 0.0.0.0:1883"));
    CHECK(roost.stop(5s) == 0);

    // A network listener, anonymous access and no auth plugin: a warning.
    const uint16_t port2 = free_port();
    const std::string conf = temp_path("open.toml");
    write_file(conf, "[[listener]]\nbind = \"0.0.0.0\"\nport = " + std::to_string(port2) + "\n");
    Process open({ROOST_BINARY, "-c", conf});
    for (int i = 0; i < 100 && !contains_ci(open.err(), "reachable from the network"); ++i)
        settle(50ms);
    CHECK(contains_ci(open.err(), "reachable from the network"));
    CHECK(open.stop(5s) == 0);
}

TEST_CASE("14b: a SIGTERM sent on the broker's first log line stops it cleanly (exit 0, not 143)") {
    ROOST_ONLY();
    // A supervisor may stop the broker the moment it logs; the stop signals are held from
    // main()'s first line until the loop can catch them. Before that, a SIGTERM that came while
    // the Server was being built killed the broker with the default action.
    for (int round = 0; round < 5; ++round) {
        Process roost({ROOST_BINARY, "-p", std::to_string(free_port())});
        for (int i = 0; i < 400 && roost.err().empty(); ++i)
            settle(5ms);
        REQUIRE_FALSE(roost.err().empty());
        CHECK(roost.stop(5s) == 0);
    }
}
