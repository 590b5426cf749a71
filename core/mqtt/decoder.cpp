// Packet decoding and validation. decode_packet() judges one whole packet; Decoder frames packets
// out of a byte stream that arrives in arbitrary pieces.
#include "mqtt/decoder.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <new>
#include <utility>

#include "mqtt/properties_codec.hpp"
#include "mqtt/topic.hpp"
#include "mqtt/utf8.hpp"
#include "mqtt/wire.hpp"

namespace roost::mqtt {

namespace {

constexpr uint8_t kV5ConnackCodes[] = {0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89,
                                       0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9F};
constexpr uint8_t kPubackCodes[] = {0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99};  // also PUBREC
constexpr uint8_t kPubrelCodes[] = {0x00, 0x92};                                            // also PUBCOMP
constexpr uint8_t kSubackCodes[] = {0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2};
constexpr uint8_t kSuback311Codes[] = {0x00, 0x01, 0x02, 0x80};
constexpr uint8_t kUnsubackCodes[] = {0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91};
constexpr uint8_t kDisconnectCodes[] = {0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D,
                                        0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99,
                                        0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2};
constexpr uint8_t kAuthCodes[] = {0x00, 0x18, 0x19};

// 3.1.1 CONNACK return codes 0..5, mapped up to the MQTT 5 codes the broker speaks, so that
// encoding back for 3.1.1 (to_connack_311) gives the same byte.
constexpr uint8_t kConnack311Up[] = {0x00, 0x84, 0x85, 0x88, 0x86, 0x87};

template <size_t N>
bool one_of(uint8_t v, const uint8_t (&set)[N]) {
    return std::find(std::begin(set), std::end(set), v) != std::end(set);
}

const char* type_name(unsigned type) {
    static const char* const names[] = {"reserved type 0", "CONNECT",  "CONNACK",     "PUBLISH",
                                        "PUBACK",          "PUBREC",   "PUBREL",      "PUBCOMP",
                                        "SUBSCRIBE",       "SUBACK",   "UNSUBSCRIBE", "UNSUBACK",
                                        "PINGREQ",         "PINGRESP", "DISCONNECT",  "AUTH"};
    return names[type & 0xF];
}

// State of one packet decode: the body reader, where errors go, and the version in force.
struct Ctx {
    wire::Reader r;
    ProtocolVersion version;
    DecodeError& error;
    const char* name;
    const DecodeLimits& limits;

    bool v5() const { return version == ProtocolVersion::V5; }

    bool fail(ReasonCode reason, const char* fmt, auto... args) {
        char buf[200];
        int n = std::snprintf(buf, sizeof buf, "%s ", name);
        std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), fmt, args...);
        error = {reason, buf};
        return false;
    }
    bool malformed(const char* what) { return fail(ReasonCode::MalformedPacket, "%s", what); }
    bool protocol(const char* what) { return fail(ReasonCode::ProtocolError, "%s", what); }
    bool truncated() { return malformed("is truncated"); }

    bool u8(uint8_t& v) { return r.u8(v) || truncated(); }
    bool u16(uint16_t& v) { return r.u16(v) || truncated(); }
    bool binary(std::string& v) { return r.binary(v) || truncated(); }
    bool utf8(std::string& v, const char* field) {
        if (!binary(v)) return false;
        if (!valid_mqtt_utf8(v)) return fail(ReasonCode::MalformedPacket, "%s is not valid UTF-8", field);
        return true;
    }
    bool packet_id(uint16_t& id) {
        if (!u16(id)) return false;
        if (id == 0) return protocol("packet identifier is 0");
        return true;
    }
    bool properties(PropertyContext c, Properties& p) {
        return !v5() || read_properties(r, c, p, error, limits.max_user_properties);
    }
    // Issue 12: the broker's bounds on a topic name (levels, control characters).
    bool topic_limits(const std::string& topic, const char* what) {
        if (limits.max_topic_levels != 0 && topic_levels(topic) > limits.max_topic_levels)
            return fail(ReasonCode::TopicNameInvalid,
                        "%s has %zu levels, over [limits] max_topic_levels = %u", what, topic_levels(topic),
                        limits.max_topic_levels);
        if (!limits.allow_control_characters && has_control_characters(topic))
            return fail(ReasonCode::TopicNameInvalid, "%s contains a control character", what);
        return true;
    }
    bool end() { return r.empty() || malformed("has trailing bytes after its contents"); }
    template <size_t N>
    bool reason(uint8_t code, const uint8_t (&set)[N]) {
        if (one_of(code, set)) return true;
        return fail(ReasonCode::MalformedPacket, "has invalid reason code 0x%02X", code);
    }
    // Spec 3.1.2.11.10 and alike: authentication data makes no sense without a method.
    bool auth_pair(const Properties& p) {
        if (p.authentication_data && !p.authentication_method)
            return protocol("has authentication data without an authentication method");
        return true;
    }
};

