// A subscriber that takes less than publishers send ([limits] queue_full_policy, issue 8 item 7):
// under "backpressure" (the default) nothing acknowledged is lost and publishers slow down; under
// the drop policies the log warns and $SYS counts; under "refuse" MQTT 5 publishers hear 0x97.
// The slow subscriber here simply stops reading its socket.
#include <doctest/doctest.h>

#include <algorithm>
#include <thread>

#include "harness.hpp"

using namespace roost_it;

namespace {
constexpr int kQueue = 20;  // [limits] max_queued_messages in these tests

BrokerOptions overload(const char* policy) {
    BrokerOptions o;
    o.limits = {"max_queued_messages = " + std::to_string(kQueue), "max_inflight = 10",
                std::string("queue_full_policy = \"") + policy + "\""};
    return o;
}

void connect(RawClient& c, pkt::Connect how) {
    REQUIRE(c.send(pkt::connect(how)));
    auto ack = c.read_until(pkt::CONNACK);
    REQUIRE(ack);
    REQUIRE(ack->reason() == 0);
}

// Publishes QoS 1 messages 0..count-1, each waiting up to `wait` for its PUBACK; returns how many
// were acknowledged before the first that was not (and the reason codes seen, MQTT 5).
int publish_until_stalled(RawClient& pub, int from, int count, Millis wait, uint8_t version,
                          std::vector<uint8_t>* reasons = nullptr) {
    for (int i = from; i < count; ++i) {
        auto id = static_cast<uint16_t>(i + 1);
        REQUIRE(pub.send(pkt::publish("load/x", std::to_string(i), 1, id, false, version)));
        auto ack = pub.read_until(pkt::PUBACK, wait);
        if (!ack) return i;
        CHECK(ack->packet_id() == id);
        if (reasons)
            reasons->push_back(version == 5 && ack->body.size() > 2 ? static_cast<uint8_t>(ack->body[2]) : 0);
    }
    return count;
}

// A subscriber to load/# (QoS 1) that then reads nothing, and a publisher, both connected.
void slow_subscriber_and_publisher(RawClient& sub, RawClient& pub, uint8_t version) {
    connect(sub, pkt::conn(version, "slow-sub"));
    REQUIRE(sub.send(pkt::subscribe(1, "load/#", 1, version)));
    REQUIRE(sub.read_until(pkt::SUBACK));
    connect(pub, pkt::conn(version, "fast-pub"));
}

// Reads and acknowledges every QoS 1 PUBLISH until none comes for `quiet`; returns the payloads.
std::vector<std::string> drain(RawClient& sub, Millis quiet = 1s) {
    std::vector<std::string> got;
    while (auto p = sub.read_until(pkt::PUBLISH, quiet)) {
        got.push_back(p->publish_payload(4));
        REQUIRE(sub.send(pkt::ack(pkt::PUBACK, p->packet_id_after_topic())));
    }
    return got;
}
}  // namespace

TEST_CASE("backpressure (default): a publisher waits for a slow subscriber; nothing acknowledged is lost") {
    ROOST_ONLY();
    Broker b(overload("backpressure"));
    RawClient sub(b.port()), pub(b.port());
    slow_subscriber_and_publisher(sub, pub, 4);
    // The subscriber reads nothing: 10 in flight, 20 queued, and the next publish waits.
    // With two workers the publisher learns of the full queue a loop turn late, so a few more
    // get in (queued, not lost) before it waits.
    int acked = publish_until_stalled(pub, 0, 200, 1s, 4);
    CHECK(acked >= 10 + kQueue - 1);
    CHECK(acked < 100);
    // The subscriber reads again: the waiting PUBACK comes, and the rest flows.
    std::vector<std::string> got = drain(sub, 500ms);
    REQUIRE(pub.read_until(pkt::PUBACK, 3s));
    std::thread reader([&] {
        auto more = drain(sub, 2s);
        got.insert(got.end(), more.begin(), more.end());
    });
    int sent = publish_until_stalled(pub, acked + 1, 200, 3s, 4);
    reader.join();
    CHECK(sent == 200);
    REQUIRE(got.size() == 200u);  // every acknowledged message, once, in order
    for (int i = 0; i < 200; ++i)
        CHECK(got[static_cast<size_t>(i)] == std::to_string(i));
    CHECK_FALSE(b.log_contains("dropping messages"));
}

TEST_CASE("drop_oldest: publishers are not slowed; the log warns once and $SYS counts the drops") {
    ROOST_ONLY();
    Broker b(overload("drop_oldest"));
    RawClient sub(b.port()), pub(b.port());
    slow_subscriber_and_publisher(sub, pub, 4);
    CHECK(publish_until_stalled(pub, 0, 100, 2s, 4) == 100);
    CHECK(b.wait_log({"queue full"}, 3s));
    CHECK(b.log_contains("dropping messages (queue_full_policy = \"drop_oldest\")"));
    // The subscriber gets its window, then the newest kQueue.
    std::vector<std::string> got = drain(sub, 1s);
    REQUIRE(got.size() == static_cast<size_t>(10 + kQueue));
    CHECK(got.back() == "99");
    CHECK(b.wait_log({"queue has room again; 70 messages were dropped"}, 3s));
    RawClient watcher(b.port());
    connect(watcher, pkt::conn(4, "sys-watch"));
    REQUIRE(watcher.send(pkt::subscribe(1, "$SYS/broker/messages/dropped", 0)));
    auto p = watcher.read_until(pkt::PUBLISH, 3s);
    REQUIRE(p);
    CHECK(std::stoi(p->publish_payload(4)) >= 70);
}

