// Property block codec. One table says, per identifier, where it may appear; the reading code
// then only has to check types and values.
#include "mqtt/properties_codec.hpp"

#include <cstdio>

#include "mqtt/topic.hpp"
#include "mqtt/utf8.hpp"

namespace roost::mqtt {

namespace {

constexpr uint16_t bit(PropertyContext c) {
    return static_cast<uint16_t>(1u << static_cast<unsigned>(c));
}

constexpr uint16_t kConnect = bit(PropertyContext::Connect);
constexpr uint16_t kWill = bit(PropertyContext::Will);
constexpr uint16_t kConnack = bit(PropertyContext::Connack);
constexpr uint16_t kPublish = bit(PropertyContext::Publish);
constexpr uint16_t kAck = bit(PropertyContext::Ack);
constexpr uint16_t kSubscribe = bit(PropertyContext::Subscribe);
constexpr uint16_t kSuback = bit(PropertyContext::Suback);
constexpr uint16_t kUnsuback = bit(PropertyContext::Unsuback);
constexpr uint16_t kDisconnect = bit(PropertyContext::Disconnect);
constexpr uint16_t kAuth = bit(PropertyContext::Auth);
constexpr uint16_t kAll = 0x7FF;

// Spec 2.2.2.2: the packets each property may appear in. 0 = not a property identifier.
uint16_t allowed_in(uint32_t id) {
    switch (static_cast<PropertyId>(id)) {
        case PropertyId::PayloadFormatIndicator:
        case PropertyId::MessageExpiryInterval:
        case PropertyId::ContentType:
        case PropertyId::ResponseTopic:
        case PropertyId::CorrelationData:
            return kPublish | kWill;
        case PropertyId::SubscriptionIdentifier:
            return kPublish | kSubscribe;
        case PropertyId::SessionExpiryInterval:
            return kConnect | kConnack | kDisconnect;
        case PropertyId::AssignedClientIdentifier:
        case PropertyId::ServerKeepAlive:
        case PropertyId::ResponseInformation:
        case PropertyId::MaximumQos:
        case PropertyId::RetainAvailable:
        case PropertyId::WildcardSubscriptionAvailable:
        case PropertyId::SubscriptionIdentifierAvailable:
        case PropertyId::SharedSubscriptionAvailable:
            return kConnack;
        case PropertyId::AuthenticationMethod:
        case PropertyId::AuthenticationData:
            return kConnect | kConnack | kAuth;
        case PropertyId::RequestProblemInformation:
        case PropertyId::RequestResponseInformation:
            return kConnect;
        case PropertyId::WillDelayInterval:
            return kWill;
        case PropertyId::ServerReference:
            return kConnack | kDisconnect;
        case PropertyId::ReasonString:
            return kConnack | kAck | kSuback | kUnsuback | kDisconnect | kAuth;
        case PropertyId::ReceiveMaximum:
        case PropertyId::TopicAliasMaximum:
        case PropertyId::MaximumPacketSize:
            return kConnect | kConnack;
        case PropertyId::TopicAlias:
            return kPublish;
        case PropertyId::UserProperty:
            return kAll;
    }
    return 0;
}

const char* context_name(PropertyContext c) {
    switch (c) {
        case PropertyContext::Connect:
            return "CONNECT";
        case PropertyContext::Will:
            return "will properties";
        case PropertyContext::Connack:
            return "CONNACK";
        case PropertyContext::Publish:
            return "PUBLISH";
        case PropertyContext::Ack:
            return "PUBACK/PUBREC/PUBREL/PUBCOMP";
        case PropertyContext::Subscribe:
            return "SUBSCRIBE";
        case PropertyContext::Suback:
            return "SUBACK";
        case PropertyContext::Unsubscribe:
            return "UNSUBSCRIBE";
        case PropertyContext::Unsuback:
            return "UNSUBACK";
        case PropertyContext::Disconnect:
            return "DISCONNECT";
        case PropertyContext::Auth:
            return "AUTH";
    }
    return "?";
}

// Everything a property read needs to report a failure with a useful message.
struct PropertyReader {
    wire::Reader& r;
    PropertyContext ctx;
    DecodeError& error;
    uint32_t id = 0;

