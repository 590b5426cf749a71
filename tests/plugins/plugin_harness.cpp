#include "plugin_harness.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
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

bool port_accepts(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
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
    std::vector<std::string> lines = {"[broker]", "sys_interval = 0"};
    for (auto& l : setup.broker)
        lines.push_back(l);
    for (auto& l : setup.listeners) {
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
    auto start = Clock::now();
    _process.signal(SIGTERM);
    RunResult r = _process.wait(timeout);
    if (took) *took = std::chrono::duration_cast<Millis>(Clock::now() - start);
    return r.timed_out ? -1 : r.exit_code;
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

WireClient::WireClient(uint16_t port, uint8_t key) : _key(key) {
    _fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (_fd < 0) return;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(_fd);
        _fd = -1;
        _closed = true;
        return;
    }
    int one = 1;
    ::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

WireClient::~WireClient() {
    close();
}

void WireClient::close() {
    if (_fd >= 0) ::close(_fd);
    _fd = -1;
}

bool WireClient::send(std::string_view bytes) {
    if (_fd < 0) return false;
    Bytes wire(bytes);
    for (auto& c : wire)
        c = char(uint8_t(c) ^ _key);
    size_t done = 0;
    while (done < wire.size()) {
        ssize_t n = ::send(_fd, wire.data() + done, wire.size() - done, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        done += size_t(n);
    }
    return true;
}

bool WireClient::fill(Millis timeout) {
    if (_fd < 0 || _closed) return false;
    pollfd p{_fd, POLLIN, 0};
    if (::poll(&p, 1, int(timeout.count())) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(_fd, buf, sizeof buf, 0);
    if (n <= 0) {
        _closed = true;
        return false;
    }
    for (ssize_t i = 0; i < n; i++)
        _buf.push_back(char(uint8_t(buf[i]) ^ _key));
    return true;
}

std::optional<Packet> WireClient::read_packet(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        if (_buf.size() >= 2) {
            uint32_t len = 0, mult = 1;
            size_t pos = 1;
            bool complete = false;
            while (pos < _buf.size() && pos <= 4) {
                uint8_t b = uint8_t(_buf[pos++]);
                len += (b & 0x7f) * mult;
                mult *= 128;
                if (!(b & 0x80)) {
                    complete = true;
                    break;
                }
            }
            if (complete && _buf.size() >= pos + len) {
                Packet p;
                p.type = uint8_t(uint8_t(_buf[0]) >> 4);
                p.flags = uint8_t(_buf[0]) & 0x0f;
                p.body = _buf.substr(pos, len);
                _buf.erase(0, pos + len);
                return p;
            }
        }
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (left.count() <= 0 || !fill(left)) return std::nullopt;
    }
}

std::optional<Packet> WireClient::read_until(uint8_t type, Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto p = read_packet(left);
        if (!p) return std::nullopt;
        if (p->type == type) return p;
    }
}

bool WireClient::wait_closed(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        while (read_packet(0ms)) {
        }
        if (_closed) return true;
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        fill(std::min(left, Millis(50)));
    }
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
