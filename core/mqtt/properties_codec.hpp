// Reading and writing a property block (MQTT 5 spec 2.2.2). Internal to the codec.
#pragma once
#include <cstdint>

#include "mqtt/decoder.hpp"
#include "mqtt/properties.hpp"
#include "mqtt/wire.hpp"

namespace roost::mqtt {

// Where a property block sits; decides which properties are allowed (spec 2.2.2.2 table).
enum class PropertyContext : uint8_t {
    Connect,
    Will,
    Connack,
    Publish,
    Ack,  // PUBACK, PUBREC, PUBREL, PUBCOMP
    Subscribe,
    Suback,
    Unsubscribe,
    Unsuback,
    Disconnect,
    Auth,
};

// Reads the property length and the properties after it into `out`. Enforces the rules a property
// block can break on its own: unknown or misplaced identifiers, duplicates, values out of range,
// invalid UTF-8, a length that runs past the packet.
// At most `max_user_properties` user properties are stored; one more fails with QuotaExceeded
// before it is (issue 12: each costs heap, and a 1 MB CONNECT holds 200,000 of them).
bool read_properties(wire::Reader& r, PropertyContext ctx, Properties& out, DecodeError& error,
                     uint32_t max_user_properties = UINT32_MAX);

// Writes the property length and the properties, ascending by identifier.
template <class Sink>
void write_properties(Sink& s, const Properties& p, const PublishExtras* extras = nullptr);

extern template void write_properties<wire::VectorSink>(wire::VectorSink&, const Properties&,
                                                        const PublishExtras*);
extern template void write_properties<wire::CountSink>(wire::CountSink&, const Properties&,
                                                       const PublishExtras*);

}  // namespace roost::mqtt
