// What a plugin's roost_client (plugin.h) is inside the broker. A plugin only holds a pointer to
// it during a hook and hands it back; what it may keep past a hook is `ref`, a number the plugin
// host looks up on every use (plugin/client_handles.hpp).
//
// Lifetime: a member of its Client, so valid while the client lives (until the connection's
// close callback ran and the client was released).
#pragma once
#include <memory>
#include <vector>

#include "broker/acl_memo.hpp"
#include "roost/plugin.h"
#include "util/boxed.hpp"

namespace roost {
class Client;
}

struct roost_client {
    roost::Client* client;
    roost_client_ref ref = 0;  // the number plugins keep (ClientHandles); 0 until registered
    // client_data_set, by plugin index; made on the first set and grown then (boxed: an idle
    // client with no plugin data pays a pointer, not a vector).
    roost::Boxed<std::vector<void*>> plugin_data{};
    std::unique_ptr<roost::AclMemo> acl_memo{};  // ACL answers plugins let the host keep; made on first use
    bool released = false;                       // client_release ran: no data may be set any more
};
