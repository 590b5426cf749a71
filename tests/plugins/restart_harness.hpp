// What the persistence tests share: a broker that restarts on the same store (RestartNode) and a
// raw MQTT client that does the QoS handshakes itself (Mqtt). Header-only; used by
// persistence_restart/ (the persistence_file fixture) and sqlite/ (the shipped sqlite plugin).
#pragma once
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>

#include "plugin_harness.hpp"

// SIGTERM, then check the exit code was 0; on failure the broker's log says why (a sanitizer's
// report, a shutdown that hung, an error at exit).
#define CHECK_STOPS_CLEANLY(node)                                                           \
    do {                                                                                    \
        int stop_code_ = (node).term();                                                     \
        CHECK_MESSAGE(stop_code_ == 0, "exit code " << stop_code_                           \
                                                    << " after SIGTERM (-1: still running " \
                                                       "after 10 s); the broker's log:\n"   \
                                                    << roost_pt::tail((node).log()));       \
    } while (0)

namespace roost_pt {

using SteadyClock = std::chrono::steady_clock;

inline std::string make_dir(std::string_view name) {
    std::string dir = temp_path(name);
    ::mkdir(dir.c_str(), 0700);
    return dir;
}

// A broker with a persistence plugin, that can be stopped (SIGTERM), killed (SIGKILL) and
// started again on the same port and store. log() is every run's log.
class RestartNode {
  public:
    explicit RestartNode(Setup setup) : _setup(std::move(setup)) { start(); }
    ~RestartNode() {
        if (_process.running()) term();
    }
    RestartNode(const RestartNode&) = delete;
    RestartNode& operator=(const RestartNode&) = delete;

    void start() {
        WrittenConfig config = write_config(_setup);  // picks the port the first time only
        _past += "\n======== broker start " + std::to_string(++_runs) + " ========\n";
        _process = Process({ROOST_BINARY, "-v", "-c", config.path});
        auto deadline = SteadyClock::now() + 10s;
        while (!port_accepts(port())) {
            if (!_process.running()) throw std::runtime_error("broker exited at start:\n" + log());
            if (SteadyClock::now() > deadline) throw std::runtime_error("broker did not listen:\n" + log());
            std::this_thread::sleep_for(20ms);
        }
    }
    // SIGTERM; the exit code (0 expected).
    int term() { return finish(SIGTERM); }
    // SIGKILL: no shutdown at all, as a crash or a power cut (of the process) would.
    void kill9() { finish(SIGKILL); }

    uint16_t port() const { return _setup.listeners.at(0).port; }
    std::string current_log() const { return _process.err(); }
    std::string log() const { return _past + _process.err(); }
    // A line of the current run's log with every one of `all`, within `timeout` (generous: a
    // line that follows a commit can take seconds under the sanitizers; found, it returns at once).
    bool wait_line(std::vector<std::string> all, Millis timeout = 10s) const {
        auto deadline = SteadyClock::now() + timeout;
        for (;;) {
            if (!lines_with(current_log(), all).empty()) return true;
            if (SteadyClock::now() >= deadline) return false;
            std::this_thread::sleep_for(10ms);
        }
    }

  private:
    int finish(int sig) {
        _process.signal(sig);
        RunResult r = _process.wait(10s);
        _past += _process.err();
        _process = Process();
        return r.timed_out ? -1 : r.exit_code;
    }

    Setup _setup;
    Process _process;
    std::string _past;
    int _runs = 0;
};

struct Got {
    std::string topic, payload, properties;
    uint8_t qos = 0;
    bool dup = false, retain = false;
    uint16_t packet_id = 0;
};

// The property block of a v5 PUBLISH (without its length).
inline std::string publish_properties(const Packet& p) {
    size_t len = (uint8_t(p.body[0]) << 8) | uint8_t(p.body[1]);
    size_t pos = 2 + len + (((p.flags >> 1) & 3) ? 2 : 0);
    uint32_t plen = 0, mult = 1;
    uint8_t b = 0;
    do {
        if (pos >= p.body.size()) return {};
        b = uint8_t(p.body[pos++]);
        plen += (b & 0x7fu) * mult;
        mult *= 128;
    } while (b & 0x80);
    return p.body.substr(pos, plen);
}

// How long a client here waits for an acknowledgement that waits for a commit (CONNACK of a
// persistent session, SUBACK, PUBACK/PUBREC, PUBCOMP, UNSUBACK). Generous: under the sanitizers,
// with other tests writing to the same disk, one fsync has taken seconds. Only a failure waits
// this long.
inline constexpr Millis durable_ack_timeout = 15s;

// A raw MQTT client (3.1.1 or 5.0) that does the QoS handshakes itself.
class Mqtt {
  public:
    Mqtt(uint16_t port, uint8_t version) : _c(port), _v(version) {}

