#include "options.hpp"

#include "tls.hpp"

#include <arpa/inet.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace bench {

namespace {

constexpr size_t kMinPayload = 16;  // the header every payload carries (see traffic.hpp)
constexpr double kMaxDuration = 86400;

const char* kFooter = R"(Scenarios:
  pairs    N publisher/subscriber pairs, publisher i -> PREFIX/i <- subscriber i   (--pairs N, default 10)
  fan-in   P publishers on PREFIX/i, one subscriber on PREFIX/+                     (--publishers P, default 10)
  fan-out  one publisher on PREFIX/0, S subscribers on PREFIX/0                     (--subscribers S, default 100)
  conn     C idle connections held for --duration; reports the broker's memory and CPU per
           connection (needs --broker-pid)                                         (--connections C, default 1000)

Load: closed loop by default (each publisher stays at most --window messages ahead of its
slowest subscriber); --rate R publishes R messages/s in total instead (open loop: no window,
only --inflight). Every run is bounded: set-up, --warmup, --duration, then a drain of at most
--drain seconds.

Output: a progress line a second on stderr, a JSON result on stdout (and in --json FILE), and
a short summary on stderr.

Exit status: 0 run measured; 1 the run failed (connection refused or closed, refused
subscription, protocol error, time-out); 2 usage error; 3 more lost than --max-loss.

Examples:
  roost-bench --port 1883 --scenario pairs --pairs 100 --qos 1 --duration 3
  roost-bench --mqtt 5 --scenario fan-out --subscribers 1000 --qos 2 --broker-pid $(pidof roost)
  roost-bench --scenario pairs --pairs 100 --qos 1 --rate 10000 --duration 10
  roost-bench --scenario conn --connections 10000 --duration 5 --broker-pid $(pidof mosquitto))";

// Validators whose ranges the help text states in words, so the option list stays readable.
template <typename T>
CLI::Validator range(T lo, T hi) {
    return CLI::Range(lo, hi).description("");
}
CLI::Validator member(std::vector<std::string> v) {
    return CLI::IsMember(std::move(v)).description("");
}

}  // namespace

const char* scenario_name(Scenario s) {
    switch (s) {
        case Scenario::Pairs:
            return "pairs";
        case Scenario::FanIn:
            return "fan-in";
        case Scenario::FanOut:
            return "fan-out";
        case Scenario::Conn:
            return "conn";
    }
    return "?";
}

