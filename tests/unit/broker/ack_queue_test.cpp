#include <doctest/doctest.h>

#include "broker/ack_queue.hpp"

using roost::AckQueue;
using roost::mqtt::ReasonCode;

namespace {
std::vector<uint16_t> ids(const std::vector<AckQueue::Ack>& acks) {
    std::vector<uint16_t> out;
    for (const auto& a : acks)
        out.push_back(a.packet_id);
    return out;
}
}  // namespace

TEST_CASE("AckQueue: acknowledgements leave in the order their PUBLISHes came") {
    AckQueue q;
    std::vector<AckQueue::Ack> out;
    uint64_t first = q.add_waiting({1, 1, ReasonCode::Success}, 100);
    uint64_t second = q.add_waiting({2, 2, ReasonCode::Success}, 50);
    q.add_ready({1, 3, ReasonCode::NoMatchingSubscribers}, out);
    CHECK(out.empty());  // behind the two that wait
    CHECK(q.waiting() == 2);
    CHECK(q.bytes_held() == 150);

    q.complete(second, ReasonCode::QuotaExceeded, out);
    CHECK(out.empty());  // the first still waits
    CHECK(q.bytes_held() == 100);

    q.set_reason(first, ReasonCode::NoMatchingSubscribers);
    q.complete(first, std::nullopt, out);
    CHECK(ids(out) == std::vector<uint16_t>{1, 2, 3});
    CHECK(out[0].reason == ReasonCode::NoMatchingSubscribers);
    CHECK(out[1].reason == ReasonCode::QuotaExceeded);
    CHECK(out[1].qos == 2);
    CHECK(q.empty());
    CHECK(q.waiting() == 0);

    // Tickets go on counting after the queue emptied.
    out.clear();
    uint64_t third = q.add_waiting({1, 4, ReasonCode::Success}, 1);
    q.complete(third, std::nullopt, out);
    CHECK(ids(out) == std::vector<uint16_t>{4});
}

TEST_CASE("AckQueue: a PUBCOMP that waits for its store keeps its place among the acknowledgements") {
    // The client reads on while a PUBREL's store commits: a later PUBLISH's PUBACK that is ready
    // at once goes after that PUBCOMP, not before it.
    AckQueue q;
    std::vector<AckQueue::Ack> out;
    uint64_t comp = q.add_waiting({AckQueue::kPubcomp, 7, ReasonCode::Success}, 0);
    q.add_ready({1, 8, ReasonCode::Success}, out);
    CHECK(out.empty());
    CHECK(q.waiting() == 1);
    CHECK(q.bytes_held() == 0);
    q.complete(comp, std::nullopt, out);
    CHECK(ids(out) == std::vector<uint16_t>{7, 8});
    CHECK(out[0].qos == AckQueue::kPubcomp);
    CHECK(q.empty());
}
