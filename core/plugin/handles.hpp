// What the opaque handles of plugin.h are inside the broker. A plugin only ever holds pointers
// to these and hands them back; it never sees inside.
#pragma once
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
};
struct roost_client {
    roost::Client* client;
};
struct roost_conn {
    roost::net::Connection* connection;
};
