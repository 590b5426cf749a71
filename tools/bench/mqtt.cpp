#include "mqtt.hpp"

#include <cstdio>

namespace bench::mqtt {

namespace {

uint16_t get_u16(const uint8_t* p) {
    return static_cast<uint16_t>(p[0] << 8 | p[1]);
}

void put_str(std::string& out, std::string_view s) {
    put_u16(out, static_cast<uint16_t>(s.size()));
    out.append(s);
}

void put_packet(std::string& out, uint8_t first, const std::string& body) {
    out.push_back(static_cast<char>(first));
    put_varint(out, body.size());
    out.append(body);
}

// Variable byte integer at p[*off] (at most 4 bytes), advancing *off.
bool read_varint(const uint8_t* p, size_t n, size_t* off, uint32_t* v) {
    uint32_t value = 0;
    for (int i = 0; i < 4; ++i) {
        if (*off >= n) return false;
        uint8_t b = p[(*off)++];
        value |= static_cast<uint32_t>(b & 0x7f) << (7 * i);
        if ((b & 0x80) == 0) {
            *v = value;
            return true;
        }
    }
    return false;
}

bool read_str(const uint8_t* p, size_t n, size_t* off, std::string_view* s) {
    if (n - *off < 2) return false;
    size_t len = get_u16(p + *off);
    if (n - *off - 2 < len) return false;
    *s = std::string_view(reinterpret_cast<const char*>(p + *off + 2), len);
    *off += 2 + len;
    return true;
}

bool fail(std::string* err, const std::string& msg) {
    if (err) *err = msg;
    return false;
}

// How each MQTT 5 property identifier is encoded (MQTT 5.0, section 2.2.2.2).
enum class PropType { None, Byte, U16, U32, Varint, String, Binary, Pair };

PropType prop_type(uint8_t id) {
    switch (id) {
        case 0x01:
        case 0x17:
        case 0x19:
        case 0x24:
        case 0x25:
        case 0x28:
        case 0x29:
        case 0x2A:
            return PropType::Byte;
        case 0x13:
        case 0x21:
        case 0x22:
        case 0x23:
            return PropType::U16;
        case 0x02:
        case 0x11:
        case 0x18:
        case 0x27:
            return PropType::U32;
        case 0x0B:
            return PropType::Varint;
        case 0x03:
        case 0x08:
        case 0x12:
        case 0x15:
        case 0x1A:
        case 0x1C:
        case 0x1F:
            return PropType::String;
        case 0x09:
        case 0x16:
            return PropType::Binary;
        case 0x26:
            return PropType::Pair;
        default:
            return PropType::None;
    }
}

}  // namespace

const char* type_name(uint8_t type) {
    static const char* const names[16] = {
        "reserved",  "CONNECT", "CONNACK",     "PUBLISH",  "PUBACK",  "PUBREC",   "PUBREL",     "PUBCOMP",
        "SUBSCRIBE", "SUBACK",  "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"};
    return names[type & 0x0f];
}

std::string reason_text(int version, uint8_t code, bool connack) {
    char hex[8];
    std::snprintf(hex, sizeof hex, "0x%02x", code);
    const char* name = nullptr;
    if (connack && version != kV5) {
        static const char* const v311[] = {
            "accepted",           "unacceptable protocol version", "identifier rejected",
            "server unavailable", "bad user name or password",     "not authorized"};
        if (code < 6) name = v311[code];
    } else {
        switch (code) {
            case 0x00:
                name = "success";
                break;
            case 0x10:
                name = "no matching subscribers";
                break;
            case 0x80:
                name = "unspecified error";
                break;
            case 0x81:
                name = "malformed packet";
                break;
            case 0x82:
                name = "protocol error";
                break;
            case 0x83:
                name = "implementation specific error";
                break;
            case 0x84:
                name = "unsupported protocol version";
                break;
            case 0x85:
                name = "client identifier not valid";
                break;
            case 0x86:
                name = "bad user name or password";
                break;
            case 0x87:
                name = "not authorized";
                break;
            case 0x88:
                name = "server unavailable";
                break;
            case 0x89:
                name = "server busy";
                break;
            case 0x8A:
                name = "banned";
                break;
            case 0x8B:
                name = "server shutting down";
                break;
            case 0x8D:
                name = "keep alive timeout";
                break;
            case 0x8E:
                name = "session taken over";
                break;
            case 0x8F:
                name = "topic filter invalid";
                break;
            case 0x90:
                name = "topic name invalid";
                break;
            case 0x91:
                name = "packet identifier in use";
                break;
            case 0x92:
                name = "packet identifier not found";
                break;
            case 0x93:
                name = "receive maximum exceeded";
                break;
            case 0x95:
                name = "packet too large";
                break;
            case 0x97:
                name = "quota exceeded";
                break;
            case 0x99:
                name = "payload format invalid";
                break;
            case 0x9B:
                name = "QoS not supported";
                break;
            case 0x9F:
                name = "connection rate exceeded";
                break;
            case 0xA2:
                name = "wildcard subscriptions not supported";
                break;
            default:
                break;
        }
    }
    return name ? std::string(hex) + " " + name : std::string(hex);
}

void put_u16(std::string& out, uint16_t v) {
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v & 0xff));
}

