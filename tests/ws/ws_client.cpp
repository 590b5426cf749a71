#include "ws_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstring>

namespace roost_ws_test {
namespace {
using Clock = std::chrono::steady_clock;

std::string lower(std::string s) {
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}
}  // namespace

uint16_t Frame::close_code() const {
    if (opcode != 0x8 || payload.size() < 2) return 0;
    return static_cast<uint16_t>((static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]));
}

WsClient::WsClient(uint16_t port, int receive_buffer) {
    _fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (receive_buffer > 0) ::setsockopt(_fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(_fd);
        _fd = -1;
    }
}

WsClient::~WsClient() {
    if (_fd >= 0) ::close(_fd);
}

bool WsClient::send_raw(const Bytes& bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        ssize_t n = ::send(_fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
        if (n <= 0) return false;
        done += static_cast<size_t>(n);
    }
    return true;
}

bool WsClient::fill(Millis timeout) {
    if (_eof || _fd < 0) return false;
    pollfd p{_fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[65536];
    ssize_t n = ::recv(_fd, buf, sizeof buf, 0);
    if (n <= 0) {
        _eof = true;
        return false;
    }
    _buf.append(buf, static_cast<size_t>(n));
    return true;
}

std::optional<HttpResponse> WsClient::upgrade(const std::string& path,
                                              std::map<std::string, std::string> extra) {
    std::map<std::string, std::string> h = {
        {"Host", "127.0.0.1"},           {"Upgrade", "websocket"},
        {"Connection", "Upgrade"},       {"Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="},
        {"Sec-WebSocket-Version", "13"}, {"Sec-WebSocket-Protocol", "mqtt"},
    };
    for (auto& [k, v] : extra)
        h[k] = v;
    Bytes req = "GET " + path + " HTTP/1.1\r\n";
    for (auto& [k, v] : h)
        if (!v.empty()) req += k + ": " + v + "\r\n";
    req += "\r\n";
    if (!send_raw(req)) return std::nullopt;
    return read_response();
}

std::optional<HttpResponse> WsClient::read_response(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    size_t end;
    while ((end = _buf.find("\r\n\r\n")) == std::string::npos) {
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (left.count() <= 0 || !fill(left)) {
            if ((end = _buf.find("\r\n\r\n")) != std::string::npos) break;
            return std::nullopt;
        }
    }
    HttpResponse r;
    std::string head = _buf.substr(0, end);
    _buf.erase(0, end + 4);
    size_t eol = head.find("\r\n");
    std::string status_line = head.substr(0, eol);
    if (status_line.rfind("HTTP/1.1 ", 0) != 0) return std::nullopt;
    r.status = std::stoi(status_line.substr(9, 3));
    size_t pos = eol == std::string::npos ? head.size() : eol + 2;
    while (pos < head.size()) {
        size_t next = head.find("\r\n", pos);
        if (next == std::string::npos) next = head.size();
        std::string line = head.substr(pos, next - pos);
        size_t colon = line.find(':');
        if (colon != std::string::npos) {
            std::string value = line.substr(colon + 1);
            while (!value.empty() && value.front() == ' ')
                value.erase(0, 1);
            r.headers[lower(line.substr(0, colon))] = value;
        }
        pos = next + 2;
    }
    if (r.status != 101) {
        size_t length = r.headers.count("content-length") ? std::stoul(r.headers["content-length"]) : 0;
        while (_buf.size() < length) {
            auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
            if (left.count() <= 0 || !fill(left)) break;
        }
        r.body = _buf.substr(0, length);
        _buf.erase(0, std::min(length, _buf.size()));
    }
    return r;
}

bool WsClient::send_frame_header(uint8_t opcode, uint64_t length, bool fin) {
    Bytes f;
    f.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
    if (length < 126) {
        f.push_back(static_cast<char>(0x80 | length));
    } else if (length <= 0xffff) {
        f.push_back(static_cast<char>(0x80 | 126));
        f.push_back(static_cast<char>(length >> 8));
        f.push_back(static_cast<char>(length));
    } else {
        f.push_back(static_cast<char>(0x80 | 127));
        for (int s = 56; s >= 0; s -= 8)
            f.push_back(static_cast<char>(length >> s));
    }
    f += std::string("\x11\x22\x33\x44", 4);
    return send_raw(f);
}

bool WsClient::send_frame(uint8_t opcode, const Bytes& payload, bool fin, bool masked) {
    Bytes f;
    uint64_t length = payload.size();
    uint8_t mask_bit = masked ? 0x80 : 0;
    f.push_back(static_cast<char>((fin ? 0x80 : 0) | opcode));
    if (length < 126) {
        f.push_back(static_cast<char>(mask_bit | length));
    } else if (length <= 0xffff) {
        f.push_back(static_cast<char>(mask_bit | 126));
        f.push_back(static_cast<char>(length >> 8));
        f.push_back(static_cast<char>(length));
    } else {
        f.push_back(static_cast<char>(mask_bit | 127));
        for (int s = 56; s >= 0; s -= 8)
            f.push_back(static_cast<char>(length >> s));
    }
    const uint8_t key[4] = {0x37, 0xfa, 0x21, 0x3d};
    if (masked) f.append(reinterpret_cast<const char*>(key), 4);
    for (size_t i = 0; i < payload.size(); i++)
        f.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
    return send_raw(f);
}

std::optional<Frame> WsClient::read_frame(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        if (_buf.size() >= 2) {
            auto b = [&](size_t i) { return static_cast<uint8_t>(_buf[i]); };
            uint64_t length = b(1) & 0x7f;
            size_t header = 2;
            if (length == 126 && _buf.size() >= 4) {
                length = (uint64_t{b(2)} << 8) | b(3);
                header = 4;
            } else if (length == 127 && _buf.size() >= 10) {
                length = 0;
                for (size_t i = 2; i < 10; i++)
                    length = (length << 8) | b(i);
                header = 10;
            } else if (length >= 126) {
                header = 0;  // the extended length has not arrived
            }
            if (header && (b(1) & 0x80) == 0 && _buf.size() >= header + length) {
                Frame f;
                f.fin = b(0) & 0x80;
                f.opcode = b(0) & 0x0f;
                f.payload = _buf.substr(header, length);
                _buf.erase(0, header + length);
                return f;
            }
        }
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (left.count() <= 0 || !fill(left)) return std::nullopt;
    }
}

