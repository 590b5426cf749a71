// What the plugin keeps per client (host->client_data_set), on the client's worker: the decision
// cache of its ACL answers, and whether its script data lives in the worker's Lua state. Made on
// first need, freed by client_release. Thread rule: touched only on the client's worker.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

#include <roost/plugin.h>

namespace roost_lua {

struct CachedAnswer {
    roost_verdict verdict;
    uint8_t reason_code;
    uint64_t expires_ms;  // monotonic
};

// Lets the cache be searched with a string_view (no string built per publish).
struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

struct ClientState {
    roost_client_ref ref = 0;
    bool has_script_data = false;   // roost.client_data_set stored a value in the Lua state
    uint64_t cache_generation = 0;  // the worker's script generation the cache entries belong to
    std::unordered_map<std::string, CachedAnswer, KeyHash, std::equal_to<>> cache;

    // The cached answer for `key`, if fresh and of the current script generation.
    const CachedAnswer* find(std::string_view key, uint64_t generation, uint64_t now_ms);
    // Stores an answer; a full cache (max_entries) is emptied first, which bounds memory for a
    // client that publishes to ever new topics.
    void store(std::string_view key, CachedAnswer answer, uint64_t generation, size_t max_entries);
};

// The client's state; with `create`, makes and registers it when it has none (NULL if the host
// refuses). host/self are the plugin's.
ClientState* client_state(const roost_host* host, roost_plugin* self, roost_client* client, bool create);

uint64_t monotonic_ms();

}  // namespace roost_lua
