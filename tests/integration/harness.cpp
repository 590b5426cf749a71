#include "harness.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef ROOST_BINARY
#define ROOST_BINARY "roost"
#endif

namespace roost_it {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Removes the temporary directory at exit unless ROOST_TEST_KEEP is set (to look at logs).
struct TempDir {
    std::string path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "roost-it-XXXXXX").string();
        if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
        path = tmpl;
        // A broker or client that dies with us must not take the test down with SIGPIPE.
        ::signal(SIGPIPE, SIG_IGN);
    }
    ~TempDir() {
        if (std::getenv("ROOST_TEST_KEEP")) return;
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

TempDir& temp_dir() {
    static TempDir dir;
    return dir;
}

int unique_counter() {
    static int n = 0;
    return ++n;
}

int decode_status(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return -1;
}

sockaddr_in loopback(uint16_t port) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return addr;
}

}  // namespace

bool broker_is_mosquitto() {
    const char* v = std::getenv("ROOST_TEST_BROKER");
    return v && std::string_view(v) == "mosquitto";
}

bool port_accepts(uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in addr = loopback(port);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    return ok;
}

uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error("socket failed");
    sockaddr_in addr = loopback(0);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        throw std::runtime_error("bind failed");
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    ::close(fd);
    return ntohs(addr.sin_port);
}

std::string temp_path(std::string_view name) {
    return temp_dir().path + "/" + std::to_string(unique_counter()) + "-" + std::string(name);
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write_file(const std::string& path, std::string_view text) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << text;
}

bool contains_ci(std::string_view haystack, std::string_view needle) {
    if (needle.empty()) return true;
    auto lower = [](char c) { return (c >= 'A' && c <= 'Z') ? char(c - 'A' + 'a') : c; };
    for (size_t i = 0; i + needle.size() <= haystack.size(); ++i) {
        size_t j = 0;
        while (j < needle.size() && lower(haystack[i + j]) == lower(needle[j]))
            ++j;
        if (j == needle.size()) return true;
    }
    return false;
}

size_t resident_bytes(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    return 0;
}

size_t memory_bound(size_t bytes) {
    const char* scale = std::getenv("ROOST_TEST_MEMORY_SCALE");
    return scale && *scale ? static_cast<size_t>(static_cast<double>(bytes) * std::atof(scale)) : bytes;
}

void settle(Millis d) {
    std::this_thread::sleep_for(d);
}

// ---------------------------------------------------------------------------------------------
// Process

Process::Process(std::vector<std::string> argv) {
    _out_path = temp_path("stdout");
    _err_path = temp_path("stderr");
    std::vector<char*> cargv;
    for (auto& a : argv)
        cargv.push_back(a.data());
    cargv.push_back(nullptr);
    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        int in = ::open("/dev/null", O_RDONLY);
        int out = ::open(_out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = ::open(_err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0) _exit(126);
        ::dup2(in, 0);
        ::dup2(out, 1);
        ::dup2(err, 2);
        ::signal(SIGPIPE, SIG_DFL);
        ::execvp(cargv[0], cargv.data());
        _exit(127);
    }
    _pid = pid;
}

Process::Process(Process&& other) noexcept {
    *this = std::move(other);
}

Process& Process::operator=(Process&& other) noexcept {
    if (this != &other) {
        if (_pid > 0 && !_reaped) {
            ::kill(_pid, SIGKILL);
            ::waitpid(_pid, &_status, 0);
        }
        _pid = other._pid;
        _status = other._status;
        _reaped = other._reaped;
        _out_path = std::move(other._out_path);
        _err_path = std::move(other._err_path);
        other._pid = -1;
        other._reaped = true;
    }
    return *this;
}

Process::~Process() {
    if (_pid > 0 && !_reaped) {
        ::kill(_pid, SIGKILL);
        ::waitpid(_pid, &_status, 0);
    }
}

bool Process::running() {
    if (_pid <= 0 || _reaped) return false;
    int status = 0;
    pid_t r = ::waitpid(_pid, &status, WNOHANG);
    if (r == _pid) {
        _status = status;
        _reaped = true;
        return false;
    }
    return true;
}

void Process::signal(int sig) {
    if (_pid > 0 && !_reaped) ::kill(_pid, sig);
}

