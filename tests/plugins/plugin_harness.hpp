// The plugin tests' harness, on top of tests/integration/harness.hpp: a broker started from a
// whole roost.toml (listeners with a transport and default decisions, [[plugin]] tables), a raw
// MQTT client that can XOR its bytes (for the transport_xor fixture), and helpers to read the
// answers the tests check (CONNACK, PUBACK and SUBACK reason codes) and the log.
#pragma once
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harness.hpp"

namespace roost_pt {

using namespace roost_it;

struct PluginSpec {
    std::string path;                                          // absolute path of the .so
    std::vector<std::pair<std::string, std::string>> options;  // [plugin.options], as TOML strings
};

struct ListenerSpec {
    std::string transport;     // "" = plain MQTT
    std::string auth_default;  // "" = not set, else "allow" or "deny"
    std::string acl_default;
    uint16_t port = 0;  // 0: a free port
};

struct Setup {
    std::vector<std::string> broker;  // lines for [broker], e.g. "plugin_timeout_ms = 500"
    std::vector<ListenerSpec> listeners{ListenerSpec{}};
    std::vector<PluginSpec> plugins;
    // More lines for listener i's [[listener]] table (e.g. its tls_* keys), by index.
    std::vector<std::vector<std::string>> listener_lines;
};

// The roost.toml for `setup` (ports filled in), and the line of each [[plugin]] table.
struct WrittenConfig {
    std::string path;
    std::string text;
    std::vector<int> plugin_lines;
};
WrittenConfig write_config(Setup& setup);

// A broker run with `roost -v -c roost.toml` from a Setup. Throws if it exits at start or does
// not accept on every listener within 10 s. The destructor stops it and checks exit code 0
// within 5 s, as the integration harness's Broker does.
class PluginBroker {
  public:
    explicit PluginBroker(Setup setup);
    ~PluginBroker();
    PluginBroker(const PluginBroker&) = delete;
    PluginBroker& operator=(const PluginBroker&) = delete;

    uint16_t port(size_t listener = 0) const { return _setup.listeners.at(listener).port; }
    std::string port_str(size_t listener = 0) const { return std::to_string(port(listener)); }
    std::string log() const { return _process.err(); }
    size_t log_size() const { return log().size(); }
    // Waits until the log from byte `from` on has a line containing every one of `all`.
    bool wait_line(std::vector<std::string> all, Millis timeout = 3s, size_t from = 0) const;
    bool running() { return _process.running(); }
    pid_t pid() const { return _process.pid(); }
    void signal(int sig) { _process.signal(sig); }  // e.g. SIGHUP after editing config().path
    int stop(Millis timeout = 10s, Millis* took = nullptr);
    const WrittenConfig& config() const { return _config; }

  private:
    Setup _setup;
    WrittenConfig _config;
    Process _process;
};

// Runs the broker with `setup` and expects it to exit by itself within `timeout` (a plugin that
// does not load). The RunResult says how; `config` where the plugins were.
struct FailedStart {
    RunResult result;
    WrittenConfig config;
};
FailedStart start_expecting_failure(Setup setup, Millis timeout = 10s);

// Concatenates (instead of "literal" + std::string, which GCC 12 -O3 flags with -Wrestrict).
std::string cat(std::initializer_list<std::string_view> parts);

// Log lines containing every needle (case-insensitive).
std::vector<std::string> lines_with(const std::string& log, std::vector<std::string> all);
// The same, without the lines a fixture wrote itself ("fixture: ..."): what the broker said.
std::vector<std::string> broker_lines_with(const std::string& log, std::vector<std::string> all);
// The log, for a failure message (its last `n` bytes).
std::string tail(const std::string& log, size_t n = 3000);

// ---------------------------------------------------------------------------------------------
// Clients.

// mosquitto_pub / mosquitto_sub against listener `l` of `b`.
std::vector<std::string> pub(const PluginBroker& b, std::vector<std::string> args, size_t l = 0);
std::vector<std::string> sub(const PluginBroker& b, std::vector<std::string> args, size_t l = 0);

// A mosquitto_sub in the background (-d, lines "M>topic|payload"; pass "-F" to change it, keeping
// the "M>" start); as roost_it::Subscriber, for a PluginBroker.
class Sub {
  public:
    Sub(const PluginBroker& b, std::vector<std::string> args, size_t l = 0);
    bool wait_subscribed(Millis timeout = 5s) { return _process.wait_for_output("received SUBACK", timeout); }
    bool wait_messages(size_t n, Millis timeout = 5s) const;
    std::vector<std::string> messages() const;
    std::vector<std::string> finish(Millis timeout = 15s);
    Process& process() { return _process; }

  private:
    Process _process;
};

// CONNECT with a username and password (3.1.1 or 5.0).
Bytes connect_with(uint8_t version, std::string_view client_id, std::optional<std::string> username,
                   std::optional<std::string> password, uint16_t keep_alive = 60);

// A raw client whose bytes are XORed with a key both ways (0: plain MQTT): the integration
// harness's RawClient, which does the XOR.
using WireClient = RawClient;

// The reason code of a PUBACK/PUBREC (MQTT 5; 0 when the packet has none).
uint8_t ack_reason(const Packet& p);
// The return codes of a SUBACK (after the MQTT 5 properties for version 5).
std::vector<uint8_t> suback_codes(const Packet& p, uint8_t version);

}  // namespace roost_pt