bool decode_connect(Ctx& c, Connect& out) {
    std::string name;
    uint8_t level = 0;
    if (!c.binary(name) || !c.u8(level)) return false;
    if (name == "MQTT" && level == 4) {
        out.version = ProtocolVersion::V311;
    } else if (name == "MQTT" && level == 5) {
        out.version = ProtocolVersion::V5;
    } else if (name == "MQIsdp") {
        return c.fail(ReasonCode::UnsupportedProtocolVersion,
                      "protocol MQIsdp level %u (MQTT 3.1) is not supported", unsigned{level});
    } else if (name == "MQTT") {
        return c.fail(ReasonCode::UnsupportedProtocolVersion, "protocol level %u is not supported",
                      unsigned{level});
    } else {
        return c.fail(ReasonCode::UnsupportedProtocolVersion, "%s", "has unknown protocol name");
    }
    c.version = out.version;

    uint8_t flags = 0;
    if (!c.u8(flags) || !c.u16(out.keep_alive)) return false;
    if (flags & 0x01) return c.malformed("reserved connect flag is set");
    const bool will = flags & 0x04;
    const uint8_t will_qos = (flags >> 3) & 0x03;
    const bool will_retain = flags & 0x20;
    const bool password = flags & 0x40;
    const bool username = flags & 0x80;
    if (!will && (will_qos != 0 || will_retain))
        return c.malformed("will QoS or retain set without will flag");
    if (will_qos == 3) return c.malformed("will QoS is 3");
    // MQTT 5 allows a password alone (e.g. a token); 3.1.1 does not (3.1.2-22).
    if (!c.v5() && password && !username) return c.malformed("password flag set without username flag");
    out.clean_start = flags & 0x02;

    if (!c.properties(PropertyContext::Connect, out.properties) || !c.auth_pair(out.properties)) return false;
    if (!c.binary(out.client_id)) return false;
    // MQTT 5 1.5.4-1: ill-formed UTF-8 is a Malformed Packet. 3.1.1 has no return code for that,
    // only closing (1.5.3-1) or, for a client id the server rejects, 0x02 Identifier rejected and
    // then closing (3.1.3-8): both rules hold when the broker does the latter.
    if (!valid_mqtt_utf8(out.client_id))
        return c.fail(c.v5() ? ReasonCode::MalformedPacket : ReasonCode::ClientIdentifierNotValid, "%s",
                      "client identifier is not valid UTF-8");
    if (will) {
        Will w;
        w.qos = will_qos;
        w.retain = will_retain;
        if (!c.properties(PropertyContext::Will, w.properties)) return false;
        if (!c.utf8(w.topic, "will topic")) return false;
        if (!valid_topic_name(w.topic)) return c.malformed("will topic is not a valid topic name");
        if (!c.topic_limits(w.topic, "will topic")) return false;
        if (!c.binary(w.payload)) return false;
        out.will = std::move(w);
    }
    if (username && !c.utf8(out.username.emplace(), "username")) return false;
    if (password && !c.binary(out.password.emplace())) return false;
    return c.end();
}

bool decode_connack(Ctx& c, Connack& out) {
    uint8_t flags = 0;
    if (!c.u8(flags) || !c.u8(out.reason_code)) return false;
    if (flags & 0xFE) return c.malformed("reserved acknowledge flags are set");
    out.session_present = flags & 0x01;
    if (c.v5()) {
        if (!c.reason(out.reason_code, kV5ConnackCodes)) return false;
        if (!c.properties(PropertyContext::Connack, out.properties) || !c.auth_pair(out.properties))
            return false;
    } else {
        if (out.reason_code >= std::size(kConnack311Up))
            return c.fail(ReasonCode::MalformedPacket, "has invalid return code %u",
                          unsigned{out.reason_code});
        out.reason_code = kConnack311Up[out.reason_code];
    }
    if (out.session_present && out.reason_code != 0) return c.protocol("session present with a failure code");
    return c.end();
}

