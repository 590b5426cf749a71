// The session directory: client id -> the worker that owns its session and the session's number.
// One entry per session, so it is a flat open-addressing table (linear probing, backward-shift
// deletion) of 16-byte slots instead of a node-based map: no allocation per session, and the
// client id is not copied: a slot points at the id kept in the Session itself. The other 8 bytes
// pack the session's number (48 bits: numbers are counted from 1 by one Router, 2^48 of them take
// 9 years at a million sessions a second), the worker (8 bits: at most 256 workers, config.cpp)
// and 8 bits of the id's hash, which most probes of another id stop at without reading the id.
//
// Lifetime of what a slot points at: the Session's `client_id`, which never changes after the
// session is made, and the Session lives (on its owning worker, or in flight between two) at least
// until its entry is released: Broker::end_session releases before it drops the session, and a
// Broker releases what it still owns when it is destroyed. A clean session that has no Session
// object yet (broker.hpp, "Sessions made when needed") is listed under its Client's `client_id`
// instead, which likewise never changes while listed: the Broker releases the entry before the
// client goes, or repoints it (repoint) at the Session's copy when it makes the Session.
//
// Threads: none of its own. The Router guards it with its _directory_lock (router.hpp).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/subscription_tree.hpp"

namespace roost {

class SessionDirectory {
  public:
    struct Owner {
        unsigned worker;
        SessionKey key;
    };

    // Records `worker` as the owner of `*client_id` with session `key` if nobody owns that id
    // (the slot keeps the pointer: see the lifetime rule above); otherwise returns the owner.
    std::optional<Owner> claim(const std::string* client_id, unsigned worker, SessionKey key);
    void move(std::string_view client_id, unsigned worker);
    // The entry of session `key` now points at `*client_id` (an equal string that lives longer:
    // the Session's copy of a Client's id).
    void repoint(const std::string* client_id, SessionKey key);
    // Forgets `client_id` if its entry is the session `key` (a newer one is left alone).
    void release(std::string_view client_id, SessionKey key);
    std::optional<Owner> find(std::string_view client_id) const;
    size_t size() const { return _size; }

  private:
    struct Slot {
        const std::string* id = nullptr;  // nullptr: empty
        uint64_t packed = 0;              // key << 16 | worker << 8 | hash's top byte

        SessionKey key() const { return packed >> 16; }
        unsigned worker() const { return static_cast<unsigned>(packed >> 8) & 0xFF; }
        uint8_t tag() const { return static_cast<uint8_t>(packed); }
        void set_worker(unsigned worker) {
            packed = (packed & ~uint64_t{0xFF00}) | uint64_t{worker & 0xFF} << 8;
        }
        static uint64_t pack(SessionKey key, unsigned worker, uint64_t hash) {
            return key << 16 | uint64_t{worker & 0xFF} << 8 | tag_of(hash);
        }
    };
    // The slot a probe starts from is the hash's low bits; the tag is its top byte, so that the
    // two are independent.
    static uint8_t tag_of(uint64_t hash) { return static_cast<uint8_t>(hash >> 56); }
    static uint64_t hash_of(std::string_view id);
    // The slot holding `id`, or SIZE_MAX.
    size_t locate(std::string_view id, uint64_t hash) const;
    void grow();

    std::vector<Slot> _slots;  // size 0 or a power of two
    size_t _size = 0;
};

}  // namespace roost
