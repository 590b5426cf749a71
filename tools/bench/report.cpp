#include "report.hpp"

#include <cinttypes>
#include <cstdio>

#include "json.hpp"

namespace bench {

namespace {

double us(uint64_t ns) {
    return static_cast<double>(ns) / 1e3;
}

bool has_broker(const Result& r) {
    return r.broker_before.ok && r.broker_start.ok && r.broker_end.ok;
}

// CPU the broker used during the measurement (message scenarios: the measured window; conn:
// the hold).
double broker_cpu_s(const Result& r) {
    return r.broker_end.cpu_s - r.broker_start.cpu_s;
}

double per_s(uint64_t n, double s) {
    return s > 0 ? static_cast<double>(n) / s : 0;
}

void parameters(Json& j, const Options& o) {
    j.begin("parameters");
    j.str("host", o.host).num("port", o.port);
    if (o.ws) j.str("transport", "ws").str("ws_path", o.ws_path);
    j.str("mqtt", o.version == 5 ? "5" : "3.1.1").num("protocol", o.version);
    if (o.scenario == Scenario::Conn) {
        j.num("connections", o.connections);
    } else {
        j.num("publishers", o.publishers).num("subscribers", o.subscribers);
        j.num("qos", o.qos).num("payload", static_cast<uint64_t>(o.payload));
        j.num("warmup_s", o.warmup).num("rate", o.rate, 1).str("loop", o.rate > 0 ? "open" : "closed");
        j.num("window", o.window).num("inflight", o.inflight).num("messages", o.messages);
        j.num("threads", o.threads);
    }
    j.num("duration_s", o.duration).num("keep_alive", static_cast<int>(o.keep_alive));
    j.boolean("clean_session", o.clean).str("prefix", o.prefix);
    j.end();
}

}  // namespace

bool loss_exceeded(const Options& o, const Result& r) {
    if (o.max_loss < 0 || o.scenario == Scenario::Conn) return false;
    double limit = o.max_loss_percent ? o.max_loss / 100.0 * static_cast<double>(r.expected) : o.max_loss;
    return static_cast<double>(r.lost) > limit;
}

std::string result_json(const Options& o, const Result& r) {
    Json j;
    j.begin();
    j.str("tool", "roost-bench").str("scenario", scenario_name(o.scenario)).str("label", o.label);
    j.boolean("ok", !r.failed && r.error_count == 0);
    parameters(j, o);
    if (o.scenario == Scenario::Conn) {
        j.num("connections", r.connections).num("connect_s", r.connect_s);
        j.num("connections_per_s", per_s(r.connections, r.connect_s), 1);
        j.num("held_s", r.held_s).num("pings", r.pings).num("pongs", r.pongs);
    } else {
        j.num("published", r.published).num("delivered", r.delivered).num("expected", r.expected);
        j.num("lost", r.lost).num("lost_tail", r.lost_tail).num("duplicates", r.duplicates);
        j.num("out_of_order", r.out_of_order).num("received", r.received).num("unexpected", r.unexpected);
        j.num("rejected", r.rejected).num("stalls", r.stalls);
        j.num("measured_s", r.measured_s);
        j.num("deliveries_per_s", per_s(r.delivered_in_window, r.measured_s), 1);
        j.num("publishes_per_s", per_s(r.published_in_window, r.measured_s), 1);
        j.begin("generator").num("threads", r.threads).num("cpu_s", r.generator_cpu_s, 3);
        j.num("cpu_utilization", r.measured_s > 0 ? r.generator_cpu_s / r.measured_s : 0, 3).end();
        j.begin("latency_us").num("samples", r.latency.total());
        j.num("p50", us(r.latency.quantile(0.50)), 1).num("p90", us(r.latency.quantile(0.90)), 1);
        j.num("p99", us(r.latency.quantile(0.99)), 1).num("max", us(r.latency.max()), 1).end();
    }
    if (o.broker_pid == 0) {
        j.null("broker");
    } else if (!has_broker(r)) {
        j.begin("broker")
            .num("pid", static_cast<int>(o.broker_pid))
            .str("error", "could not read /proc/PID")
            .end();
    } else {
        j.begin("broker").num("pid", static_cast<int>(o.broker_pid));
        j.num("cpu_s", broker_cpu_s(r), 3);
        j.num("rss_before_bytes", r.broker_before.rss).num("rss_after_bytes", r.broker_end.rss);
        if (o.scenario == Scenario::Conn) {
            const double n = static_cast<double>(std::max<uint64_t>(1, r.connections));
            const double rss_delta =
                static_cast<double>(r.broker_end.rss) - static_cast<double>(r.broker_before.rss);
            const double connect_cpu = r.broker_start.cpu_s - r.broker_before.cpu_s;
            j.num("rss_bytes_per_connection", rss_delta / n, 0);
            j.num("connect_cpu_s", connect_cpu)
                .num("connect_cpu_us_per_connection", connect_cpu * 1e6 / n, 2);
            j.num("hold_cpu_us_per_connection_s", r.held_s > 0 ? broker_cpu_s(r) * 1e6 / n / r.held_s : 0, 4);
        } else {
            j.num("cpu_us_per_delivery",
                  r.delivered_in_window ? broker_cpu_s(r) * 1e6 / static_cast<double>(r.delivered_in_window)
                                        : 0,
                  3);
            j.num("cpu_utilization", r.measured_s > 0 ? broker_cpu_s(r) / r.measured_s : 0, 3);
        }
        j.end();
    }
    j.num("errors", r.error_count).begin_array("error_messages");
    for (const auto& e : r.errors)
        j.str("", e);
    j.end_array();
    j.end();
    return j.text();
}

void print_summary(const Options& o, const Result& r) {
    if (o.quiet) {
        for (const auto& e : r.errors)
            std::fprintf(stderr, "roost-bench: %s\n", e.c_str());
        return;
    }
    const char* mqtt = o.version == 5 ? "MQTT 5" : "MQTT 3.1.1";
    if (o.scenario == Scenario::Conn) {
        std::fprintf(stderr,
                     "roost-bench: conn %s: %" PRIu64 " connections in %.2f s (%.0f/s), held %.1f s\n", mqtt,
                     r.connections, r.connect_s, per_s(r.connections, r.connect_s), r.held_s);
        if (has_broker(r)) {
            const double n = static_cast<double>(std::max<uint64_t>(1, r.connections));
            std::fprintf(
                stderr,
                "roost-bench: broker RSS %.1f -> %.1f MiB, %.0f bytes/connection; CPU %.1f us/connection to "
                "connect, %.3f s while held\n",
                static_cast<double>(r.broker_before.rss) / 1048576.0,
                static_cast<double>(r.broker_end.rss) / 1048576.0,
                (static_cast<double>(r.broker_end.rss) - static_cast<double>(r.broker_before.rss)) / n,
                (r.broker_start.cpu_s - r.broker_before.cpu_s) * 1e6 / n, broker_cpu_s(r));
        }
    } else {
        std::fprintf(
            stderr,
            "roost-bench: %s %s QoS %d, %d pub / %d sub, %zu B: %.0f deliveries/s, latency p50 %.0f p90 %.0f "
            "p99 %.0f max %.0f us\n",
            scenario_name(o.scenario), mqtt, o.qos, o.publishers, o.subscribers, o.payload,
            per_s(r.delivered_in_window, r.measured_s), us(r.latency.quantile(0.5)),
            us(r.latency.quantile(0.9)), us(r.latency.quantile(0.99)), us(r.latency.max()));
        std::fprintf(stderr,
                     "roost-bench: published %" PRIu64 ", expected %" PRIu64 ", delivered %" PRIu64
                     ", lost %" PRIu64 ", duplicates %" PRIu64 ", out of order %" PRIu64 ", stalls %" PRIu64
                     "\n",
                     r.published, r.expected, r.delivered, r.lost, r.duplicates, r.out_of_order, r.stalls);
        std::fprintf(stderr, "roost-bench: generator %d thread(s), %.0f%% of a core\n", r.threads,
                     r.measured_s > 0 ? 100 * r.generator_cpu_s / r.measured_s : 0);
        if (has_broker(r))
            std::fprintf(
                stderr,
                "roost-bench: broker CPU %.2f s (%.0f%% of a core), %.3f us/delivery, RSS %.1f -> %.1f MiB\n",
                broker_cpu_s(r), r.measured_s > 0 ? 100 * broker_cpu_s(r) / r.measured_s : 0,
                r.delivered_in_window ? broker_cpu_s(r) * 1e6 / static_cast<double>(r.delivered_in_window)
                                      : 0,
                static_cast<double>(r.broker_before.rss) / 1048576.0,
                static_cast<double>(r.broker_end.rss) / 1048576.0);
    }
    for (const auto& e : r.errors)
        std::fprintf(stderr, "roost-bench: error: %s\n", e.c_str());
    if (r.error_count > r.errors.size())
        std::fprintf(stderr, "roost-bench: ... %" PRIu64 " errors in all\n", r.error_count);
}

}  // namespace bench