RunResult Process::wait(Millis timeout, bool kill_on_timeout) {
    RunResult r;
    auto deadline = Clock::now() + timeout;
    while (running() && Clock::now() < deadline)
        std::this_thread::sleep_for(10ms);
    if (running()) {
        r.timed_out = true;
        if (kill_on_timeout) {
            ::kill(_pid, SIGKILL);
            ::waitpid(_pid, &_status, 0);
            _reaped = true;
        }
    }
    r.exit_code = _reaped ? decode_status(_status) : -1;
    r.out = out();
    r.err = err();
    return r;
}

int Process::stop(Millis timeout, Millis* took) {
    auto start = Clock::now();
    signal(SIGTERM);
    RunResult r = wait(timeout);
    if (took) *took = std::chrono::duration_cast<Millis>(Clock::now() - start);
    return r.timed_out ? -1 : r.exit_code;
}

std::string Process::out() const {
    return _out_path.empty() ? "" : read_file(_out_path);
}
std::string Process::err() const {
    return _err_path.empty() ? "" : read_file(_err_path);
}

bool Process::wait_for_output(std::string_view needle, Millis timeout) {
    auto deadline = Clock::now() + timeout;
    do {
        if (out().find(needle) != std::string::npos) return true;
        std::this_thread::sleep_for(10ms);
    } while (Clock::now() < deadline);
    return out().find(needle) != std::string::npos;
}

RunResult run(std::vector<std::string> argv, Millis timeout) {
    Process p(std::move(argv));
    return p.wait(timeout);
}

// ---------------------------------------------------------------------------------------------
// Broker

Broker::Broker(BrokerOptions options) : _options(std::move(options)) {
    if (_options.port == 0) _options.port = free_port();
    std::string conf;
    if (broker_is_mosquitto()) {
        conf = "listener " + port_str() +
               " 127.0.0.1\nallow_anonymous true\npersistence false\n"
               "log_dest stderr\nlog_type all\nsys_interval 1\n";
        for (auto& l : _options.mosquitto)
            conf += l + "\n";
        _config_path = temp_path("mosquitto.conf");
    } else {
        conf = "[broker]\nsys_interval = 1\n";
        // ctest runs every broker test with one worker and with two (tests/CMakeLists.txt).
        bool own = false;  // a test that sets workers itself keeps its own
        for (auto& l : _options.broker)
            own = own || l.rfind("workers", 0) == 0;
        if (const char* workers = std::getenv("ROOST_TEST_WORKERS"); workers && *workers && !own)
            conf += std::string("workers = ") + workers + "\n";
        for (auto& l : _options.broker)
            conf += l + "\n";
        if (!_options.limits.empty()) conf += "\n[limits]\n";
        for (auto& l : _options.limits)
            conf += l + "\n";
        _config_path = temp_path("roost.toml");
    }
    write_file(_config_path, conf);
    start();
}

void Broker::start() {
    std::vector<std::string> argv;
    if (broker_is_mosquitto()) {
        argv = {"/usr/sbin/mosquitto", "-c", _config_path, "-v"};
    } else {
        argv = {ROOST_BINARY, "--listen", "127.0.0.1:" + port_str(), "-v", "-c", _config_path};
        argv.insert(argv.end(), _options.args.begin(), _options.args.end());
    }
    _process = Process(argv);
    auto deadline = Clock::now() + 10s;
    while (Clock::now() < deadline) {
        if (!_process.running()) {
            throw std::runtime_error("broker exited at start:\n" + _process.err());
        }
        if (port_accepts(port())) return;
        std::this_thread::sleep_for(20ms);
    }
    throw std::runtime_error("broker did not accept on port " + port_str() + " within 10 s:\n" + log());
}

Broker::~Broker() {
    // Every test ends with a clean stop: SIGTERM must end the broker with exit code 0 (a sanitizer
    // report or a crash on the way down fails the test that was running).
    if (!_process.running()) return;
    Millis took{};
    int code = stop(10s, &took);
    CHECK_MESSAGE(code == 0, "broker exit code "
                                 << code << " after SIGTERM; log tail:\n"
                                 << log().substr(log().size() > 4000 ? log().size() - 4000 : 0));
    CHECK_MESSAGE(took < 5s, "broker took " << took.count() << " ms to stop");
}

std::string Broker::log() const {
    return _process.err();
}

bool Broker::wait_log(std::vector<std::string> needles, Millis timeout, size_t from) const {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        std::string l = log();
        l.erase(0, std::min(from, l.size()));
        for (auto& n : needles)
            if (contains_ci(l, n)) return true;
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(20ms);
    }
}

int Broker::stop(Millis timeout, Millis* took) {
    return _process.stop(timeout, took);
}

