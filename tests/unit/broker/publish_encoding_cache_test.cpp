#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "broker/publish_encoding_cache.hpp"

using namespace roost;

namespace {
std::vector<uint8_t> direct(const mqtt::PublishView& v, mqtt::ProtocolVersion version) {
    std::vector<uint8_t> out;
    mqtt::encode_publish(v, version, out);
    return out;
}
std::vector<uint8_t> cached(PublishEncodingCache& cache, const MessagePtr& m, const mqtt::PublishView& v,
                            mqtt::ProtocolVersion version) {
    auto bytes = cache.encode(m, v, version);
    return {bytes.begin(), bytes.end()};
}
}  // namespace

TEST_CASE("PublishEncodingCache: each subscriber's bytes are what encoding for it gives") {
    auto message = std::make_shared<Message>();
    message->topic = "fleet/truck/7";
    message->payload = std::string(300, 'p');  // a two-byte Remaining Length
    message->properties.content_type = "text/plain";
    PublishEncodingCache cache;
    for (auto version : {mqtt::ProtocolVersion::V311, mqtt::ProtocolVersion::V5}) {
        const mqtt::Properties* props = version == mqtt::ProtocolVersion::V5 ? &message->properties : nullptr;
        for (uint8_t qos : {0, 1, 2, 1}) {
            for (uint16_t id : {1, 258, 65535}) {
                for (bool dup : {false, true}) {
                    if (qos == 0 && (dup || id != 1)) continue;
                    mqtt::PublishView v{
                        dup, qos, false, message->topic, qos ? id : uint16_t(0), props, message->payload};
                    CHECK(cached(cache, message, v, version) == direct(v, version));
                }
            }
        }
        // Another message with the same variant is encoded anew.
        auto other = std::make_shared<Message>(*message);
        other->payload = "x";
        mqtt::PublishView v{false, 1, true, other->topic, 9, props, other->payload};
        CHECK(cached(cache, other, v, version) == direct(v, version));
    }
}