void put_varint(std::string& out, size_t n) {
    do {
        uint8_t b = n % 128;
        n /= 128;
        if (n > 0) b |= 0x80;
        out.push_back(static_cast<char>(b));
    } while (n > 0);
}

void encode_connect(std::string& out, int version, std::string_view client_id, uint16_t keep_alive,
                    bool clean) {
    std::string body;
    put_str(body, "MQTT");
    body.push_back(static_cast<char>(version));
    body.push_back(clean ? 0x02 : 0x00);  // clean session (3.1.1) / clean start (5)
    put_u16(body, keep_alive);
    if (version == kV5) body.push_back(0);  // no properties
    put_str(body, client_id);
    put_packet(out, 0x10, body);
}

void encode_subscribe(std::string& out, int version, uint16_t id, std::string_view filter, int qos) {
    std::string body;
    put_u16(body, id);
    if (version == kV5) body.push_back(0);
    put_str(body, filter);
    body.push_back(static_cast<char>(qos));  // MQTT 5 options: only the QoS bits set
    put_packet(out, 0x82, body);
}

void encode_publish_header(std::string& out, int version, int qos, std::string_view topic, uint16_t id,
                           size_t payload_len) {
    size_t body = 2 + topic.size() + (qos > 0 ? 2 : 0) + (version == kV5 ? 1 : 0) + payload_len;
    out.push_back(static_cast<char>(0x30 | (qos << 1)));
    put_varint(out, body);
    put_str(out, topic);
    if (qos > 0) put_u16(out, id);
    if (version == kV5) out.push_back(0);
}

void encode_ack(std::string& out, Type type, uint16_t id) {
    // PUBREL's fixed header flags must be 0b0010.
    out.push_back(static_cast<char>(type << 4 | (type == PUBREL ? 0x02 : 0x00)));
    out.push_back(0x02);
    put_u16(out, id);
}

void encode_pingreq(std::string& out) {
    out.append("\xc0\x00", 2);
}

void encode_disconnect(std::string& out) {
    out.append("\xe0\x00", 2);
}

