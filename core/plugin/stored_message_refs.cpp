#include "plugin/stored_message_refs.hpp"

#include "util/log.hpp"

namespace roost {

bool StoredMessageRefs::add_reference(uint64_t message_id) {
    Shard& shard = of(message_id);
    std::unique_lock lock(shard.lock);
    auto it = shard.refs.find(message_id);
    if (it != shard.refs.end() && it->second.releasing) {
        // Another worker is releasing this message: our store must reach the plugins after it.
        ++shard.waiting;
        bool in_time = shard.released.wait_for(lock, kReleaseWait, [&] {
            it = shard.refs.find(message_id);
            return it == shard.refs.end() || !it->second.releasing;
        });
        --shard.waiting;
        if (!in_time) {
            log::warn(
                "a persistence plugin's release of message {} has not returned after {} s; storing "
                "it again now, which the plugin may see before that release",
                message_id, std::chrono::seconds(kReleaseWait).count());
            it->second.releasing = false;
        }
    }
    if (it == shard.refs.end()) it = shard.refs.emplace(message_id, Count{}).first;
    return it->second.refs++ == 0;
}

bool StoredMessageRefs::drop_reference(uint64_t message_id) {
    Shard& shard = of(message_id);
    std::lock_guard lock(shard.lock);
    auto it = shard.refs.find(message_id);
    if (it == shard.refs.end() || it->second.refs == 0 || --it->second.refs > 0) return false;
    it->second.releasing = true;
    return true;
}

void StoredMessageRefs::finish_release(uint64_t message_id) {
    Shard& shard = of(message_id);
    bool wake;
    {
        std::lock_guard lock(shard.lock);
        auto it = shard.refs.find(message_id);
        if (it == shard.refs.end()) return;
        // A store that timed out waiting (add_reference) took the entry over: it is counted again.
        if (it->second.refs == 0)
            shard.refs.erase(it);
        else
            it->second.releasing = false;
        wake = shard.waiting > 0;
    }
    if (wake) shard.released.notify_all();
}

void StoredMessageRefs::note_restored(uint64_t message_id) {
    Shard& shard = of(message_id);
    std::lock_guard lock(shard.lock);
    ++shard.refs[message_id].refs;
}

}  // namespace roost
