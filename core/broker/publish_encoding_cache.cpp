#include "broker/publish_encoding_cache.hpp"

namespace roost {

std::span<const uint8_t> PublishEncodingCache::encode(const MessagePtr& message,
                                                      const mqtt::PublishView& view,
                                                      mqtt::ProtocolVersion version) {
    Variant variant{version, view.qos, view.retain,
                    view.extras ? view.extras->message_expiry_interval : std::nullopt};
    if (message != _message || variant != _variant || _bytes.empty()) {
        _bytes.clear();
        mqtt::encode_publish(view, version, _bytes);
        _message = message;
        _variant = variant;
        // Fixed header: the type byte and the Remaining Length varint; then the topic.
        size_t at = 1;
        while (_bytes[at] & 0x80)
            ++at;
        _packet_id_at = at + 1 + 2 + view.topic.size();
    }
    // Per subscriber: DUP (bit 3 of the first byte) and the packet id.
    _bytes[0] = static_cast<uint8_t>((_bytes[0] & ~0x08) | (view.dup ? 0x08 : 0));
    if (variant.qos > 0) {
        _bytes[_packet_id_at] = static_cast<uint8_t>(view.packet_id >> 8);
        _bytes[_packet_id_at + 1] = static_cast<uint8_t>(view.packet_id & 0xff);
    }
    return _bytes;
}

}  // namespace roost
