// How many stored deliveries refer to each stored message, over all workers: the message is
// stored with its first reference and released with its last (plugin/persistence.hpp makes the
// plugin calls).
#pragma once
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace roost {

// Threads: shared by every worker's Persistence, in shards by message id (every worker counts
// every message it delivers, twice: one lock for all of them was a cache line the workers passed
// back and forth). Each shard's `lock` guards its `refs`; `released` is signalled under it.
//
// The order the plugins see. The first reference and the last are decided under a shard's lock,
// but the plugin calls they lead to (store, release) are made after it is unlocked: a hook may
// take a plugin's own lock, and a plugin may call the host while holding it, so no hook runs
// under these locks. Without more, a message whose last delivery is deleted on one worker while
// another worker saves a new one (a fan-out batch arriving late, a retained message sent at
// SUBSCRIBE, a shared-subscription hand-off) could reach a plugin as "store" and then "release",
// and the plugin would drop a message that a stored delivery names. So the last reference leaves
// its entry marked "releasing" until its release call has returned (finish_release), and a
// first reference to a message being released waits for that (add_reference). The wait is the
// length of one release hook, which queues its work and returns; a hook that blocks for longer
// than kReleaseWait is a plugin fault, logged, and then the store goes ahead.
class StoredMessageRefs {
  public:
    // Counts one more stored delivery of `message_id`. True when it is the first: the caller then
    // stores the message (before the delivery that names it).
    bool add_reference(uint64_t message_id);
    // Counts one delivery fewer. True when it was the last: the caller then releases the message
    // and calls finish_release(message_id) once that call has returned.
    bool drop_reference(uint64_t message_id);
    void finish_release(uint64_t message_id);
    // Restore: one stored delivery of a stored message (no plugin call follows).
    void note_restored(uint64_t message_id);

    static constexpr auto kReleaseWait = std::chrono::seconds(1);

  private:
    struct Count {
        size_t refs = 0;
        bool releasing = false;  // the last reference dropped; its release call not yet returned
    };
    struct alignas(64) Shard {
        std::mutex lock;
        std::condition_variable released;
        size_t waiting = 0;  // add_reference calls blocked on a release in this shard
        std::unordered_map<uint64_t, Count> refs;
    };
    static constexpr size_t kShards = 16;
    Shard _shards[kShards];
    Shard& of(uint64_t message_id) { return _shards[message_id % kShards]; }
};

}  // namespace roost
