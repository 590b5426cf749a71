// The canary of the ws tests: a WebSocket MQTT client on listener 1 subscribed to canary/#.
// After each bad input, check() publishes with mosquitto_pub over TCP (listener 0) and expects
// the message: the bad client must not have disturbed anyone else.
#pragma once
#include <doctest/doctest.h>

#include <string>

#include "plugin_harness.hpp"
#include "ws_client.hpp"

namespace roost_ws_test {

namespace pkt = roost_it::pkt;

class Canary {
  public:
    explicit Canary(const roost_pt::PluginBroker& b) : _b(b), _ws(b.port(1)) {
        auto r = _ws.upgrade();
        REQUIRE(r);
        REQUIRE(r->status == 101);
        REQUIRE(_ws.send_mqtt(pkt::connect(pkt::conn(4, "canary"))));
        auto ack = _ws.read_mqtt_until(pkt::CONNACK);
        REQUIRE(ack);
        REQUIRE(ack->reason() == 0);
        REQUIRE(_ws.send_mqtt(pkt::subscribe(1, "canary/#", 0, 4)));
        REQUIRE(_ws.read_mqtt_until(pkt::SUBACK));
    }
    void check() {
        std::string payload = "alive " + std::to_string(++_n);
        auto r = roost_pt::run(roost_pt::pub(_b, {"-t", "canary/x", "-m", payload}));
        REQUIRE_MESSAGE(r.exit_code == 0, r.err << roost_pt::tail(_b.log()));
        auto p = _ws.read_mqtt_until(pkt::PUBLISH, 5s);
        REQUIRE_MESSAGE(p, "the canary got nothing after a bad input; log:\n" << roost_pt::tail(_b.log()));
        CHECK(p->publish_payload(4) == payload);
    }
    WsClient& ws() { return _ws; }

  private:
    const roost_pt::PluginBroker& _b;
    WsClient _ws;
    int _n = 0;
};

}  // namespace roost_ws_test
