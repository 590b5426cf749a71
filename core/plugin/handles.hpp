// What the opaque handles of plugin.h are inside the broker. A plugin only ever holds pointers
// to these and hands them back; it never sees inside. What a plugin may keep past a hook is a
// number (roost_call, roost_client_ref, roost_timer), looked up on every use.
#pragma once
#include <cstddef>
#include <vector>

#include "roost/plugin.h"

namespace roost {
struct LoadedPlugin;
class Client;
namespace net {
class Connection;
}
}  // namespace roost

struct roost_plugin {
    roost::LoadedPlugin* plugin;
    size_t index = 0;  // the plugin's place in config order: its client data slot
};

// Lifetime: a member of its Client, so valid while the client lives (until the connection's
// close callback ran and the client was released).
struct roost_client {
    roost::Client* client;
    roost_client_ref ref = 0;          // the number plugins keep (ClientHandles); 0 until registered
    std::vector<void*> plugin_data{};  // client_data_set, by plugin index; grown on first set
    bool released = false;             // client_release ran: no data may be set any more
};

struct roost_conn {
    roost::net::Connection* connection;
};
