// The integration-test harness: starts the broker under test (the real `roost` binary, or
// Mosquitto when ROOST_TEST_BROKER=mosquitto) on a free loopback port, runs external clients
// with a timeout, and gives the tests a raw TCP client plus hand-built MQTT packets.
//
// The packet builders below are written from the spec on purpose and share nothing with the
// project's codec: a bug in the codec must not be able to hide itself in the tests.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace roost_it {

using namespace std::chrono_literals;
using Bytes = std::string;  // raw bytes; std::string keeps the helpers short
using Millis = std::chrono::milliseconds;

// True when ROOST_TEST_BROKER=mosquitto: tests of Roost-only behaviour return early.
bool broker_is_mosquitto();

// Returns early, with a MESSAGE, from a test that checks Roost-only behaviour.
#define ROOST_ONLY()                                                        \
    do {                                                                    \
        if (::roost_it::broker_is_mosquitto()) {                            \
            MESSAGE("Roost-only behaviour: not checked against mosquitto"); \
            return;                                                         \
        }                                                                   \
    } while (0)

// A loopback TCP port that nobody listens on at the time of the call.
uint16_t free_port();
// True when something accepts a TCP connection on 127.0.0.1:port.
bool port_accepts(uint16_t port);

// A file under a per-process temporary directory, removed when the process exits.
std::string temp_path(std::string_view name);
std::string read_file(const std::string& path);
void write_file(const std::string& path, std::string_view text);

// Case-insensitive substring search.
bool contains_ci(std::string_view haystack, std::string_view needle);

// A process's resident memory in bytes (VmRSS in /proc/<pid>/status); 0 if it is gone.
size_t resident_bytes(pid_t pid);
// A memory bound, scaled by ROOST_TEST_MEMORY_SCALE: .ci/run sets 8 for the sanitizer builds,
// whose shadow memory and quarantine of freed blocks multiply the broker's resident size.
size_t memory_bound(size_t bytes);

// ---------------------------------------------------------------------------------------------
// Child processes: fork/exec, stdout and stderr to files, every wait bounded.

struct RunResult {
    int exit_code = -1;      // the exit status, or 128+signal
    bool timed_out = false;  // killed by us because it ran past the timeout
    std::string out;         // stdout
    std::string err;         // stderr
};

class Process {
  public:
    Process() = default;
    // Starts argv[0] (looked up in PATH) with the given arguments.
    explicit Process(std::vector<std::string> argv);
    Process(Process&& other) noexcept;
    Process& operator=(Process&& other) noexcept;
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;
    ~Process();  // kills (SIGKILL) a child that is still running

    pid_t pid() const { return _pid; }
    bool running();
    // Waits up to `timeout`; on time-out sends SIGKILL (unless kill_on_timeout is false).
    RunResult wait(Millis timeout, bool kill_on_timeout = true);
    void signal(int sig);
    // SIGTERM, then waits up to `timeout`; returns the exit code (128+signal if it was killed,
    // -1 if it had to be killed with SIGKILL after the timeout). `took` is how long.
    int stop(Millis timeout, Millis* took = nullptr);
    std::string out() const;  // stdout so far
    std::string err() const;  // stderr so far
    // Waits until stdout contains `needle` or the timeout passes.
    bool wait_for_output(std::string_view needle, Millis timeout);

  private:
    pid_t _pid = -1;
    int _status = -1;
    bool _reaped = false;
    std::string _out_path, _err_path;
};

// Runs a command to completion, killing it after `timeout`.
RunResult run(std::vector<std::string> argv, Millis timeout = 20s);

// ---------------------------------------------------------------------------------------------
// The broker under test.

struct BrokerOptions {
    // Lines for roost.toml's tables, e.g. limits = {"max_packet_size = 64"}.
    std::vector<std::string> broker;
    std::vector<std::string> limits;
    // Lines for mosquitto.conf when the broker under test is Mosquitto.
    std::vector<std::string> mosquitto;
    // More command-line arguments for roost, after the harness's own (--listen, -v, -c).
    std::vector<std::string> args;
    uint16_t port = 0;  // 0: pick a free port
};

class Broker {
  public:
    explicit Broker(BrokerOptions options = {});
    ~Broker();  // stops a broker still running and checks it exits 0 within 5 s
    Broker(const Broker&) = delete;
    Broker& operator=(const Broker&) = delete;

    uint16_t port() const { return _options.port; }
    std::string port_str() const { return std::to_string(_options.port); }
    pid_t pid() const { return _process.pid(); }
    bool running() { return _process.running(); }
    std::string log() const;  // everything the broker wrote to stderr so far
    bool log_contains(std::string_view needle) const { return contains_ci(log(), needle); }
    // Waits until the log, from byte `from` on, contains one of `needles` (case-insensitive).
    // Pass log().size() taken before an action to see only what the action caused.
    bool wait_log(std::vector<std::string> needles, Millis timeout = 3s, size_t from = 0) const;
    // SIGTERM, then waits up to `timeout`; returns the exit code (128+signal if it was
    // killed, -1 if it had to be killed with SIGKILL after the timeout). `took` is how long.
    int stop(Millis timeout = 10s, Millis* took = nullptr);
    // Starts the broker again on the same port (after stop()).
    void start();

  private:
    BrokerOptions _options;
    std::string _config_path;
    Process _process;
};

// mosquitto_pub / mosquitto_sub with the broker's host and port prepended.
std::vector<std::string> pub_args(const Broker& b, std::vector<std::string> args);
std::vector<std::string> sub_args(const Broker& b, std::vector<std::string> args);

