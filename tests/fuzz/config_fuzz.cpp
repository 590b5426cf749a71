// Config parser fuzz target: any text given as roost.toml either parses into a Config whose
// values are within the ranges the schema promises, or fails with a ConfigError that has a
// message. Nothing else (no other exception, no crash, no hang).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size > 64 * 1024) return 0;  // roost.toml files are small; longer inputs only slow it down
    std::string_view text(reinterpret_cast<const char*>(data), size);
    try {
        roost::Config c = roost::parse_config(text, "fuzz.toml");
        if (c.listeners.empty()) std::abort();
        if (c.limits.max_packet_size < 64 || c.limits.max_inflight < 1 || c.limits.max_queued_messages < 1)
            std::abort();
        if (c.limits.max_topic_levels < 1 || c.limits.send_timeout < 1 || c.broker.maximum_qos > 2)
            std::abort();
        for (const roost::ListenerConfig& l : c.listeners)
            if (l.port == 0 || l.bind.empty()) std::abort();
    } catch (const roost::ConfigError& e) {
        if (std::string_view(e.what()).empty()) std::abort();
    }
    try {
        roost::parse_listen_address(std::string(text.substr(0, 64)));
    } catch (const roost::ConfigError&) {
    }
    return 0;
}
