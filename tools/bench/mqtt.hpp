// The MQTT the load generator speaks, 3.1.1 (protocol level 4) and 5: encoders that append a
// packet to a connection's write buffer and decoders for what a broker sends back. Pure
// functions with no I/O and nothing of Roost, so the tool measures any broker the same way.
//
// The tool sends MQTT 5 packets with empty properties (property length 0) but decodes the
// properties a broker sends (CONNACK, SUBACK, PUBLISH, acks, DISCONNECT), checking each one's
// type and length: a broker that adds properties must not break the run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace bench::mqtt {

constexpr int kV311 = 4;
constexpr int kV5 = 5;

enum Type : uint8_t {
    CONNECT = 1,
    CONNACK = 2,
    PUBLISH = 3,
    PUBACK = 4,
    PUBREC = 5,
    PUBREL = 6,
    PUBCOMP = 7,
    SUBSCRIBE = 8,
    SUBACK = 9,
    PINGREQ = 12,
    PINGRESP = 13,
    DISCONNECT = 14,
    AUTH = 15,
};

const char* type_name(uint8_t type);
// "0x87 not authorized", for error messages; `connack` selects the 3.1.1 CONNACK return codes.
std::string reason_text(int version, uint8_t code, bool connack = false);

// ---- Encoding (append to `out`) -----------------------------------------------------------

void put_u16(std::string& out, uint16_t v);
void put_varint(std::string& out, size_t n);

void encode_connect(std::string& out, int version, std::string_view client_id, uint16_t keep_alive,
                    bool clean);
void encode_subscribe(std::string& out, int version, uint16_t id, std::string_view filter, int qos);
// Fixed header, topic, packet id (QoS > 0) and, for MQTT 5, an empty property list: the caller
// appends exactly `payload_len` bytes of payload next.
void encode_publish_header(std::string& out, int version, int qos, std::string_view topic, uint16_t id,
                           size_t payload_len);
// PUBACK, PUBREC, PUBREL or PUBCOMP in the short form both versions accept (reason code
// "success" left out, as MQTT 5 allows).
void encode_ack(std::string& out, Type type, uint16_t id);
void encode_pingreq(std::string& out);
void encode_disconnect(std::string& out);

// ---- Decoding ------------------------------------------------------------------------------

// One packet cut out of the byte stream: the first byte and the body (after the remaining length).
struct Frame {
    uint8_t first = 0;
    const uint8_t* body = nullptr;
    size_t size = 0;  // body length
    uint8_t type() const { return first >> 4; }
};

// Looks for a complete packet at the start of [p, p+n). Returns its total length (header and
// body) and fills `f`; 0 when more bytes are needed; -1 when the remaining length is malformed.
// Inline, like parse_publish and parse_ack below: they run for every message.
inline long split_frame(const uint8_t* p, size_t n, Frame& f) {
    if (n < 2) return 0;
    size_t len = 0, mult = 1;
    for (size_t i = 1; i <= 4; ++i) {
        if (i >= n) return 0;
        len += (p[i] & 0x7f) * mult;
        mult *= 128;
        if ((p[i] & 0x80) == 0) {
            size_t total = i + 1 + len;
            if (n < total) return 0;
            f.first = p[0];
            f.body = p + i + 1;
            f.size = len;
            return static_cast<long>(total);
        }
    }
    return -1;
}

// A property as read: integers in `num`, strings and binary data in `str` (a user property's
// name in `str` and its value in `str2`).
struct Property {
    uint8_t id = 0;
    uint32_t num = 0;
    std::string_view str;
    std::string_view str2;
};
using PropertyFn = std::function<void(const Property&)>;

// Reads a property list (variable byte length, then the properties) at p[*off], advancing *off.
// False on a malformed list or an identifier not defined by MQTT 5.
bool read_properties(const uint8_t* p, size_t n, size_t* off, const PropertyFn& fn, std::string* err);

struct Connack {
    bool session_present = false;
    uint8_t code = 0;              // 3.1.1 return code or MQTT 5 reason code; 0 = accepted
    uint16_t receive_maximum = 0;  // MQTT 5; 0 = not sent (65535)
    int maximum_qos = 2;           // MQTT 5 Maximum QoS
    int server_keep_alive = -1;    // MQTT 5 Server Keep Alive; -1 = not sent
    std::string reason_string;
};
bool parse_connack(const Frame& f, int version, Connack& out, std::string* err);

struct Suback {
    uint16_t id = 0;
    std::vector<uint8_t> codes;  // granted QoS (0-2) or a failure code (>= 0x80)
};
bool parse_suback(const Frame& f, int version, Suback& out, std::string* err);

struct Publish {
    int qos = 0;
    bool dup = false;
    bool retain = false;
    std::string_view topic;
    uint16_t id = 0;
    uint16_t topic_alias = 0;  // MQTT 5: brokers send none unless the client allowed aliases
    const uint8_t* payload = nullptr;
    size_t payload_len = 0;
};
// Sets *err (when given) to `msg` and returns false.
bool parse_error(std::string* err, const std::string& msg);
// The MQTT 5 property list of a PUBLISH at f.body[*off] (parse_publish), advancing *off.
bool read_publish_properties(const Frame& f, size_t* off, Publish& out, std::string* err);

inline bool parse_publish(const Frame& f, int version, Publish& out, std::string* err) {
    out.qos = (f.first >> 1) & 3;
    out.dup = f.first & 0x08;
    out.retain = f.first & 0x01;
    if (out.qos == 3) return parse_error(err, "PUBLISH with QoS 3");
    if (f.size < 2) return parse_error(err, "malformed PUBLISH topic");
    const size_t topic_len = static_cast<size_t>(f.body[0] << 8 | f.body[1]);
    if (f.size - 2 < topic_len) return parse_error(err, "malformed PUBLISH topic");
    out.topic = std::string_view(reinterpret_cast<const char*>(f.body + 2), topic_len);
    size_t off = 2 + topic_len;
    if (out.qos > 0) {
        if (f.size - off < 2) return parse_error(err, "PUBLISH without packet id");
        out.id = static_cast<uint16_t>(f.body[off] << 8 | f.body[off + 1]);
        off += 2;
    }
    if (version == kV5 && !read_publish_properties(f, &off, out, err)) return false;
    out.payload = f.body + off;
    out.payload_len = f.size - off;
    return true;
}

// PUBACK, PUBREC, PUBREL, PUBCOMP: packet id and (MQTT 5) reason code, 0 when left out.
struct Ack {
    uint16_t id = 0;
    uint8_t reason = 0;
    std::string reason_string;
};
// What parse_ack does past the packet id and reason code: an MQTT 5 property list.
bool parse_ack_properties(const Frame& f, Ack& out, std::string* err);

inline bool parse_ack(const Frame& f, int version, Ack& out, std::string* err) {
    if (f.size < 2) return parse_error(err, std::string("short ") + type_name(f.type()));
    out.id = static_cast<uint16_t>(f.body[0] << 8 | f.body[1]);
    if (version != kV5)
        return f.size == 2 || parse_error(err, std::string(type_name(f.type())) + " of a wrong length");
    if (f.size >= 3) out.reason = f.body[2];
    return f.size <= 3 || parse_ack_properties(f, out, err);
}

// A DISCONNECT from the broker (MQTT 5 only): reason code and reason string, if any.
struct Disconnect {
    uint8_t reason = 0;
    std::string reason_string;
};
bool parse_disconnect(const Frame& f, int version, Disconnect& out, std::string* err);

}  // namespace bench::mqtt