bool decode_publish(Ctx& c, uint8_t flags, Publish& out) {
    out.retain = flags & 0x01;
    out.qos = (flags >> 1) & 0x03;
    out.dup = flags & 0x08;
    // QoS and DUP were checked with the fixed header.
    if (!c.utf8(out.topic, "topic")) return false;
    if (out.qos > 0 && !c.packet_id(out.packet_id)) return false;
    if (!c.properties(PropertyContext::Publish, out.properties)) return false;
    if (out.topic.empty()) {
        // Spec 3.3.2.3.4: an empty topic is how a topic alias is used alone.
        if (!out.properties.topic_alias) return c.protocol("topic is empty and has no topic alias");
    } else if (has_wildcard(out.topic)) {
        return c.malformed("topic contains wildcard");
    } else if (!c.topic_limits(out.topic, "topic")) {
        return false;
    }
    out.payload = c.r.rest();
    return true;
}

bool decode_ack(Ctx& c, PacketType type, Ack& out) {
    out.type = type;
    if (!c.packet_id(out.packet_id)) return false;
    if (c.v5() && !c.r.empty()) {
        // Spec 3.4.2.1: a 2-byte body means success; the property length may be left out too.
        if (!c.u8(out.reason_code)) return false;
        const bool pub = type == PacketType::Puback || type == PacketType::Pubrec;
        if (pub ? !c.reason(out.reason_code, kPubackCodes) : !c.reason(out.reason_code, kPubrelCodes))
            return false;
        if (!c.r.empty() && !c.properties(PropertyContext::Ack, out.properties)) return false;
    }
    return c.end();
}

// SUBSCRIBE options byte (spec 3.8.3.1; 3.1.1 3.8.3.1 has only the QoS bits).
bool decode_options(Ctx& c, const std::string& filter, uint8_t b, SubscriptionOptions& o) {
    o.qos = b & 0x03;
    if (o.qos == 3) return c.malformed("subscription QoS is 3");
    if (!c.v5()) {
        if (b & 0xFC) return c.malformed("reserved subscription option bits are set");
        return true;
    }
    if (b & 0xC0) return c.malformed("reserved subscription option bits are set");
    o.no_local = b & 0x04;
    o.retain_as_published = b & 0x08;
    o.retain_handling = (b >> 4) & 0x03;
    if (o.retain_handling == 3) return c.protocol("retain handling is 3");
    // Spec 3.8.3.1: a client must receive what it publishes on a shared subscription.
    if (o.no_local && parse_shared_filter(filter))
        return c.protocol("no local is set on a shared subscription");
    return true;
}

bool filter(Ctx& c, std::string& f) {
    if (!c.utf8(f, "topic filter")) return false;
    if (!valid_topic_filter(f)) return c.malformed("topic filter is invalid");
    return true;
}

bool decode_subscribe(Ctx& c, Subscribe& out) {
    if (!c.packet_id(out.packet_id) || !c.properties(PropertyContext::Subscribe, out.properties))
        return false;
    while (!c.r.empty()) {
        TopicSubscription s;
        uint8_t options = 0;
        if (!filter(c, s.filter) || !c.u8(options) || !decode_options(c, s.filter, options, s.options))
            return false;
        out.subscriptions.push_back(std::move(s));
    }
    if (out.subscriptions.empty()) return c.protocol("has no topic filters");
    return true;
}

bool decode_suback(Ctx& c, Suback& out) {
    if (!c.packet_id(out.packet_id) || !c.properties(PropertyContext::Suback, out.properties)) return false;
    while (!c.r.empty()) {
        uint8_t code = 0;
        c.r.u8(code);
        if (c.v5() ? !c.reason(code, kSubackCodes) : !c.reason(code, kSuback311Codes)) return false;
        out.reason_codes.push_back(code);
    }
    if (out.reason_codes.empty()) return c.protocol("has no reason codes");
    return true;
}

bool decode_unsubscribe(Ctx& c, Unsubscribe& out) {
    if (!c.packet_id(out.packet_id) || !c.properties(PropertyContext::Unsubscribe, out.properties))
        return false;
    while (!c.r.empty()) {
        if (!filter(c, out.filters.emplace_back())) return false;
    }
    if (out.filters.empty()) return c.protocol("has no topic filters");
    return true;
}