Options parse_options(int argc, char** argv) {
    Options o;
    CLI::App app{
        "roost-bench: an MQTT 3.1.1 / 5 load generator. Measures throughput, latency, losses and\n"
        "(with --broker-pid) the broker's CPU and memory, for any broker.",
        "roost-bench"};
    app.get_formatter()->column_width(34);
    app.footer(kFooter);

    // Names the old tests/bench/loadgen used are accepted too.
    std::map<std::string, Scenario> scenarios{{"pairs", Scenario::Pairs},    {"pairwise", Scenario::Pairs},
                                              {"fan-in", Scenario::FanIn},   {"fanin", Scenario::FanIn},
                                              {"fan-out", Scenario::FanOut}, {"fanout", Scenario::FanOut},
                                              {"conn", Scenario::Conn}};
    std::string protocol, mqtt, max_loss;
    int pairs = 0, publishers = 0, subscribers = 0, connections = 0, clients = 0;

    auto* g = "Broker";
    app.add_option("--host", o.host, "Broker IPv4 address")
        ->capture_default_str()
        ->type_name("ADDR")
        ->group(g);
    app.add_option("-p,--port", o.port, "Broker TCP port")
        ->capture_default_str()
        ->check(range(1, 65535))
        ->type_name("PORT")
        ->group(g);
    app.add_option("--protocol", protocol, "MQTT protocol level: 4 (3.1.1, the default) or 5")
        ->check(member({"4", "5"}))
        ->type_name("4|5")
        ->group(g);
    app.add_option("--mqtt", mqtt, "The same by name: 3.1.1 or 5")
        ->check(member({"3.1.1", "5", "5.0"}))
        ->type_name("3.1.1|5")
        ->group(g);
    app.add_flag(
           "--ws", o.ws,
           "MQTT over WebSocket: an HTTP upgrade (subprotocol mqtt) on --port, then masked binary frames")
        ->group(g);
    app.add_option("--ws-path", o.ws_path, "The upgrade path with --ws")
        ->capture_default_str()
        ->type_name("PATH")
        ->group(g);
    app.add_option("-k,--keep-alive", o.keep_alive,
                   "Keep alive in seconds sent in CONNECT; idle connections send PINGREQ well within it "
                   "(0 = off)")
        ->capture_default_str()
        ->type_name("SECONDS")
        ->group(g);
    app.add_option("--clean-session", o.clean,
                   "Clean session (3.1.1) / clean start (5): true or false. With false a 3.1.1 broker keeps "
                   "each session after the run")
        ->default_str("true")
        ->type_name("true|false")
        ->group(g);

    g = "Scenario";
    app.add_option("-s,--scenario", o.scenario, "pairs, fan-in, fan-out or conn (see below)")
        // A name the map lacks gets one plain sentence (CheckedTransformer listed the map's
        // insides: "Check nope value in {conn->3,...} OR {3,1,...} FAILED").
        ->transform(CLI::Validator(
            [scenarios](std::string& value) -> std::string {
                std::string name = value;
                std::transform(name.begin(), name.end(), name.begin(),
                               [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
                auto it = scenarios.find(name);
                if (it == scenarios.end())
                    return "must be pairs, fan-in, fan-out or conn, not '" + value + "'";
                value = std::to_string(static_cast<int>(it->second));
                return {};
            },
            "", "scenario"))
        ->default_str("pairs")
        ->type_name("NAME")
        ->group(g);
    app.add_option("-n,--clients", clients, "The scenario's count (pairs N, fan-in P, fan-out S, conn C)")
        ->check(range(1, 1000000))
        ->type_name("N")
        ->group(g);
    auto* o_pairs = app.add_option("--pairs", pairs, "pairs: number of pairs N")
                        ->check(range(1, 100000))
                        ->type_name("N")
                        ->group(g);
    auto* o_pubs = app.add_option("--publishers", publishers, "fan-in: number of publishers P")
                       ->check(range(1, 100000))
                       ->type_name("P")
                       ->group(g);
    auto* o_subs = app.add_option("--subscribers", subscribers, "fan-out: number of subscribers S")
                       ->check(range(1, 100000))
                       ->type_name("S")
                       ->group(g);
    auto* o_conns = app.add_option("-c,--connections", connections, "conn: number of idle connections C")
                        ->check(range(1, 1000000))
                        ->type_name("C")
                        ->group(g);
    app.add_option("--prefix", o.prefix, "Topic prefix (default bench/<pid>, so parallel runs do not mix)")
        ->type_name("TOPIC")
        ->group(g);

    g = "Load";
    app.add_option("-q,--qos", o.qos, "QoS of every PUBLISH and subscription: 0, 1 or 2")
        ->capture_default_str()
        ->check(range(0, 2))
        ->type_name("0|1|2")
        ->group(g);
    app.add_option("--payload", o.payload, "Payload bytes, at least 16")
        ->capture_default_str()
        ->check(range(kMinPayload, size_t{16} << 20))
        ->type_name("BYTES")
        ->group(g);
    app.add_option("-d,--duration", o.duration, "Measured seconds, after the warm-up (conn: seconds held)")
        ->capture_default_str()
        ->check(range(0.01, kMaxDuration))
        ->type_name("SECONDS")
        ->group(g);
    app.add_option("-w,--warmup", o.warmup, "Seconds of load before the measurement, not counted")
        ->capture_default_str()
        ->check(range(0.0, 600.0))
        ->type_name("SECONDS")
        ->group(g);
    app.add_option("-r,--rate", o.rate,
                   "Open loop: messages/s published over all publishers (0 = closed loop)")
        ->capture_default_str()
        ->check(range(0.0, 1e9))
        ->type_name("MSGS_PER_S")
        ->group(g);
    app.add_option("--window", o.window,
                   "Closed loop: a publisher pauses when this many messages ahead of its slowest subscriber")
        ->capture_default_str()
        ->check(range(1, 1000000))
        ->type_name("K")
        ->group(g);
    app.add_option("--inflight", o.inflight, "QoS 1/2: most unacknowledged PUBLISHes per publisher")
        ->capture_default_str()
        ->check(range(1, 65535))
        ->type_name("K")
        ->group(g);
    app.add_option("--messages", o.messages, "Most messages per publisher (0 = no limit)")
        ->capture_default_str()
        ->type_name("N")
        ->group(g);

    g = "Bounds";
    app.add_option("--drain", o.drain, "Most seconds to wait for outstanding messages at the end")
        ->capture_default_str()
        ->check(range(0.0, 60.0))
        ->type_name("SECONDS")
        ->group(g);
    app.add_option("--drain-idle", o.drain_idle, "... or until nothing arrived for this long")
        ->capture_default_str()
        ->check(range(0.0, 60.0))
        ->type_name("SECONDS")
        ->group(g);
    app.add_option("--stall-timeout", o.stall_timeout,
                   "A publisher whose window has not moved for this long gives up on it (counted as a stall)")
        ->capture_default_str()
        ->check(range(0.001, 60.0))
        ->type_name("SECONDS")
        ->group(g);
    app.add_option("--connect-timeout", o.connect_timeout,
                   "Most seconds for all connections and subscriptions")
        ->capture_default_str()
        ->check(range(0.1, 600.0))
        ->type_name("SECONDS")
        ->group(g);
    app.add_option("--connect-concurrency", o.connect_concurrency, "Most MQTT handshakes in progress at once")
        ->capture_default_str()
        ->check(range(1, 100000))
        ->type_name("K")
        ->group(g);

    app.add_option("--source-ips", o.source_ips,
                   "Loopback only: spread connections over source addresses 127.0.0.1..N, since Linux "
                   "finds a free local port slowly past ~14k connections from one address (0 = 1, or 8 "
                   "for over 8000 connections to 127.x)")
        ->type_name("N")
        ->capture_default_str()
        ->check(range(0, 254))
        ->group(g);

    app.add_option("-t,--threads", o.threads,
                   "Event-loop threads for pairs, fan-in and fan-out, each with its share of the connections "
                   "(0 = one per CPU, at most one per publisher or subscriber; conn always uses one)")
        ->capture_default_str()
        ->check(range(0, 256))
        ->type_name("N")
        ->group("Load");

    tls::add_options(app, o);

    g = "Output";
    app.add_option("--json", o.json_file, "Also write the JSON result to FILE")->type_name("FILE")->group(g);
    app.add_option("--broker-pid", o.broker_pid,
                   "Read the broker's CPU (/proc/PID/stat) and RSS (/proc/PID/status) around the measurement")
        ->check(CLI::PositiveNumber.description(""))
        ->type_name("PID")
        ->group(g);
    app.add_option("--max-loss", max_loss,
                   "Exit 3 when more messages are lost than N, or than P% of those expected (e.g. 0, 0.1%)")
        ->type_name("N|P%")
        ->group(g);
    app.add_option("--label", o.label, "Free text copied into the JSON result")->type_name("TEXT")->group(g);
    app.add_flag("--quiet", o.quiet, "No progress lines and no summary on stderr")->group(g);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        std::exit(app.exit(e) == 0 ? 0 : 2);
    }

    auto usage_error = [&](const std::string& msg) {
        std::fprintf(stderr, "roost-bench: %s\nRun with --help for more information.\n", msg.c_str());
        std::exit(2);
    };
    if (!mqtt.empty() && !protocol.empty()) usage_error("give --protocol or --mqtt, not both");
    if (!mqtt.empty()) o.version = mqtt == "3.1.1" ? 4 : 5;
    if (!protocol.empty()) o.version = std::stoi(protocol);

    // Each scenario takes its own count option (or the generic --clients); the others are errors,
    // so a fan-out run given --publishers does not silently run something else.
    struct Count {
        Scenario s;
        CLI::Option* opt;
        int* value;
        int def;
    };
    const Count counts[] = {{Scenario::Pairs, o_pairs, &pairs, 10},
                            {Scenario::FanIn, o_pubs, &publishers, 10},
                            {Scenario::FanOut, o_subs, &subscribers, 100},
                            {Scenario::Conn, o_conns, &connections, 1000}};
    int n = 0;
    for (const Count& c : counts) {
        if (c.s == o.scenario) {
            if (c.opt->count() > 0 && clients > 0)
                usage_error(c.opt->get_name() + " and --clients both given");
            n = c.opt->count() > 0 ? *c.value : clients > 0 ? clients : c.def;
        } else if (c.opt->count() > 0) {
            usage_error(c.opt->get_name() + " does not apply to scenario " + scenario_name(o.scenario));
        }
    }
    switch (o.scenario) {
        case Scenario::Pairs:
            o.publishers = o.subscribers = n;
            break;
        case Scenario::FanIn:
            o.publishers = n, o.subscribers = 1;
            break;
        case Scenario::FanOut:
            o.publishers = 1, o.subscribers = n;
            break;
        case Scenario::Conn:
            o.connections = n;
            break;
    }

    if (!max_loss.empty()) {
        std::string v = max_loss;
        if (v.back() == '%') {
            o.max_loss_percent = true;
            v.pop_back();
        }
        char* end = nullptr;
        o.max_loss = std::strtod(v.c_str(), &end);
        if (v.empty() || *end != '\0' || o.max_loss < 0)
            usage_error("--max-loss: expected N or P%, got " + max_loss);
    }
    if (o.scenario == Scenario::Conn && o.broker_pid == 0)
        std::fprintf(stderr, "roost-bench: conn without --broker-pid measures connection set-up only\n");
    if (o.source_ips == 0) {
        const int total = o.scenario == Scenario::Conn ? o.connections : o.publishers + o.subscribers;
        o.source_ips = o.host.rfind("127.", 0) == 0 && total > 8000 ? 8 : 1;
    }
    if (o.source_ips > 1 && o.host.rfind("127.", 0) != 0) usage_error("--source-ips needs a 127.x --host");
    // Checked here once, rather than by each traffic thread as it starts.
    if (in_addr a{}; inet_pton(AF_INET, o.host.c_str(), &a) != 1)
        usage_error("--host must be an IPv4 address: " + o.host);
    if (o.prefix.empty()) o.prefix = "bench/" + std::to_string(getpid());
    // One thread per CPU: the generator must outrun the broker even when it has all the cores.
    // A thread with nothing to carry is of no use, and the idle scenario is not CPU-bound.
    if (o.threads == 0) o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    if (o.scenario == Scenario::Conn) o.threads = 1;
    o.threads = std::min(o.threads, std::max(1, std::max(o.publishers, o.subscribers)));
    return o;
}

}  // namespace bench