std::vector<std::string> pub_args(const Broker& b, std::vector<std::string> args) {
    std::vector<std::string> v = {"mosquitto_pub", "-h", "127.0.0.1", "-p", b.port_str()};
    v.insert(v.end(), args.begin(), args.end());
    return v;
}

std::vector<std::string> sub_args(const Broker& b, std::vector<std::string> args) {
    std::vector<std::string> v = {"mosquitto_sub", "-h", "127.0.0.1", "-p", b.port_str()};
    v.insert(v.end(), args.begin(), args.end());
    return v;
}

Subscriber::Subscriber(const Broker& b, std::vector<std::string> args) {
    std::vector<std::string> v = {"-d", "-F", "M>%t|%p"};
    v.insert(v.end(), args.begin(), args.end());
    // stdout goes to a file: make it line-buffered so "received SUBACK" shows up at once.
    v = sub_args(b, v);
    v.insert(v.begin(), {"stdbuf", "-oL"});
    _process = Process(v);
}

bool Subscriber::wait_subscribed(Millis timeout) {
    return _process.wait_for_output("received SUBACK", timeout);
}

std::vector<std::string> Subscriber::messages_so_far() const {
    std::vector<std::string> msgs;
    std::istringstream in(_process.out());
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("M>", 0) == 0) msgs.push_back(line.substr(2));
    return msgs;
}

std::vector<std::string> Subscriber::finish(Millis timeout) {
    RunResult r = _process.wait(timeout);
    _exit_code = r.exit_code;
    return messages_so_far();
}

// ---------------------------------------------------------------------------------------------
// Packet builders

namespace pkt {

Bytes varint(uint32_t v) {  // MQTT 5 1.5.5 Variable Byte Integer
    Bytes out;
    do {
        uint8_t b = v % 128;
        v /= 128;
        if (v > 0) b |= 0x80;
        out.push_back(char(b));
    } while (v > 0);
    return out;
}

Bytes u16(uint16_t v) {
    return Bytes{char(v >> 8), char(v & 0xff)};
}
Bytes u32(uint32_t v) {
    return Bytes{char(v >> 24), char((v >> 16) & 0xff), char((v >> 8) & 0xff), char(v & 0xff)};
}
Bytes str(std::string_view s) {
    return u16(uint16_t(s.size())) + Bytes(s);
}

Bytes packet(uint8_t first_byte, std::string_view body) {
    return Bytes(1, char(first_byte)) + varint(uint32_t(body.size())) + Bytes(body);
}

Bytes connect(const Connect& c) {  // 3.1 CONNECT
    uint8_t flags = 0;
    if (c.clean) flags |= 0x02;
    if (c.will) {
        flags |= 0x04;
        flags |= uint8_t(c.will->qos << 3);
        if (c.will->retain) flags |= 0x20;
    }
    Bytes body = str("MQTT") + char(c.version) + char(flags) + u16(c.keep_alive);
    if (c.version == 5) body += varint(uint32_t(c.properties.size())) + c.properties;
    body += str(c.client_id);
    if (c.will) {
        if (c.version == 5) body += varint(uint32_t(c.will->properties.size())) + c.will->properties;
        body += str(c.will->topic) + str(c.will->payload);
    }
    return packet(0x10, body);
}

Connect conn(uint8_t version, std::string client_id, bool clean, uint16_t keep_alive) {
    Connect c;
    c.version = version;
    c.client_id = std::move(client_id);
    c.clean = clean;
    c.keep_alive = keep_alive;
    return c;
}

Bytes publish(std::string_view topic, std::string_view payload, uint8_t qos, uint16_t packet_id, bool retain,
              uint8_t version, std::string_view properties) {  // 3.3 PUBLISH
    uint8_t first = uint8_t(0x30 | (qos << 1) | (retain ? 1 : 0));
    Bytes body = str(topic);
    if (qos > 0) body += u16(packet_id);
    if (version == 5) body += varint(uint32_t(properties.size())) + Bytes(properties);
    body += payload;
    return packet(first, body);
}

Bytes subscribe(uint16_t packet_id, std::string_view filter, uint8_t options, uint8_t version) {  // 3.8
    Bytes body = u16(packet_id);
    if (version == 5) body += varint(0);
    body += str(filter) + char(options);
    return packet(0x82, body);
}

Bytes ack(Type type, uint16_t packet_id) {
    uint8_t first = uint8_t(type << 4);
    if (type == PUBREL) first |= 0x02;
    return packet(first, u16(packet_id));
}

Bytes disconnect(uint8_t version, uint8_t reason) {
    if (version == 5 && reason != 0) return packet(0xe0, Bytes(1, char(reason)) + varint(0));
    return packet(0xe0, "");
}

Bytes pingreq() {
    return packet(0xc0, "");
}

Bytes prop_u8(uint8_t id, uint8_t v) {
    return Bytes{char(id), char(v)};
}
Bytes prop_u16(uint8_t id, uint16_t v) {
    return Bytes(1, char(id)) + u16(v);
}
Bytes prop_u32(uint8_t id, uint32_t v) {
    return Bytes(1, char(id)) + u32(v);
}
Bytes prop_str(uint8_t id, std::string_view v) {
    return Bytes(1, char(id)) + str(v);
}

}  // namespace pkt