bool decode_unsuback(Ctx& c, Unsuback& out) {
    if (!c.packet_id(out.packet_id)) return false;
    if (!c.v5()) return c.end();  // 3.1.1 UNSUBACK is the packet id alone
    if (!c.properties(PropertyContext::Unsuback, out.properties)) return false;
    while (!c.r.empty()) {
        uint8_t code = 0;
        c.r.u8(code);
        if (!c.reason(code, kUnsubackCodes)) return false;
        out.reason_codes.push_back(code);
    }
    if (out.reason_codes.empty()) return c.protocol("has no reason codes");
    return true;
}

bool decode_disconnect(Ctx& c, Disconnect& out) {
    if (!c.v5()) return c.end();
    // Spec 3.14.2.1: no body means normal disconnection; a 1-byte body is the reason alone.
    if (c.r.empty()) return true;
    if (!c.u8(out.reason_code) || !c.reason(out.reason_code, kDisconnectCodes)) return false;
    if (!c.r.empty() && !c.properties(PropertyContext::Disconnect, out.properties)) return false;
    return c.end();
}

bool decode_auth(Ctx& c, Auth& out) {
    // Spec 3.15.2.1: no body means success; otherwise both reason and property length are present.
    if (c.r.empty()) return true;
    if (!c.u8(out.reason_code) || !c.reason(out.reason_code, kAuthCodes)) return false;
    if (!c.properties(PropertyContext::Auth, out.properties) || !c.auth_pair(out.properties)) return false;
    return c.end();
}

}  // namespace

// Rules of the first byte alone, so Decoder can reject a packet before buffering its body.
static bool check_fixed_header(uint8_t header, ProtocolVersion version, DecodeError& error) {
    const unsigned type = header >> 4;
    const unsigned flags = header & 0x0F;
    auto fail = [&](ReasonCode reason, const char* what) {
        error = {reason, std::string(type_name(type)) + " " + what};
        return false;
    };
    switch (static_cast<PacketType>(type)) {
        case PacketType::Publish:
            if ((flags & 0x06) == 0x06) return fail(ReasonCode::MalformedPacket, "QoS is 3");
            if ((flags & 0x0E) == 0x08)
                return fail(
                    version == ProtocolVersion::V5 ? ReasonCode::ProtocolError : ReasonCode::MalformedPacket,
                    "DUP flag set on QoS 0");
            return true;
        case PacketType::Pubrel:
        case PacketType::Subscribe:
        case PacketType::Unsubscribe:
            if (flags != 0x02) return fail(ReasonCode::MalformedPacket, "fixed header flags must be 0010");
            return true;
        case PacketType::Auth:
            if (version != ProtocolVersion::V5)
                return fail(ReasonCode::MalformedPacket, "does not exist in MQTT 3.1.1");
            [[fallthrough]];
        default:
            if (type == 0) return fail(ReasonCode::MalformedPacket, "is not a packet type");
            if (flags != 0) return fail(ReasonCode::MalformedPacket, "fixed header flags must be 0");
            return true;
    }
}

DecodeStatus decode_packet(uint8_t header, std::span<const uint8_t> body, ProtocolVersion version,
                           Packet& out, DecodeError& error, const DecodeLimits& limits) {
    const unsigned type = header >> 4;
    // CONNECT brings its own version; its fixed header has the same rules in both.
    if (!check_fixed_header(header, version, error)) return DecodeStatus::Error;
    Ctx c{wire::Reader(body), version, error, type_name(type), limits};
    bool ok = false;
    switch (static_cast<PacketType>(type)) {
        case PacketType::Connect:
            ok = decode_connect(c, out.emplace<Connect>());
            break;
        case PacketType::Connack:
            ok = decode_connack(c, out.emplace<Connack>());
            break;
        case PacketType::Publish:
            ok = decode_publish(c, header & 0x0F, out.emplace<Publish>());
            break;
        case PacketType::Puback:
        case PacketType::Pubrec:
        case PacketType::Pubrel:
        case PacketType::Pubcomp:
            ok = decode_ack(c, static_cast<PacketType>(type), out.emplace<Ack>());
            break;
        case PacketType::Subscribe:
            ok = decode_subscribe(c, out.emplace<Subscribe>());
            break;
        case PacketType::Suback:
            ok = decode_suback(c, out.emplace<Suback>());
            break;
        case PacketType::Unsubscribe:
            ok = decode_unsubscribe(c, out.emplace<Unsubscribe>());
            break;
        case PacketType::Unsuback:
            ok = decode_unsuback(c, out.emplace<Unsuback>());
            break;
        case PacketType::Pingreq:
            ok = (out.emplace<Pingreq>(), c.end());
            break;
        case PacketType::Pingresp:
            ok = (out.emplace<Pingresp>(), c.end());
            break;
        case PacketType::Disconnect:
            ok = decode_disconnect(c, out.emplace<Disconnect>());
            break;
        case PacketType::Auth:
            ok = decode_auth(c, out.emplace<Auth>());
            break;
    }
    return ok ? DecodeStatus::Packet : DecodeStatus::Error;
}

