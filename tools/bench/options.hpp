// Command line of roost-bench: what to run, against which broker, and how hard.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string>

namespace bench {

enum class Scenario { Pairs, FanIn, FanOut, Conn };

const char* scenario_name(Scenario s);

struct Options {
    // Broker
    std::string host = "127.0.0.1";
    int port = 1883;
    int version = 4;  // MQTT protocol level: 4 = 3.1.1, 5 = 5.0
    uint16_t keep_alive = 60;
    bool clean = true;
    bool ws = false;                // --ws: MQTT over WebSocket (ws.hpp)
    std::string ws_path = "/mqtt";  // --ws-path

    // Scenario and its shape
    Scenario scenario = Scenario::Pairs;
    int publishers = 0;
    int subscribers = 0;
    int connections = 0;  // conn: idle connections to hold

    // Load
    int qos = 0;
    size_t payload = 16;
    double duration = 5;  // measured seconds (conn: how long the connections are held)
    double warmup = 1;    // seconds before the measurement starts, not counted
    double rate = 0;      // open loop: messages/s over all publishers; 0 = closed loop (window)
    int window = 64;
    int inflight = 32;
    uint64_t messages = 0;  // most messages per publisher; 0 = no limit

    // Ending and bounds
    double drain = 3;
    double drain_idle = 0.5;
    double stall_timeout = 0.25;
    double connect_timeout = 30;
    int connect_concurrency = 64;
    int source_ips = 0;  // loopback source addresses to spread connections over; 0 = automatic
    int threads = 0;     // traffic threads (message scenarios); 0 = automatic, resolved by parse_options

    // Output
    std::string prefix;  // topic prefix; default bench/<pid>
    std::string label;
    std::string json_file;
    pid_t broker_pid = 0;
    double max_loss = -1;  // -1 = not checked
    bool max_loss_percent = false;
    bool quiet = false;

    // TLS (tls.cpp)
    bool tls = false;
    std::string tls_cafile;
    std::string tls_cert;
    std::string tls_key;
};

// Parses argv. On --help prints the help and exits 0; on a usage error prints why and exits 2.
Options parse_options(int argc, char** argv);

}  // namespace bench
