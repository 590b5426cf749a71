#include "broker/durable_store.hpp"

#include "mqtt/properties_codec.hpp"

namespace roost {

std::vector<uint8_t> encode_message_properties(const mqtt::Properties& p) {
    std::vector<uint8_t> out;
    mqtt::wire::VectorSink sink{out};
    mqtt::write_properties(sink, p);
    return out;
}

bool decode_message_properties(roost_bytes block, mqtt::Properties& out) {
    if (!block.data || block.len == 0) return true;
    mqtt::wire::Reader r({block.data, block.len});
    mqtt::DecodeError error;
    return mqtt::read_properties(r, mqtt::PropertyContext::Publish, out, error) && r.empty();
}

}  // namespace roost
