// What the plugin host remembers of a client's ACL answers that the plugins said it may keep
// (roost_acl_event.cache_ms in plugin.h): the last answer per action. A client that publishes to
// the same topic again and again (and the deliveries to a subscriber of one topic) then costs a
// compare per check instead of a call into every ACL plugin. The plugin host (plugin/hooks.cpp)
// fills and reads it; plugins forget it with host->acl_cache_clear.
//
// Lifetime and threads: owned by the client's roost_client, made on the first answer kept, and
// touched only on the client's worker.
#pragma once
#include <cstdint>
#include <string>

namespace roost {

struct AclMemo {
    struct Entry {
        std::string topic;        // the topic (a filter for SUBSCRIBE) the answer is for
        uint64_t expires_ms = 0;  // the worker loop's time (uv_now) it stops holding at; 0 = empty
        uint64_t epoch = 0;       // the acl_cache_clear(NULL) count when it was kept
        uint8_t qos = 0;
        bool retain = false;
        bool allowed = false;
        uint8_t reason = 0;   // with !allowed and a plugin: the reason code it gave
        int32_t decider = 0;  // the ACL plugin (index in the chain) that answered; -1: the listener's default
    };
    Entry last[3];  // by action - 1: publish, subscribe, deliver
};

}  // namespace roost
