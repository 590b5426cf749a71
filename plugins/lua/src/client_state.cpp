#include "client_state.hpp"

#include <time.h>

namespace roost_lua {

const CachedAnswer* ClientState::find(std::string_view key, uint64_t generation, uint64_t now_ms) {
    if (generation != cache_generation) {
        cache.clear();
        cache_generation = generation;
        return nullptr;
    }
    auto it = cache.find(key);
    if (it == cache.end()) return nullptr;
    if (it->second.expires_ms <= now_ms) {
        cache.erase(it);
        return nullptr;
    }
    return &it->second;
}

void ClientState::store(std::string_view key, CachedAnswer answer, uint64_t generation, size_t max_entries) {
    if (generation != cache_generation) {
        cache.clear();
        cache_generation = generation;
    }
    if (cache.size() >= max_entries) cache.clear();
    cache.insert_or_assign(std::string(key), answer);
}

void ClientState::remember(int slot, std::string_view topic, uint8_t qos, uint8_t retain, CachedAnswer answer,
                           uint64_t generation) {
    LastAnswer& l = last[slot];
    l.valid = true;
    l.topic.assign(topic);
    l.qos = qos;
    l.retain = retain;
    l.answer = answer;
    l.generation = generation;
}

void ClientState::clear() {
    cache.clear();
    for (LastAnswer& l : last)
        l.valid = false;
}

ClientState* client_state(const roost_host* host, roost_plugin* self, roost_client* client, bool create) {
    auto* state = static_cast<ClientState*>(host->client_data_get(self, client));
    if (state || !create) return state;
    state = new ClientState();
    state->ref = host->client_ref(client);
    if (host->client_data_set(self, client, state) != ROOST_OK) {
        delete state;
        return nullptr;
    }
    return state;
}

void forget_host_answers(const roost_host* host, roost_plugin* self, roost_client* client) {
    if (host && ROOST_HAS(host, roost_host, acl_cache_clear)) host->acl_cache_clear(self, client);
}

uint64_t monotonic_ms() {
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

}  // namespace roost_lua
