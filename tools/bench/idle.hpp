// The conn scenario: C idle MQTT connections, opened and held for --duration (PINGREQ keeps
// them alive on long holds), to see what each connection costs the broker in memory and CPU.
#pragma once

#include "net.hpp"
#include "result.hpp"

namespace bench {

class Idle : public Net {
  public:
    explicit Idle(const Options& o) : Net(o) {}
    void run(Result& r);

  private:
    bool on_packet(Conn& c, const mqtt::Frame& f, uint64_t now) override;
};

}  // namespace bench
