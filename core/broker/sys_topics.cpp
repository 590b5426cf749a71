#include "broker/sys_topics.hpp"

#include <fmt/format.h>

#include "broker/broker.hpp"

namespace roost {
namespace {
void publish_value(Broker& broker, std::string topic, std::string value) {
    auto m = std::make_shared<Message>();
    m->topic = std::move(topic);
    m->payload = std::move(value);
    m->retain = true;
    broker.publish(std::move(m));
}

// Every worker's counters, summed: each has one writer, so a sum is a moment's picture.
struct Totals {
    uint64_t connections_total = 0, messages_received = 0, messages_sent = 0, messages_dropped = 0,
             messages_throttled = 0, deliveries_unstored = 0, bytes_received = 0, bytes_sent = 0;
};

Totals totals(Router& router) {
    Totals t;
    for (unsigned i = 0; i < router.worker_count(); ++i) {
        const Stats& s = router.worker(i)->stats();
        t.connections_total += s.connections_total.load();
        t.messages_received += s.messages_received.load();
        t.messages_sent += s.messages_sent.load();
        t.messages_dropped += s.messages_dropped.load();
        t.messages_throttled += s.messages_throttled.load();
        t.deliveries_unstored += s.deliveries_unstored.load();
        t.bytes_received += s.bytes_received.load();
        t.bytes_sent += s.bytes_sent.load();
    }
    return t;
}
}  // namespace

void publish_sys_topics(Broker& broker) {
    Totals s = totals(broker.router());
    auto uptime =
        std::chrono::duration_cast<std::chrono::seconds>(Clock::now() - broker.router().started).count();
    publish_value(broker, "$SYS/broker/version", "roost " ROOST_VERSION);
    publish_value(broker, "$SYS/broker/uptime", fmt::format("{} seconds", uptime));
    publish_value(broker, "$SYS/broker/clients/connected", std::to_string(broker.connected_clients()));
    publish_value(broker, "$SYS/broker/clients/total", std::to_string(broker.session_count()));
    publish_value(broker, "$SYS/broker/connections/total", std::to_string(s.connections_total));
    publish_value(broker, "$SYS/broker/messages/received", std::to_string(s.messages_received));
    publish_value(broker, "$SYS/broker/messages/sent", std::to_string(s.messages_sent));
    publish_value(broker, "$SYS/broker/messages/dropped", std::to_string(s.messages_dropped));
    publish_value(broker, "$SYS/broker/messages/throttled", std::to_string(s.messages_throttled));
    publish_value(broker, "$SYS/broker/messages/acknowledged unstored",
                  std::to_string(s.deliveries_unstored));
    publish_value(broker, "$SYS/broker/bytes/received", std::to_string(s.bytes_received));
    publish_value(broker, "$SYS/broker/bytes/sent", std::to_string(s.bytes_sent));
    publish_value(broker, "$SYS/broker/subscriptions/count", std::to_string(broker.subscription_count()));
    publish_value(broker, "$SYS/broker/retained messages/count", std::to_string(broker.retained_count()));
}

}  // namespace roost