TEST_CASE("refuse: an MQTT 5 publisher hears 0x97 Quota exceeded once the queue is full") {
    ROOST_ONLY();
    Broker b(overload("refuse"));
    RawClient sub(b.port()), pub(b.port());
    slow_subscriber_and_publisher(sub, pub, 5);
    std::vector<uint8_t> reasons;
    CHECK(publish_until_stalled(pub, 0, 60, 2s, 5, &reasons) == 60);
    REQUIRE(reasons.size() == 60u);
    CHECK(reasons.front() == 0x00);
    CHECK(reasons.back() == 0x97);
    size_t refused = static_cast<size_t>(std::count(reasons.begin(), reasons.end(), uint8_t{0x97}));
    CHECK(refused >= 60u - 10 - kQueue - 1);
}

TEST_CASE("an offline session's queue drops (offline_queue_policy); its publishers never wait") {
    ROOST_ONLY();
    Broker b(overload("backpressure"));
    {
        RawClient sub(b.port());
        connect(sub, pkt::conn(4, "away", false));
        REQUIRE(sub.send(pkt::subscribe(1, "load/#", 1)));
        REQUIRE(sub.read_until(pkt::SUBACK));
        REQUIRE(sub.send(pkt::disconnect()));
        CHECK(sub.wait_closed());
    }
    RawClient pub(b.port());
    connect(pub, pkt::conn(4, "pub"));
    CHECK(publish_until_stalled(pub, 0, 60, 2s, 4) == 60);
    CHECK(b.wait_log({"offline_queue_policy = \"drop_newest\""}, 3s));
    RawClient sub(b.port());
    connect(sub, pkt::conn(4, "away", false));
    std::vector<std::string> got = drain(sub, 1s);
    REQUIRE(got.size() == static_cast<size_t>(kQueue));  // the first kQueue stayed
    CHECK(got.front() == "0");
    CHECK(got.back() == std::to_string(kQueue - 1));
}

// [limits] max_total_output_buffer bounds the output queued to all clients together (each worker
// counts its own share, net::total_output() adds them up). Two clients that do not read, each
// under its own max_output_buffer but over the global bound, lose QoS 0 messages; a client that
// reads is not affected.
TEST_CASE("max_total_output_buffer: clients that do not read lose QoS 0 past the global bound") {
    BrokerOptions o;
    o.limits = {"max_output_buffer = 67108864", "max_total_output_buffer = 1048576"};
    Broker b(o);
    const std::string payload(64 * 1024, 'x');
    const int count = 60;  // 3.75 MiB per sink: each far under its own bound, together over 1 MiB
    std::vector<std::unique_ptr<RawClient>> sinks;
    for (int i = 0; i < 2; ++i) {  // consecutive connections: on both workers when there are two
        auto sink = std::make_unique<RawClient>(b.port(), 0, 4096);
        REQUIRE(sink->handshake(pkt::conn(4, "total-sink-" + std::to_string(i))));
        REQUIRE(sink->send(pkt::subscribe(1, "total/t", 0)));
        REQUIRE(sink->read_until(pkt::SUBACK));
        sinks.push_back(std::move(sink));
    }
    RawClient reader(b.port());
    REQUIRE(reader.handshake(pkt::conn(4, "total-reader")));
    REQUIRE(reader.send(pkt::subscribe(1, "total/other", 1)));
    REQUIRE(reader.read_until(pkt::SUBACK));

    RawClient pub(b.port());
    REQUIRE(pub.handshake(pkt::conn(4, "total-pub")));
    for (int i = 0; i < count; ++i)
        REQUIRE(pub.send(pkt::publish("total/t", payload, 0, 0)));
    REQUIRE(pub.send(pkt::publish("total/other", "still here", 1, 1)));
    REQUIRE(pub.read_until(pkt::PUBACK, 10s));
    auto got = reader.read_until(pkt::PUBLISH, 5s);
    REQUIRE(got);
    CHECK(got->publish_payload(4) == "still here");
    if (broker_is_mosquitto()) return;
    CHECK_MESSAGE(b.wait_log({"QoS 0 message on 'total/t' dropped", "max_total_output_buffer"}, 10s),
                  b.log());
    // Now the sinks read: they get fewer than all 2 x 60 messages (the kernel's socket buffers,
    // outside any broker bound, hold a few MiB of them).
    int received = 0;
    for (auto& sink : sinks)
        while (auto p = sink->read_packet(1500ms))
            if (p->type == pkt::PUBLISH) ++received;
    CHECK(received > 0);
    CHECK(received < 2 * count);
}