bool read_properties(const uint8_t* p, size_t n, size_t* off, const PropertyFn& fn, std::string* err) {
    uint32_t len = 0;
    if (!read_varint(p, n, off, &len) || n - *off < len) return fail(err, "malformed property length");
    const size_t end = *off + len;
    while (*off < end) {
        Property prop;
        uint32_t id = 0;
        if (!read_varint(p, end, off, &id) || id > 0xff) return fail(err, "malformed property identifier");
        prop.id = static_cast<uint8_t>(id);
        bool ok = true;
        switch (prop_type(prop.id)) {
            case PropType::Byte:
                ok = end - *off >= 1;
                if (ok) prop.num = p[(*off)++];
                break;
            case PropType::U16:
                ok = end - *off >= 2;
                if (ok) prop.num = get_u16(p + *off), *off += 2;
                break;
            case PropType::U32:
                ok = end - *off >= 4;
                if (ok) {
                    prop.num = static_cast<uint32_t>(p[*off]) << 24 |
                               static_cast<uint32_t>(p[*off + 1]) << 16 |
                               static_cast<uint32_t>(p[*off + 2]) << 8 | p[*off + 3];
                    *off += 4;
                }
                break;
            case PropType::Varint:
                ok = read_varint(p, end, off, &prop.num);
                break;
            case PropType::String:
            case PropType::Binary:
                ok = read_str(p, end, off, &prop.str);
                break;
            case PropType::Pair:
                ok = read_str(p, end, off, &prop.str) && read_str(p, end, off, &prop.str2);
                break;
            case PropType::None:
                return fail(err, "unknown property identifier " + std::to_string(prop.id));
        }
        if (!ok) return fail(err, "malformed property " + std::to_string(prop.id));
        if (fn) fn(prop);
    }
    return true;
}

bool parse_connack(const Frame& f, int version, Connack& out, std::string* err) {
    if (f.size < 2) return fail(err, "short CONNACK");
    out.session_present = f.body[0] & 0x01;
    out.code = f.body[1];
    if (version != kV5) return f.size == 2 || fail(err, "CONNACK of a wrong length");
    if (f.size == 2) return true;  // a refusal may come without properties
    size_t off = 2;
    bool ok = read_properties(
        f.body, f.size, &off,
        [&](const Property& p) {
            if (p.id == 0x21) out.receive_maximum = static_cast<uint16_t>(p.num);
            if (p.id == 0x24) out.maximum_qos = static_cast<int>(p.num);
            if (p.id == 0x13) out.server_keep_alive = static_cast<int>(p.num);
            if (p.id == 0x1F) out.reason_string = std::string(p.str);
        },
        err);
    return ok && (off == f.size || fail(err, "trailing bytes in CONNACK"));
}

bool parse_suback(const Frame& f, int version, Suback& out, std::string* err) {
    if (f.size < 3) return fail(err, "short SUBACK");
    out.id = get_u16(f.body);
    size_t off = 2;
    if (version == kV5 && !read_properties(f.body, f.size, &off, nullptr, err)) return false;
    out.codes.assign(f.body + off, f.body + f.size);
    return !out.codes.empty() || fail(err, "SUBACK without reason codes");
}

bool parse_error(std::string* err, const std::string& msg) {
    return fail(err, msg);
}

bool read_publish_properties(const Frame& f, size_t* off, Publish& out, std::string* err) {
    return read_properties(
        f.body, f.size, off,
        [&](const Property& p) {
            if (p.id == 0x23) out.topic_alias = static_cast<uint16_t>(p.num);
        },
        err);
}

bool parse_ack_properties(const Frame& f, Ack& out, std::string* err) {
    size_t off = 3;
    bool ok = read_properties(
        f.body, f.size, &off,
        [&](const Property& p) {
            if (p.id == 0x1F) out.reason_string = std::string(p.str);
        },
        err);
    if (!ok) return false;
    if (off != f.size) return fail(err, std::string("trailing bytes in ") + type_name(f.type()));
    return true;
}

bool parse_disconnect(const Frame& f, int version, Disconnect& out, std::string* err) {
    if (version != kV5) return fail(err, "DISCONNECT from the broker (MQTT 3.1.1 has none)");
    if (f.size >= 1) out.reason = f.body[0];
    if (f.size > 1) {
        size_t off = 1;
        return read_properties(
            f.body, f.size, &off,
            [&](const Property& p) {
                if (p.id == 0x1F) out.reason_string = std::string(p.str);
            },
            err);
    }
    return true;
}

}  // namespace bench::mqtt