    bool fail(ReasonCode reason, const char* what) {
        char buf[160];
        std::snprintf(buf, sizeof buf, "property 0x%02X in %s: %s", static_cast<unsigned>(id),
                      context_name(ctx), what);
        error = {reason, buf};
        return false;
    }
    bool truncated() { return fail(ReasonCode::MalformedPacket, "value runs past the property length"); }

    template <class T>
    bool once(const std::optional<T>& slot) {
        if (!slot) return true;
        char buf[120];
        std::snprintf(buf, sizeof buf, "duplicate property 0x%02X in %s", static_cast<unsigned>(id),
                      context_name(ctx));
        error = {ReasonCode::ProtocolError, buf};
        return false;
    }

    bool byte(std::optional<uint8_t>& slot, bool zero_or_one = true) {
        uint8_t v = 0;
        if (!once(slot)) return false;
        if (!r.u8(v)) return truncated();
        if (zero_or_one && v > 1) return fail(ReasonCode::ProtocolError, "value must be 0 or 1");
        slot = v;
        return true;
    }
    bool u16(std::optional<uint16_t>& slot, bool nonzero) {
        uint16_t v = 0;
        if (!once(slot)) return false;
        if (!r.u16(v)) return truncated();
        if (nonzero && v == 0) return fail(ReasonCode::ProtocolError, "value must not be 0");
        slot = v;
        return true;
    }
    bool u32(std::optional<uint32_t>& slot, bool nonzero) {
        uint32_t v = 0;
        if (!once(slot)) return false;
        if (!r.u32(v)) return truncated();
        if (nonzero && v == 0) return fail(ReasonCode::ProtocolError, "value must not be 0");
        slot = v;
        return true;
    }
    bool utf8(std::string& v) {
        if (!r.binary(v)) return truncated();
        if (!valid_mqtt_utf8(v)) return fail(ReasonCode::MalformedPacket, "invalid UTF-8 string");
        return true;
    }
    bool string(std::optional<std::string>& slot) {
        if (!once(slot)) return false;
        std::string v;
        if (!utf8(v)) return false;
        slot = std::move(v);
        return true;
    }
    bool binary(std::optional<std::string>& slot) {
        if (!once(slot)) return false;
        std::string v;
        if (!r.binary(v)) return truncated();
        slot = std::move(v);
        return true;
    }
};

}  // namespace

bool read_properties(wire::Reader& r, PropertyContext ctx, Properties& out, DecodeError& error,
                     uint32_t max_user_properties) {
    uint32_t length = 0;
    if (!r.varint(length)) {
        error = {ReasonCode::MalformedPacket,
                 std::string("bad property length (past the end, or not in the fewest bytes) in ") +
                     context_name(ctx)};
        return false;
    }
    wire::Reader block(std::span<const uint8_t>{});
    if (!r.sub(length, block)) {
        error = {ReasonCode::MalformedPacket,
                 std::string("property length exceeds the packet in ") + context_name(ctx)};
        return false;
    }
    PropertyReader p{block, ctx, error};
    while (!block.empty()) {
        if (!block.varint(p.id))
            return p.fail(ReasonCode::MalformedPacket,
                          "bad property identifier (past the end, or not in the fewest bytes)");
        if (allowed_in(p.id) == 0) return p.fail(ReasonCode::MalformedPacket, "unknown property identifier");
        // Spec 2.2.2.2: an identifier not valid for its packet type makes the packet malformed.
        if ((allowed_in(p.id) & bit(ctx)) == 0)
            return p.fail(ReasonCode::MalformedPacket, "not allowed here");
        bool ok = true;
        switch (static_cast<PropertyId>(p.id)) {
            case PropertyId::PayloadFormatIndicator:
                ok = p.byte(out.payload_format_indicator);
                break;
            case PropertyId::MessageExpiryInterval:
                ok = p.u32(out.message_expiry_interval, false);
                break;
            case PropertyId::ContentType:
                ok = p.string(out.content_type);
                break;
            case PropertyId::ResponseTopic:
                ok = p.string(out.response_topic);
                // Spec 3.3.2.3.5: a topic name, so no wildcards.
                if (ok && !valid_topic_name(*out.response_topic))
                    return p.fail(ReasonCode::ProtocolError, "response topic is not a valid topic name");
                break;
            case PropertyId::CorrelationData:
                ok = p.binary(out.correlation_data);
                break;
            case PropertyId::SubscriptionIdentifier: {
                // PUBLISH from a server carries one per matching subscription; SUBSCRIBE at most one.
                if (ctx != PropertyContext::Publish && !out.subscription_identifiers.empty()) {
                    std::optional<uint32_t> present = 0;
                    return p.once(present);
                }
                uint32_t v = 0;
                if (!block.varint(v))
                    return p.fail(ReasonCode::MalformedPacket,
                                  "bad variable byte integer (past the end, or not in the fewest bytes)");
                if (v == 0) return p.fail(ReasonCode::ProtocolError, "subscription identifier 0");
                out.subscription_identifiers.push_back(v);
                break;
            }
            case PropertyId::SessionExpiryInterval:
                ok = p.u32(out.session_expiry_interval, false);
                break;
            case PropertyId::AssignedClientIdentifier:
                ok = p.string(out.assigned_client_identifier);
                break;
            case PropertyId::ServerKeepAlive:
                ok = p.u16(out.server_keep_alive, false);
                break;
            case PropertyId::AuthenticationMethod:
                ok = p.string(out.authentication_method);
                break;
            case PropertyId::AuthenticationData:
                ok = p.binary(out.authentication_data);
                break;
            case PropertyId::RequestProblemInformation:
                ok = p.byte(out.request_problem_information);
                break;
            case PropertyId::WillDelayInterval:
                ok = p.u32(out.will_delay_interval, false);
                break;
            case PropertyId::RequestResponseInformation:
                ok = p.byte(out.request_response_information);
                break;
            case PropertyId::ResponseInformation:
                ok = p.string(out.response_information);
                break;
            case PropertyId::ServerReference:
                ok = p.string(out.server_reference);
                break;
            case PropertyId::ReasonString:
                ok = p.string(out.reason_string);
                break;
            case PropertyId::ReceiveMaximum:
                ok = p.u16(out.receive_maximum, true);
                break;
            case PropertyId::TopicAliasMaximum:
                ok = p.u16(out.topic_alias_maximum, false);
                break;
            case PropertyId::TopicAlias:
                // Spec 3.3.2.3.4: alias 0 is a Protocol Error the spec gives its own code.
                ok = p.u16(out.topic_alias, false);
                if (ok && *out.topic_alias == 0)
                    return p.fail(ReasonCode::TopicAliasInvalid, "topic alias 0");
                break;
            case PropertyId::MaximumQos:
                ok = p.byte(out.maximum_qos);
                break;
            case PropertyId::RetainAvailable:
                ok = p.byte(out.retain_available);
                break;
            case PropertyId::UserProperty: {
                if (out.user_properties.size() >= max_user_properties) {
                    char buf[120];
                    std::snprintf(buf, sizeof buf,
                                  "more than %u user properties in %s ([limits] max_user_properties)",
                                  max_user_properties, context_name(ctx));
                    error = {ReasonCode::QuotaExceeded, buf};
                    return false;
                }
                UserProperty up;
                if (!p.utf8(up.key) || !p.utf8(up.value)) return false;
                out.user_properties.push_back(std::move(up));
                break;
            }
            case PropertyId::MaximumPacketSize:
                ok = p.u32(out.maximum_packet_size, true);
                break;
            case PropertyId::WildcardSubscriptionAvailable:
                ok = p.byte(out.wildcard_subscription_available);
                break;
            case PropertyId::SubscriptionIdentifierAvailable:
                ok = p.byte(out.subscription_identifier_available);
                break;
            case PropertyId::SharedSubscriptionAvailable:
                ok = p.byte(out.shared_subscription_available);
                break;
        }
        if (!ok) return false;
    }
    return true;
}

namespace {

template <class Sink>
void write_body(Sink& s, const Properties& p, const PublishExtras* extras) {
    using wire::put_binary;
    using wire::put_u16;
    using wire::put_u32;
    using wire::put_u8;
    auto id = [&](PropertyId i) { wire::put_u8(s, static_cast<uint8_t>(i)); };
    auto byte = [&](PropertyId i, const std::optional<uint8_t>& v) {
        if (v) id(i), put_u8(s, *v);
    };
    auto two = [&](PropertyId i, const std::optional<uint16_t>& v) {
        if (v) id(i), put_u16(s, *v);
    };
    auto four = [&](PropertyId i, const std::optional<uint32_t>& v) {
        if (v) id(i), put_u32(s, *v);
    };
    auto str = [&](PropertyId i, const std::optional<std::string>& v) {
        if (v) id(i), put_binary(s, *v);
    };
    byte(PropertyId::PayloadFormatIndicator, p.payload_format_indicator);
    four(PropertyId::MessageExpiryInterval, extras && extras->message_expiry_interval
                                                ? extras->message_expiry_interval
                                                : p.message_expiry_interval);
    str(PropertyId::ContentType, p.content_type);
    str(PropertyId::ResponseTopic, p.response_topic);
    str(PropertyId::CorrelationData, p.correlation_data);
    const std::vector<uint32_t>& sids = extras && extras->subscription_identifiers
                                            ? *extras->subscription_identifiers
                                            : p.subscription_identifiers;
    for (uint32_t sid : sids)
        id(PropertyId::SubscriptionIdentifier), wire::put_varint(s, sid);
    four(PropertyId::SessionExpiryInterval, p.session_expiry_interval);
    str(PropertyId::AssignedClientIdentifier, p.assigned_client_identifier);
    two(PropertyId::ServerKeepAlive, p.server_keep_alive);
    str(PropertyId::AuthenticationMethod, p.authentication_method);
    str(PropertyId::AuthenticationData, p.authentication_data);
    byte(PropertyId::RequestProblemInformation, p.request_problem_information);
    four(PropertyId::WillDelayInterval, p.will_delay_interval);
    byte(PropertyId::RequestResponseInformation, p.request_response_information);
    str(PropertyId::ResponseInformation, p.response_information);
    str(PropertyId::ServerReference, p.server_reference);
    str(PropertyId::ReasonString, p.reason_string);
    two(PropertyId::ReceiveMaximum, p.receive_maximum);
    two(PropertyId::TopicAliasMaximum, p.topic_alias_maximum);
    two(PropertyId::TopicAlias, extras && extras->topic_alias ? extras->topic_alias : p.topic_alias);
    byte(PropertyId::MaximumQos, p.maximum_qos);
    byte(PropertyId::RetainAvailable, p.retain_available);
    for (const UserProperty& up : p.user_properties) {
        id(PropertyId::UserProperty);
        put_binary(s, up.key);
        put_binary(s, up.value);
    }
    four(PropertyId::MaximumPacketSize, p.maximum_packet_size);
    byte(PropertyId::WildcardSubscriptionAvailable, p.wildcard_subscription_available);
    byte(PropertyId::SubscriptionIdentifierAvailable, p.subscription_identifier_available);
    byte(PropertyId::SharedSubscriptionAvailable, p.shared_subscription_available);
}

}  // namespace

template <class Sink>
void write_properties(Sink& s, const Properties& p, const PublishExtras* extras) {
    wire::CountSink count;
    write_body(count, p, extras);
    wire::put_varint(s, static_cast<uint32_t>(count.n));
    write_body(s, p, extras);
}

template void write_properties<wire::VectorSink>(wire::VectorSink&, const Properties&, const PublishExtras*);
template void write_properties<wire::CountSink>(wire::CountSink&, const Properties&, const PublishExtras*);

}  // namespace roost::mqtt
