// What the opaque handles of plugin.h are inside the broker. A plugin only ever holds pointers
// to these and hands them back; it never sees inside. What a plugin may keep past a hook is a
// number (roost_call, roost_client_ref, roost_timer), looked up on every use.
//
// roost_client belongs to the broker's Client and roost_conn to the network's Connection, so
// each is declared in its own layer (the layer below may not include plugin/); roost_plugin is
// the plugin host's own.
#pragma once
#include <cstddef>

#include "broker/client_handle.hpp"
#include "net/conn_handle.hpp"
#include "roost/plugin.h"

namespace roost {
struct LoadedPlugin;
}

struct roost_plugin {
    roost::LoadedPlugin* plugin;
    size_t index = 0;  // the plugin's place in config order: its client data slot
};
