// Packet encoding. Each body is written once against a byte sink; running it with a counting
// sink gives the remaining length and encoded_size() without a second code path.
#include "mqtt/encoder.hpp"

#include "mqtt/properties_codec.hpp"
#include "mqtt/reason_codes.hpp"
#include "mqtt/wire.hpp"

namespace roost::mqtt {

namespace {

using wire::put_binary;
using wire::put_u16;
using wire::put_u8;

bool has(const Properties& p) {
    return p != Properties{};
}

// Writes every part of a packet after the fixed header.
template <class Sink>
struct BodyWriter {
    Sink& s;
    ProtocolVersion version;

    bool v5() const { return version == ProtocolVersion::V5; }
    void props(const Properties& p) {
        if (v5()) write_properties(s, p);
    }

    void operator()(const Connect& c) {
        put_binary(s, "MQTT");
        put_u8(s, static_cast<uint8_t>(version));
        uint8_t flags = 0;
        if (c.clean_start) flags |= 0x02;
        if (c.will)
            flags |= static_cast<uint8_t>(0x04 | (c.will->qos & 0x03) << 3 | (c.will->retain ? 0x20 : 0));
        if (c.password) flags |= 0x40;
        if (c.username) flags |= 0x80;
        put_u8(s, flags);
        put_u16(s, c.keep_alive);
        props(c.properties);
        put_binary(s, c.client_id);
        if (c.will) {
            props(c.will->properties);
            put_binary(s, c.will->topic);
            put_binary(s, c.will->payload);
        }
        if (c.username) put_binary(s, *c.username);
        if (c.password) put_binary(s, *c.password);
    }
    void operator()(const Connack& c) {
        put_u8(s, c.session_present ? 1 : 0);
        if (v5()) {
            put_u8(s, c.reason_code);
            props(c.properties);
        } else {
            put_u8(s, static_cast<uint8_t>(to_connack_311(static_cast<ReasonCode>(c.reason_code))));
        }
    }
    void operator()(const Publish& p) {
        (*this)(PublishView{p.dup, p.qos, p.retain, p.topic, p.packet_id, &p.properties, p.payload});
    }
    void operator()(const PublishView& p) {
        put_binary(s, p.topic);
        if (p.qos > 0) put_u16(s, p.packet_id);
        if (v5()) {
            static const Properties kNone;
            write_properties(s, p.properties ? *p.properties : kNone, p.extras);
        }
        s.bytes(p.payload.data(), p.payload.size());
    }
    void operator()(const Ack& a) {
        put_u16(s, a.packet_id);
        // Spec 3.4.2.1: success without properties is the packet id alone.
        if (!v5() || (a.reason_code == 0 && !has(a.properties))) return;
        put_u8(s, a.reason_code);
        if (has(a.properties)) props(a.properties);
    }
    void operator()(const Subscribe& sub) {
        put_u16(s, sub.packet_id);
        props(sub.properties);
        for (const TopicSubscription& t : sub.subscriptions) {
            put_binary(s, t.filter);
            const SubscriptionOptions& o = t.options;
            uint8_t b = o.qos & 0x03;
            if (v5()) {
                if (o.no_local) b |= 0x04;
                if (o.retain_as_published) b |= 0x08;
                b |= static_cast<uint8_t>((o.retain_handling & 0x03) << 4);
            }
            put_u8(s, b);
        }
    }
    void operator()(const Suback& a) {
        put_u16(s, a.packet_id);
        props(a.properties);
        // 3.1.1 has one failure code, 0x80.
        for (uint8_t code : a.reason_codes)
            put_u8(s, v5() || code < 0x80 ? code : uint8_t{0x80});
    }
    void operator()(const Unsubscribe& u) {
        put_u16(s, u.packet_id);
        props(u.properties);
        for (const std::string& f : u.filters)
            put_binary(s, f);
    }
    void operator()(const Unsuback& a) {
        put_u16(s, a.packet_id);
        if (!v5()) return;  // 3.1.1 UNSUBACK carries no reason codes
        props(a.properties);
        for (uint8_t code : a.reason_codes)
            put_u8(s, code);
    }
    void operator()(const Pingreq&) {}
    void operator()(const Pingresp&) {}
    void operator()(const Disconnect& d) {
        // Spec 3.14.2.1: normal disconnection without properties has an empty body.
        if (!v5() || (d.reason_code == 0 && !has(d.properties))) return;
        put_u8(s, d.reason_code);
        if (has(d.properties)) props(d.properties);
    }
    void operator()(const Auth& a) {
        // Spec 3.15.2.1: reason and property length go together, or both are left out.
        if (a.reason_code == 0 && !has(a.properties)) return;
        put_u8(s, a.reason_code);
        props(a.properties);
    }
};

uint8_t publish_first_byte(bool dup, uint8_t qos, bool retain) {
    return static_cast<uint8_t>(static_cast<uint8_t>(PacketType::Publish) << 4 | (dup ? 0x08 : 0) |
                                (qos & 0x03) << 1 | (retain ? 1 : 0));
}

uint8_t first_byte(const Packet& p) {
    const auto type = static_cast<uint8_t>(static_cast<uint8_t>(packet_type(p)) << 4);
    if (const auto* pub = std::get_if<Publish>(&p))
        return publish_first_byte(pub->dup, pub->qos, pub->retain);
    switch (packet_type(p)) {
        case PacketType::Pubrel:
        case PacketType::Subscribe:
        case PacketType::Unsubscribe:
            return type | 0x02;
        default:
            return type;
    }
}

size_t body_size(const Packet& p, ProtocolVersion version) {
    wire::CountSink count;
    std::visit(BodyWriter<wire::CountSink>{count, version}, p);
    return count.n;
}

// AUTH does not exist in 3.1.1: there is nothing to send.
bool encodable(const Packet& p, ProtocolVersion version) {
    return version == ProtocolVersion::V5 || !std::holds_alternative<Auth>(p);
}

}  // namespace

void encode(const Packet& p, ProtocolVersion version, std::vector<uint8_t>& out) {
    if (!encodable(p, version)) return;
    const size_t body = body_size(p, version);
    out.reserve(out.size() + 1 + wire::varint_size(static_cast<uint32_t>(body)) + body);
    wire::VectorSink sink{out};
    put_u8(sink, first_byte(p));
    wire::put_varint(sink, static_cast<uint32_t>(body));
    std::visit(BodyWriter<wire::VectorSink>{sink, version}, p);
}

size_t encoded_size(const Packet& p, ProtocolVersion version) {
    if (!encodable(p, version)) return 0;
    const size_t body = body_size(p, version);
    return 1 + wire::varint_size(static_cast<uint32_t>(body)) + body;
}

void encode_publish(const PublishView& p, ProtocolVersion version, std::vector<uint8_t>& out) {
    wire::CountSink count;
    BodyWriter<wire::CountSink>{count, version}(p);
    out.reserve(out.size() + 1 + wire::varint_size(static_cast<uint32_t>(count.n)) + count.n);
    wire::VectorSink sink{out};
    put_u8(sink, publish_first_byte(p.dup, p.qos, p.retain));
    wire::put_varint(sink, static_cast<uint32_t>(count.n));
    BodyWriter<wire::VectorSink>{sink, version}(p);
}

void encode_publish_head(const PublishView& p, ProtocolVersion version, std::vector<uint8_t>& out) {
    wire::CountSink count;
    BodyWriter<wire::CountSink>{count, version}(p);
    PublishView head = p;
    head.payload = {};
    wire::VectorSink sink{out};
    put_u8(sink, publish_first_byte(p.dup, p.qos, p.retain));
    wire::put_varint(sink, static_cast<uint32_t>(count.n));
    BodyWriter<wire::VectorSink>{sink, version}(head);
}

size_t encoded_publish_size(const PublishView& p, ProtocolVersion version) {
    wire::CountSink count;
    BodyWriter<wire::CountSink>{count, version}(p);
    return 1 + wire::varint_size(static_cast<uint32_t>(count.n)) + count.n;
}

}  // namespace roost::mqtt