// A mosquitto_sub started in the background, its lines of output as received messages.
// Started with -d so we know when the SUBACK arrived; output formatted "@@topic|payload".
class Subscriber {
  public:
    Subscriber(const Broker& b, std::vector<std::string> args);
    bool wait_subscribed(Millis timeout = 5s);
    // Waits for the process to finish (it must have -C and/or -W), returns the messages.
    std::vector<std::string> finish(Millis timeout = 15s);
    std::vector<std::string> messages_so_far() const;  // "topic|payload" lines
    Process& process() { return _process; }
    int exit_code() const { return _exit_code; }

  private:
    Process _process;
    int _exit_code = -1;
};

// ---------------------------------------------------------------------------------------------
// Hand-built MQTT packets (MQTT 3.1.1 and 5.0, spec section numbers in harness.cpp).

namespace pkt {

enum Type : uint8_t {
    CONNECT = 1,
    CONNACK = 2,
    PUBLISH = 3,
    PUBACK = 4,
    PUBREC = 5,
    PUBREL = 6,
    PUBCOMP = 7,
    SUBSCRIBE = 8,
    SUBACK = 9,
    UNSUBSCRIBE = 10,
    UNSUBACK = 11,
    PINGREQ = 12,
    PINGRESP = 13,
    DISCONNECT = 14,
    AUTH = 15,
};

Bytes varint(uint32_t v);
Bytes u16(uint16_t v);
Bytes u32(uint32_t v);
Bytes str(std::string_view s);  // two-byte length + bytes
// Fixed header + remaining length + body.
Bytes packet(uint8_t first_byte, std::string_view body);

struct Will {
    std::string topic;
    std::string payload;
    uint8_t qos = 0;
    bool retain = false;
    Bytes properties;  // MQTT 5 only: already encoded property bytes (no length)
};

struct Connect {
    uint8_t version = 4;  // 4 = 3.1.1, 5 = 5.0
    std::string client_id;
    bool clean = true;
    uint16_t keep_alive = 60;
    std::optional<Will> will;
    Bytes properties;  // MQTT 5 only: encoded properties (no length)
};
Bytes connect(const Connect& c);
// A Connect without will or properties (designated initializers would trip -Wextra).
Connect conn(uint8_t version, std::string client_id, bool clean = true, uint16_t keep_alive = 60);
Bytes publish(std::string_view topic, std::string_view payload, uint8_t qos = 0, uint16_t packet_id = 0,
              bool retain = false, uint8_t version = 4, std::string_view properties = {});
Bytes subscribe(uint16_t packet_id, std::string_view filter, uint8_t options = 0, uint8_t version = 4);
Bytes ack(Type type, uint16_t packet_id);  // PUBACK, PUBREC, PUBREL (flags 2), PUBCOMP
Bytes disconnect(uint8_t version = 4, uint8_t reason = 0);
Bytes pingreq();

// Property helpers (MQTT 5 2.2.2.2): identifier byte + value.
Bytes prop_u8(uint8_t id, uint8_t v);
Bytes prop_u16(uint8_t id, uint16_t v);
Bytes prop_u32(uint8_t id, uint32_t v);
Bytes prop_str(uint8_t id, std::string_view v);

}  // namespace pkt

// A received packet, split into its fixed header and the rest.
struct Packet {
    uint8_t type = 0;
    uint8_t flags = 0;
    Bytes body;
    Bytes raw;  // the whole packet as it came: fixed header, remaining length, body
    // CONNACK: the reason / return code. DISCONNECT (v5): the reason code (0 if absent).
    uint8_t reason() const;
    // PUBLISH: topic and payload (version needed to skip v5 properties).
    std::string publish_topic() const;
    std::string publish_payload(uint8_t version) const;
    uint16_t packet_id_after_topic() const;  // PUBLISH with QoS > 0
    uint16_t packet_id() const;              // acks, SUBACK
};

// A raw TCP client on 127.0.0.1, for bad-input tests. With a non-zero `key` every byte is XORed
// with it both ways (for the plugin tests' transport_xor fixture); 0 sends and reads plain MQTT.
// A non-zero `receive_buffer` sets SO_RCVBUF (bytes): what the broker sends beyond it waits in
// the broker's socket until the client reads.
class RawClient {
  public:
    explicit RawClient(uint16_t port, uint8_t key = 0, int receive_buffer = 0);
    ~RawClient();
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    bool connected() const { return _fd >= 0; }
    bool send(std::string_view bytes);  // false when the peer is gone
    // Reads one whole packet within the timeout; nullopt on time-out or close.
    std::optional<Packet> read_packet(Millis timeout = 3s);
    // Reads packets until one of `type` arrives (others are skipped), or nullopt.
    std::optional<Packet> read_until(uint8_t type, Millis timeout = 3s);
    // True if the broker closed the connection within the timeout (packets before the close
    // are collected in `before_close`).
    bool wait_closed(Millis timeout = 3s, std::vector<Packet>* before_close = nullptr);
    bool closed() const { return _closed; }
    void close();
    int fd() const { return _fd; }

    // CONNECT and wait for the CONNACK; returns the CONNACK or nullopt.
    std::optional<Packet> handshake(const pkt::Connect& c, Millis timeout = 3s);

  private:
    bool fill(Millis timeout);  // reads more bytes into _buf; false on time-out/close
    int _fd = -1;
    uint8_t _key = 0;
    bool _closed = false;
    Bytes _buf;  // received, already un-XORed
};

// Sleeps; here so tests say why they wait.
void settle(Millis d);

}  // namespace roost_it
