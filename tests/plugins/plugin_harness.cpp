#include "plugin_harness.hpp"

#include <cstdlib>

#include <doctest/doctest.h>

#include <algorithm>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef ROOST_BINARY
#define ROOST_BINARY "roost"
#endif

namespace roost_pt {

using Clock = std::chrono::steady_clock;

namespace {

// A TOML basic string: quotes and backslashes escaped.
std::string toml_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line))
        lines.push_back(line);
    return lines;
}

}  // namespace

WrittenConfig write_config(Setup& setup) {
    WrittenConfig wc;
    std::vector<std::string> lines = {"[broker]"};
    // $SYS off unless the test turns it on.
    if (std::none_of(setup.broker.begin(), setup.broker.end(),
                     [](const std::string& l) { return l.rfind("sys_interval", 0) == 0; }))
        lines.push_back("sys_interval = 0");
    // ctest runs every broker test with one worker and with two (tests/CMakeLists.txt).
    // A test that sets workers itself keeps its own.
    bool own = std::any_of(setup.broker.begin(), setup.broker.end(),
                           [](const std::string& l) { return l.rfind("workers", 0) == 0; });
    if (const char* workers = std::getenv("ROOST_TEST_WORKERS"); workers && *workers && !own)
        lines.push_back(std::string("workers = ") + workers);
    // ROOST_TEST_PERSIST_DELAY_MS runs every broker with that [broker] persist_delay_ms (e.g. 0:
    // the persistence tests with every delivery stored at once), unless the test sets its own.
    bool own_delay = std::any_of(setup.broker.begin(), setup.broker.end(),
                                 [](const std::string& l) { return l.rfind("persist_delay_ms", 0) == 0; });
    if (const char* delay = std::getenv("ROOST_TEST_PERSIST_DELAY_MS"); delay && *delay && !own_delay)
        lines.push_back(std::string("persist_delay_ms = ") + delay);
    for (auto& l : setup.broker)
        lines.push_back(l);
    for (size_t i = 0; i < setup.listeners.size(); ++i) {
        auto& l = setup.listeners[i];
        if (l.port == 0) {
            // Two listeners must not draw the same free port.
            do {
                l.port = free_port();
            } while (std::count_if(setup.listeners.begin(), setup.listeners.end(),
                                   [&](const ListenerSpec& o) { return o.port == l.port; }) > 1);
        }
        lines.push_back("");
        lines.push_back("[[listener]]");
        lines.push_back("bind = \"127.0.0.1\"");
        lines.push_back("port = " + std::to_string(l.port));
        if (!l.transport.empty()) lines.push_back("transport = " + toml_string(l.transport));
        if (!l.auth_default.empty()) lines.push_back("auth_default = " + toml_string(l.auth_default));
        if (!l.acl_default.empty()) lines.push_back("acl_default = " + toml_string(l.acl_default));
        if (i < setup.listener_lines.size())
            for (auto& extra : setup.listener_lines[i])
                lines.push_back(extra);
    }
    for (auto& p : setup.plugins) {
        lines.push_back("");
        lines.push_back("[[plugin]]");
        wc.plugin_lines.push_back(int(lines.size()));  // 1-based line of "[[plugin]]"
        lines.push_back("path = " + toml_string(p.path));
        if (!p.options.empty()) {
            lines.push_back("[plugin.options]");
            for (auto& [k, v] : p.options)
                lines.push_back(k + " = " + toml_string(v));
        }
    }
    for (auto& l : lines)
        wc.text += l + "\n";
    wc.path = temp_path("roost.toml");
    write_file(wc.path, wc.text);
    return wc;
}

PluginBroker::PluginBroker(Setup setup) : _setup(std::move(setup)) {
    _config = write_config(_setup);
    _process = Process({ROOST_BINARY, "-v", "-c", _config.path});
    auto deadline = Clock::now() + 10s;
    for (size_t i = 0; i < _setup.listeners.size();) {
        if (!_process.running())
            throw std::runtime_error("broker exited at start:\n" + _process.err() + "\nconfig:\n" +
                                     _config.text);
        if (Clock::now() > deadline)
            throw std::runtime_error("broker did not accept on port " + port_str(i) + " within 10 s:\n" +
                                     log());
        if (port_accepts(port(i)))
            i++;
        else
            std::this_thread::sleep_for(20ms);
    }
}

