// The packet type of a Packet variant.
#include "mqtt/packet.hpp"

namespace roost::mqtt {

namespace {
struct TypeOf {
    PacketType operator()(const Connect&) const { return PacketType::Connect; }
    PacketType operator()(const Connack&) const { return PacketType::Connack; }
    PacketType operator()(const Publish&) const { return PacketType::Publish; }
    PacketType operator()(const Ack& a) const { return a.type; }
    PacketType operator()(const Subscribe&) const { return PacketType::Subscribe; }
    PacketType operator()(const Suback&) const { return PacketType::Suback; }
    PacketType operator()(const Unsubscribe&) const { return PacketType::Unsubscribe; }
    PacketType operator()(const Unsuback&) const { return PacketType::Unsuback; }
    PacketType operator()(const Pingreq&) const { return PacketType::Pingreq; }
    PacketType operator()(const Pingresp&) const { return PacketType::Pingresp; }
    PacketType operator()(const Disconnect&) const { return PacketType::Disconnect; }
    PacketType operator()(const Auth&) const { return PacketType::Auth; }
};
}  // namespace

PacketType packet_type(const Packet& p) {
    return std::visit(TypeOf{}, p);
}

std::string_view packet_type_name(PacketType type) {
    static constexpr std::string_view names[] = {
        "?",         "CONNECT", "CONNACK",     "PUBLISH",  "PUBACK",  "PUBREC",   "PUBREL",     "PUBCOMP",
        "SUBSCRIBE", "SUBACK",  "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "AUTH"};
    auto i = static_cast<size_t>(type);
    return i < std::size(names) ? names[i] : "?";
}

}  // namespace roost::mqtt