    // CONNECT; the CONNACK's session present flag, or nullopt if refused or no answer.
    std::optional<bool> connect(const std::string& id, bool clean, uint32_t expiry = 0) {
        pkt::Connect c = pkt::conn(_v, id, clean);
        if (_v == 5 && expiry) c.properties = pkt::prop_u32(0x11, expiry);
        auto ack = _c.handshake(c, durable_ack_timeout);
        if (!ack || ack->reason() != 0 || ack->body.empty()) return std::nullopt;
        return (uint8_t(ack->body[0]) & 1) != 0;
    }
    bool subscribe(uint16_t id, const std::string& filter, uint8_t qos) {
        if (!_c.send(pkt::subscribe(id, filter, qos, _v))) return false;
        auto ack = _c.read_until(pkt::SUBACK, durable_ack_timeout);
        return ack && suback_codes(*ack, _v) == std::vector<uint8_t>{qos};
    }
    // PUBLISH and the whole handshake (QoS 1: PUBACK; QoS 2: PUBREC, PUBREL, PUBCOMP). `acked`
    // is when the broker took the message (PUBACK or PUBREC).
    bool publish(const std::string& topic, const std::string& payload, uint8_t qos, bool retain = false,
                 const std::string& props = {}, SteadyClock::time_point* acked = nullptr) {
        uint16_t id = qos ? ++_next_id : 0;
        if (!_c.send(pkt::publish(topic, payload, qos, id, retain, _v, props))) return false;
        if (qos == 0) return true;
        auto ack = _c.read_until(qos == 1 ? pkt::PUBACK : pkt::PUBREC, durable_ack_timeout);
        if (acked) *acked = SteadyClock::now();
        if (!ack || ack->packet_id() != id || ack_reason(*ack) >= 0x80) return false;
        if (qos == 1) return true;
        if (!_c.send(pkt::ack(pkt::PUBREL, id))) return false;
        auto comp = _c.read_until(pkt::PUBCOMP, durable_ack_timeout);
        return comp && comp->packet_id() == id;
    }
    // Reads until `n` PUBLISH arrived or `timeout` passed. With ack, answers each (PUBACK or
    // PUBREC); PUBREL is always answered with PUBCOMP (counted in `pubrels`).
    std::vector<Got> receive(size_t n, Millis timeout, bool ack = true) {
        std::vector<Got> got;
        auto deadline = SteadyClock::now() + timeout;
        while (got.size() < n) {
            auto left = std::chrono::duration_cast<Millis>(deadline - SteadyClock::now());
            if (left <= 0ms) break;
            auto p = _c.read_packet(left);
            if (!p) break;
            if (p->type == pkt::PUBREL) {
                pubrels.push_back(p->packet_id());
                _c.send(pkt::ack(pkt::PUBCOMP, p->packet_id()));
                continue;
            }
            if (p->type != pkt::PUBLISH) continue;
            Got g;
            g.topic = p->publish_topic();
            g.payload = p->publish_payload(_v);
            g.qos = uint8_t((p->flags >> 1) & 3);
            g.dup = (p->flags & 0x08) != 0;
            g.retain = (p->flags & 0x01) != 0;
            if (g.qos) g.packet_id = p->packet_id_after_topic();
            if (_v == 5) g.properties = publish_properties(*p);
            if (ack && g.qos) _c.send(pkt::ack(g.qos == 1 ? pkt::PUBACK : pkt::PUBREC, g.packet_id));
            got.push_back(std::move(g));
        }
        return got;
    }
    // `n` messages within `timeout`, then whatever else arrives within 500 ms (none expected).
    std::vector<Got> receive_n_and_extra(size_t n, Millis timeout) {
        auto got = receive(n, timeout);
        for (auto& g : receive(1, 500ms))
            got.push_back(std::move(g));
        return got;
    }
    // UNSUBSCRIBE and its UNSUBACK.
    bool unsubscribe(uint16_t id, const std::string& filter) {
        Bytes body = pkt::u16(id);
        if (_v == 5) body += pkt::varint(0);
        body += pkt::str(filter);
        if (!_c.send(pkt::packet(0xA2, body))) return false;
        auto ack = _c.read_until(pkt::UNSUBACK, durable_ack_timeout);
        return ack && ack->packet_id() == id;
    }
    bool send(const Bytes& b) { return _c.send(b); }
    RawClient& raw() { return _c; }
    std::optional<Packet> read_packet(Millis timeout) { return _c.read_packet(timeout); }
    void disconnect() {
        _c.send(pkt::disconnect(_v));
        _c.wait_closed(2s);
        _c.close();
    }
    void drop() { _c.close(); }

    std::vector<uint16_t> pubrels;

  private:
    RawClient _c;
    uint8_t _v;
    uint16_t _next_id = 0;
};

inline std::string payload_of(int i) {
    // Binary on purpose: NUL, newline, 0xff and spaces must round-trip through the store.
    char head[16];
    std::snprintf(head, sizeof head, "m%02d", i);
    return std::string(head) + std::string("\0\n\xff :", 5);
}

inline std::string describe(const std::vector<Got>& got) {
    std::string out;
    for (auto& g : got) {
        out += g.topic + " q" + std::to_string(g.qos) + (g.dup ? " dup" : "") +
               " pid=" + std::to_string(g.packet_id) + " payload=";
        for (char c : g.payload)
            out += (c >= 0x20 && c < 0x7f) ? std::string(1, c) : "\\x" + std::to_string(uint8_t(c));
        out += "\n";
    }
    return out;
}

}  // namespace roost_pt
