// What a plugin's roost_conn (plugin.h) is inside the broker: the connection a transport filter
// runs on. A member of its Connection, so valid while the connection lives; a plugin holds it
// only during a transport hook or a host function called from one.
#pragma once
#include "roost/plugin.h"

namespace roost::net {
class Connection;
}

struct roost_conn {
    roost::net::Connection* connection;
};