PluginBroker::~PluginBroker() {
    if (!_process.running()) return;
    Millis took{};
    int code = stop(10s, &took);
    CHECK_MESSAGE(code == 0, "broker exit code " << code << " after SIGTERM; log tail:\n" << tail(log()));
    CHECK_MESSAGE(took < 5s, "broker took " << took.count() << " ms to stop");
}

bool PluginBroker::wait_line(std::vector<std::string> all, Millis timeout, size_t from) const {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        std::string l = log();
        l.erase(0, std::min(from, l.size()));
        if (!lines_with(l, all).empty()) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
}

int PluginBroker::stop(Millis timeout, Millis* took) {
    return _process.stop(timeout, took);
}

FailedStart start_expecting_failure(Setup setup, Millis timeout) {
    FailedStart f;
    f.config = write_config(setup);
    Process p({ROOST_BINARY, "-v", "-c", f.config.path});
    f.result = p.wait(timeout);
    return f;
}

std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (auto p : parts)
        out += p;
    return out;
}

std::vector<std::string> lines_with(const std::string& log, std::vector<std::string> all) {
    std::vector<std::string> found;
    for (auto& line : split_lines(log)) {
        bool ok = true;
        for (auto& n : all)
            ok = ok && contains_ci(line, n);
        if (ok) found.push_back(line);
    }
    return found;
}

std::vector<std::string> broker_lines_with(const std::string& log, std::vector<std::string> all) {
    std::vector<std::string> found;
    for (auto& line : lines_with(log, all))
        if (!contains_ci(line, "fixture:")) found.push_back(line);
    return found;
}

std::string tail(const std::string& log, size_t n) {
    return log.size() > n ? log.substr(log.size() - n) : log;
}

std::vector<std::string> pub(const PluginBroker& b, std::vector<std::string> args, size_t l) {
    std::vector<std::string> v = {"mosquitto_pub", "-h", "127.0.0.1", "-p", b.port_str(l)};
    v.insert(v.end(), args.begin(), args.end());
    return v;
}

std::vector<std::string> sub(const PluginBroker& b, std::vector<std::string> args, size_t l) {
    std::vector<std::string> v = {"mosquitto_sub", "-h", "127.0.0.1", "-p", b.port_str(l)};
    v.insert(v.end(), args.begin(), args.end());
    return v;
}

Sub::Sub(const PluginBroker& b, std::vector<std::string> args, size_t l) {
    std::vector<std::string> v = {"-d", "-F", "M>%t|%p"};
    v.insert(v.end(), args.begin(), args.end());
    v = sub(b, v, l);
    v.insert(v.begin(), {"stdbuf", "-oL"});
    _process = Process(v);
}

std::vector<std::string> Sub::messages() const {
    std::vector<std::string> msgs;
    for (auto& line : split_lines(_process.out()))
        if (line.rfind("M>", 0) == 0) msgs.push_back(line.substr(2));
    return msgs;
}

bool Sub::wait_messages(size_t n, Millis timeout) const {
    auto deadline = Clock::now() + timeout;
    while (messages().size() < n) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
    return true;
}

std::vector<std::string> Sub::finish(Millis timeout) {
    _process.wait(timeout);
    return messages();
}

Bytes connect_with(uint8_t version, std::string_view client_id, std::optional<std::string> username,
                   std::optional<std::string> password, uint16_t keep_alive) {
    uint8_t flags = 0x02;  // clean start
    if (username) flags |= 0x80;
    if (password) flags |= 0x40;
    Bytes body = pkt::str("MQTT") + char(version) + char(flags) + pkt::u16(keep_alive);
    if (version == 5) body += pkt::varint(0);
    body += pkt::str(client_id);
    if (username) body += pkt::str(*username);
    if (password) body += pkt::str(*password);
    return pkt::packet(0x10, body);
}

uint8_t ack_reason(const Packet& p) {
    return p.body.size() >= 3 ? uint8_t(p.body[2]) : 0;
}

std::vector<uint8_t> suback_codes(const Packet& p, uint8_t version) {
    std::vector<uint8_t> codes;
    size_t pos = 2;
    if (version == 5) {  // skip the property block: a variable byte integer length, then that many
        uint32_t len = 0, mult = 1;
        while (pos < p.body.size()) {
            uint8_t b = uint8_t(p.body[pos++]);
            len += (b & 0x7f) * mult;
            mult *= 128;
            if (!(b & 0x80)) break;
        }
        pos += len;
    }
    for (; pos < p.body.size(); pos++)
        codes.push_back(uint8_t(p.body[pos]));
    return codes;
}

}  // namespace roost_pt