// ---------------------------------------------------------------------------------------------
// Packet

uint8_t Packet::reason() const {
    if (type == pkt::CONNACK) return body.size() >= 2 ? uint8_t(body[1]) : 0xff;
    if (type == pkt::DISCONNECT) return body.empty() ? 0 : uint8_t(body[0]);
    return body.empty() ? 0 : uint8_t(body[0]);
}

std::string Packet::publish_topic() const {
    if (body.size() < 2) return {};
    size_t len = (uint8_t(body[0]) << 8) | uint8_t(body[1]);
    return body.substr(2, len);
}

uint16_t Packet::packet_id_after_topic() const {
    size_t len = (uint8_t(body[0]) << 8) | uint8_t(body[1]);
    return uint16_t((uint8_t(body[2 + len]) << 8) | uint8_t(body[3 + len]));
}

std::string Packet::publish_payload(uint8_t version) const {
    size_t len = (uint8_t(body[0]) << 8) | uint8_t(body[1]);
    size_t pos = 2 + len;
    if ((flags >> 1) & 3) pos += 2;
    if (version == 5) {  // skip the properties: a varint length and that many bytes
        uint32_t plen = 0, mult = 1;
        uint8_t b;
        do {
            b = uint8_t(body[pos++]);
            plen += (b & 0x7f) * mult;
            mult *= 128;
        } while (b & 0x80);
        pos += plen;
    }
    return pos <= body.size() ? body.substr(pos) : std::string();
}

uint16_t Packet::packet_id() const {
    return body.size() >= 2 ? uint16_t((uint8_t(body[0]) << 8) | uint8_t(body[1])) : 0;
}

// ---------------------------------------------------------------------------------------------
// RawClient

RawClient::RawClient(uint16_t port, uint8_t key, int receive_buffer) : _key(key) {
    _fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (_fd < 0) return;
    // Before connect, so that the window the peer is offered is small from the start.
    if (receive_buffer > 0) ::setsockopt(_fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in addr = loopback(port);
    if (::connect(_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(_fd);
        _fd = -1;
        _closed = true;
        return;
    }
    int one = 1;
    ::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

RawClient::~RawClient() {
    close();
}

void RawClient::close() {
    if (_fd >= 0) ::close(_fd);
    _fd = -1;
}

bool RawClient::send(std::string_view bytes) {
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

bool RawClient::fill(Millis timeout) {
    if (_fd < 0 || _closed) return false;
    pollfd p{_fd, POLLIN, 0};
    int r = ::poll(&p, 1, int(timeout.count()));
    if (r <= 0) return false;
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

std::optional<Packet> RawClient::read_packet(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        // Try to parse a whole packet from what we have.
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
                p.raw = _buf.substr(0, pos + len);
                _buf.erase(0, pos + len);
                return p;
            }
        }
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (left.count() <= 0 || !fill(left)) return std::nullopt;
    }
}

std::optional<Packet> RawClient::read_until(uint8_t type, Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto p = read_packet(left);
        if (!p) return std::nullopt;
        if (p->type == type) return p;
    }
}

bool RawClient::wait_closed(Millis timeout, std::vector<Packet>* before_close) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        while (auto p = read_packet(0ms))
            if (before_close) before_close->push_back(*p);
        if (_closed) return true;
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        fill(std::min(left, Millis(50)));
    }
}

std::optional<Packet> RawClient::handshake(const pkt::Connect& c, Millis timeout) {
    if (!send(pkt::connect(c))) return std::nullopt;
    auto p = read_packet(timeout);
    if (!p || p->type != pkt::CONNACK) return std::nullopt;
    return p;
}

}  // namespace roost_it