std::optional<roost_it::Packet> WsClient::read_mqtt(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        // A whole packet in what the binary frames carried so far?
        if (_mqtt.size() >= 2) {
            uint32_t length = 0, mult = 1;
            size_t pos = 1;
            bool complete = false;
            while (pos < _mqtt.size() && pos <= 4) {
                uint8_t byte = static_cast<uint8_t>(_mqtt[pos++]);
                length += (byte & 0x7f) * mult;
                mult *= 128;
                if (!(byte & 0x80)) {
                    complete = true;
                    break;
                }
            }
            if (complete && _mqtt.size() >= pos + length) {
                roost_it::Packet p;
                p.type = static_cast<uint8_t>(_mqtt[0]) >> 4;
                p.flags = static_cast<uint8_t>(_mqtt[0]) & 0x0f;
                p.body = _mqtt.substr(pos, length);
                p.raw = _mqtt.substr(0, pos + length);
                _mqtt.erase(0, pos + length);
                return p;
            }
        }
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto f = read_frame(left);
        if (!f || f->opcode == 0x8) return std::nullopt;
        if (f->opcode == 0x2 || f->opcode == 0x0) _mqtt += f->payload;
    }
}

std::optional<roost_it::Packet> WsClient::read_mqtt_until(uint8_t type, Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto p = read_mqtt(left);
        if (!p || p->type == type) return p;
    }
}

std::optional<Frame> WsClient::read_control(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto f = read_frame(left);
        if (!f) return std::nullopt;
        if (f->opcode & 0x8) return f;
        _mqtt += f->payload;
    }
}

std::optional<Frame> WsClient::read_close(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto f = read_frame(left);
        if (!f) return std::nullopt;
        if (f->opcode == 0x8) return f;
    }
}

bool WsClient::wait_eof(Millis timeout) {
    auto deadline = Clock::now() + timeout;
    while (!_eof) {
        auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        _buf.clear();
        fill(left);
    }
    return true;
}

}  // namespace roost_ws_test
