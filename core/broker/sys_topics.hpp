// $SYS/broker/... : the broker's own statistics as retained messages, as Mosquitto names them
// so that existing dashboards work.
#pragma once

namespace roost {

class Broker;

// Publishes every $SYS topic once with current values.
void publish_sys_topics(Broker& broker);

}  // namespace roost
