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

// The last answer for one action: most clients publish to the same few topics again and again, so
// a compare of the topic answers most checks without hashing it.
struct LastAnswer {
    bool valid = false;
    uint8_t qos = 0, retain = 0;
    uint64_t generation = 0;
    std::string topic;
    CachedAnswer answer{};
};

struct ClientState {
    roost_client_ref ref = 0;
    LastAnswer last[3];             // by action: publish, subscribe, deliver
    bool has_script_data = false;   // roost.client_data_set stored a value in the Lua state
    uint64_t cache_generation = 0;  // the worker's script generation the cache entries belong to
    std::unordered_map<std::string, CachedAnswer, KeyHash, std::equal_to<>> cache;

    // The cached answer for `key`, if fresh and of the current script generation.
    const CachedAnswer* find(std::string_view key, uint64_t generation, uint64_t now_ms);
    // Stores an answer; a full cache (max_entries) is emptied first, which bounds memory for a
    // client that publishes to ever new topics.
    void store(std::string_view key, CachedAnswer answer, uint64_t generation, size_t max_entries);

    // The memo of `slot` (action - 1) when it holds this topic, QoS and retain flag, fresh.
    const CachedAnswer* recall(int slot, std::string_view topic, uint8_t qos, uint8_t retain,
                               uint64_t generation, uint64_t now_ms) const {
        const LastAnswer& l = last[slot];
        if (l.valid && l.generation == generation && l.answer.expires_ms > now_ms && l.qos == qos &&
            l.retain == retain && l.topic == topic)
            return &l.answer;
        return nullptr;
    }
    void remember(int slot, std::string_view topic, uint8_t qos, uint8_t retain, CachedAnswer answer,
                  uint64_t generation);
    // Forgets every cached answer (roost.cache_clear).
    void clear();
};

// The client's state; with `create`, makes and registers it when it has none (NULL if the host
// refuses). host/self are the plugin's.
ClientState* client_state(const roost_host* host, roost_plugin* self, roost_client* client, bool create);

uint64_t monotonic_ms();

// Tells the host to forget the ACL answers it keeps for the plugin (hooks.cpp let_host_keep): of
// `client`, or of every client with NULL. A no-op on a host without acl_cache_clear.
void forget_host_answers(const roost_host* host, roost_plugin* self, roost_client* client);

}  // namespace roost_lua