void Decoder::learn_version(const uint8_t* p, size_t avail) {
    // Fixed header, remaining length, then the protocol name and level: as far as they arrived,
    // and never past the packet's own end.
    uint32_t length = 0;
    size_t n = 1;
    for (;; ++n) {
        if (n >= avail || n > 4) return;
        length |= uint32_t{p[n] & 0x7Fu} << (7 * (n - 1));
        if ((p[n] & 0x80) == 0) break;
    }
    const size_t body_avail = std::min<size_t>(length, avail - n - 1);
    wire::Reader r(std::span<const uint8_t>(p + n + 1, body_avail));
    std::string name;
    uint8_t level = 0;
    if (!r.binary(name) || !r.u8(level)) return;
    // Level 5 and above get the MQTT 5 answer (a CONNACK with a reason code, 0x84 for a level
    // above 5), anything older the 3.1.1 one (0x01 for MQTT 3.1 and unknown levels).
    _version = level >= 5 ? ProtocolVersion::V5 : ProtocolVersion::V311;
    _version_known = true;
}

const DecodeLimits Decoder::kNoLimits{};

void Decoder::release() {
    std::free(_buffer);
    _buffer = nullptr;
}

void Decoder::append(std::span<const uint8_t> bytes) {
    if (bytes.empty()) return;
    const uint64_t size = uint64_t{_buffer ? _buffer->size : 0} + bytes.size();
    if (size > UINT32_MAX) throw std::bad_alloc();  // never: packets are bounded far below
    if (!_buffer || size > _buffer->capacity) {
        // Grows as std::vector's insert did: to what is needed, at least double.
        const uint64_t capacity = std::min<uint64_t>(
            UINT32_MAX, std::max<uint64_t>(size, _buffer ? uint64_t{_buffer->capacity} * 2 : 0));
        auto* grown = static_cast<Buffer*>(std::realloc(_buffer, sizeof(Buffer) + capacity));
        if (!grown) throw std::bad_alloc();
        if (!_buffer) grown->size = grown->offset = 0;
        grown->capacity = static_cast<uint32_t>(capacity);
        _buffer = grown;
    }
    std::memcpy(_buffer->bytes() + _buffer->size, bytes.data(), bytes.size());
    _buffer->size = static_cast<uint32_t>(size);
}

void Decoder::feed(std::span<const uint8_t> bytes) {
    keep();
    // Drop the consumed prefix only once it is at least half the buffer: each byte is moved
    // O(1) times on average, and a stream of small packets never shifts per packet.
    if (_buffer && _buffer->offset > 0 && _buffer->offset * uint64_t{2} >= _buffer->size) {
        std::memmove(_buffer->bytes(), _buffer->bytes() + _buffer->offset, _buffer->size - _buffer->offset);
        _buffer->size -= _buffer->offset;
        _buffer->offset = 0;
    }
    append(bytes);
}

size_t Decoder::missing_from_buffered_packet() const {
    const uint8_t* p = buffered_data();
    const size_t avail = buffered_size();
    uint32_t length = 0;
    for (size_t n = 1; n < avail && n <= 4; ++n) {
        length |= uint32_t{p[n] & 0x7Fu} << (7 * (n - 1));
        if ((p[n] & 0x80) == 0) {
            const uint64_t total = uint64_t{n} + 1 + length;
            return total > avail ? static_cast<size_t>(total - avail) : 0;
        }
    }
    return 0;  // the length is not all there yet (or malformed: next() says so)
}

void Decoder::feed_borrowed(std::span<const uint8_t> bytes) {
    if (bytes.empty()) return;
    if (bytes.size() > UINT32_MAX) {  // never one read; copied, as feed() would
        feed(bytes);
        return;
    }
    auto borrow = [this](std::span<const uint8_t> b) {
        _borrowed_data = b.data();
        _borrowed_size = static_cast<uint32_t>(b.size());
    };
    if (_borrowed_size == 0 && buffered_size() == 0) {
        borrow(bytes);
        return;
    }
    // A partial packet is buffered: copy only the bytes that complete it and borrow the rest.
    // Large packets (16 KiB over TCP or ws) end almost every read mid-packet; copying each whole
    // read behind the partial one meant every byte of the stream was copied once more.
    if (_borrowed_size == 0) {
        const size_t missing = missing_from_buffered_packet();
        if (missing > 0 && missing < bytes.size()) {
            append(bytes.first(missing));
            borrow(bytes.subspan(missing));  // read once the buffered packet is taken
            return;
        }
    }
    feed(bytes);
}

void Decoder::keep() {
    if (_borrowed_size == 0) return;
    const std::span<const uint8_t> rest = borrowed();
    _borrowed_data = nullptr;
    _borrowed_size = 0;
    feed(rest);
}

DecodeStatus Decoder::next(Packet& out, DecodeError& error) {
    if (_failed) {
        error = {ReasonCode::ProtocolError, "decoder failed earlier; the connection must be closed"};
        return DecodeStatus::Error;
    }
    auto fail = [&] {
        _failed = true;
        return DecodeStatus::Error;
    };
    // The buffer goes first: it holds what came before the borrowed bytes (a packet completed
    // by feed_borrowed()) or nothing.
    const bool from_borrowed = buffered_size() == 0 && _borrowed_size != 0;
    const size_t avail = from_borrowed ? _borrowed_size : buffered_size();
    if (avail < 1) return DecodeStatus::NeedMore;
    const uint8_t* p = from_borrowed ? _borrowed_data : buffered_data();
    // A CONNECT that fails anywhere still tells which CONNACK form its client reads, if its
    // protocol level made it into the buffer.
    auto fail_connect = [&] {
        if (!_version_known && (p[0] >> 4) == static_cast<unsigned>(PacketType::Connect))
            learn_version(p, avail);
        return fail();
    };
    if (!check_fixed_header(p[0], _version, error)) return fail_connect();

    // Remaining length (spec 1.5.5): at most 4 bytes, so a 4th byte with the continuation bit
    // is malformed without waiting for a 5th; and in the fewest bytes (1.5.5-1), so a last byte
    // of 0 after others is malformed too.
    uint32_t length = 0;
    size_t n = 1;
    for (;; ++n) {
        if (n >= avail) return DecodeStatus::NeedMore;
        length |= uint32_t{p[n] & 0x7Fu} << (7 * (n - 1));
        if ((p[n] & 0x80) == 0) break;
        if (n == 4) {
            error = {ReasonCode::MalformedPacket, "remaining length is longer than 4 bytes"};
            return fail_connect();
        }
    }
    if (n > 1 && p[n] == 0) {
        error = {ReasonCode::MalformedPacket, "remaining length is not in the fewest bytes"};
        return fail_connect();
    }
    const uint64_t total = uint64_t{n} + 1 + length;
    const bool connect = (p[0] >> 4) == static_cast<unsigned>(PacketType::Connect);
    const uint32_t max_packet_size = _limits->max_packet_size;
    const uint32_t limit =
        connect ? std::min(max_packet_size, _limits->max_connect_packet_size) : max_packet_size;
    if (total > limit) {
        char buf[120];
        std::snprintf(buf, sizeof buf, "packet of %llu bytes exceeds the maximum %s size %u",
                      static_cast<unsigned long long>(total), limit < max_packet_size ? "CONNECT" : "packet",
                      limit);
        error = {ReasonCode::PacketTooLarge, buf};
        return fail_connect();
    }
    // Nothing is reserved for what the length announces: the buffer grows as the bytes come, so
    // a header claiming 256 MB costs nothing until 256 MB arrive (and max_packet_size bounds it).
    if (avail < total) return DecodeStatus::NeedMore;
    const std::span<const uint8_t> body(p + n + 1, length);
    if (decode_packet(p[0], body, _version, out, error, *_limits) != DecodeStatus::Packet)
        return fail_connect();
    if (const auto* connect = std::get_if<Connect>(&out)) {
        _version = connect->version;
        _version_known = true;
    }
    if (from_borrowed) {
        _borrowed_data += total;
        _borrowed_size -= static_cast<uint32_t>(total);
        return DecodeStatus::Packet;
    }
    _buffer->offset += static_cast<uint32_t>(total);
    // Empty: the memory goes with the bytes (most packets never need the buffer at all).
    if (_buffer->offset == _buffer->size) release();
    return DecodeStatus::Packet;
}

}  // namespace roost::mqtt
