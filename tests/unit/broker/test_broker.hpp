// Test support for the broker-logic tests (*_flow_test.cpp): a broker running in-process on its
// own thread, and a blocking MQTT client over a real loopback TCP socket that builds and parses
// packets with the codec. Everything is inline: only *_test.cpp files are compiled.
//
//   BrokerFixture broker;                 // or BrokerFixture broker([](Config& c) { ... });
//   TestClient sub(broker);
//   sub.connect({.client_id = "sub"});
//   sub.subscribe("a/#", 1);
//   auto p = sub.expect<Publish>();
//
// Every expect*() fails the running test (doctest FAIL, which ends the test case) with a message
// that says what was awaited and what came instead.
#pragma once
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "mqtt/decoder.hpp"
#include "mqtt/encoder.hpp"
#include "mqtt/packet.hpp"
#include "mqtt/reason_codes.hpp"
#include "server/server.hpp"
#include "util/log.hpp"

namespace roost::test {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;
using mqtt::Ack;
using mqtt::Connack;
using mqtt::Connect;
using mqtt::Disconnect;
using mqtt::PacketType;
using mqtt::Pingreq;
using mqtt::Pingresp;
using mqtt::ProtocolVersion;
using mqtt::Publish;
using mqtt::Suback;
using mqtt::Subscribe;
using mqtt::Unsuback;
using mqtt::Unsubscribe;

constexpr ProtocolVersion V5 = ProtocolVersion::V5;
constexpr ProtocolVersion V311 = ProtocolVersion::V311;

// How long expect*() waits by default. Local loopback answers in microseconds; this is only the
// bound on a test that would otherwise hang.
constexpr Ms kExpectTimeout = 2000ms;
// How long expect_nothing() listens by default.
constexpr Ms kQuietTime = 200ms;

inline const char* packet_name(PacketType t) {
    switch (t) {
        case PacketType::Connect:
            return "CONNECT";
        case PacketType::Connack:
            return "CONNACK";
        case PacketType::Publish:
            return "PUBLISH";
        case PacketType::Puback:
            return "PUBACK";
        case PacketType::Pubrec:
            return "PUBREC";
        case PacketType::Pubrel:
            return "PUBREL";
        case PacketType::Pubcomp:
            return "PUBCOMP";
        case PacketType::Subscribe:
            return "SUBSCRIBE";
        case PacketType::Suback:
            return "SUBACK";
        case PacketType::Unsubscribe:
            return "UNSUBSCRIBE";
        case PacketType::Unsuback:
            return "UNSUBACK";
        case PacketType::Pingreq:
            return "PINGREQ";
        case PacketType::Pingresp:
            return "PINGRESP";
        case PacketType::Disconnect:
            return "DISCONNECT";
        case PacketType::Auth:
            return "AUTH";
    }
    return "?";
}

// One line describing a packet, for failure messages.
inline std::string describe(const mqtt::Packet& p) {
    std::string s = packet_name(mqtt::packet_type(p));
    if (auto* pub = std::get_if<Publish>(&p)) {
        s += " topic='" + pub->topic + "' qos=" + std::to_string(pub->qos) +
             " id=" + std::to_string(pub->packet_id) + " retain=" + std::to_string(pub->retain) +
             " dup=" + std::to_string(pub->dup) + " payload='" + pub->payload.substr(0, 40) + "'";
    } else if (auto* ack = std::get_if<Ack>(&p)) {
        s += " id=" + std::to_string(ack->packet_id) + " reason=" + std::to_string(ack->reason_code);
    } else if (auto* d = std::get_if<Disconnect>(&p)) {
        s += " reason=" + std::to_string(d->reason_code);
        if (d->properties.reason_string) s += " (" + *d->properties.reason_string + ")";
    } else if (auto* c = std::get_if<Connack>(&p)) {
        s += " reason=" + std::to_string(c->reason_code) +
             " session_present=" + std::to_string(c->session_present);
    }
    return s;
}

template <typename T>
constexpr const char* type_name() {
    if constexpr (std::is_same_v<T, Connack>) return "CONNACK";
    if constexpr (std::is_same_v<T, Publish>) return "PUBLISH";
    if constexpr (std::is_same_v<T, Ack>) return "PUBACK/PUBREC/PUBREL/PUBCOMP";
    if constexpr (std::is_same_v<T, Suback>) return "SUBACK";
    if constexpr (std::is_same_v<T, Unsuback>) return "UNSUBACK";
    if constexpr (std::is_same_v<T, Pingresp>) return "PINGRESP";
    if constexpr (std::is_same_v<T, Disconnect>) return "DISCONNECT";
    if constexpr (std::is_same_v<T, mqtt::Auth>) return "AUTH";
    return "packet";
}

// The configuration every fixture starts from: one ephemeral loopback listener, no $SYS, quiet.
inline Config test_config() {
    Config config;
    config.listeners = {ListenerConfig{"127.0.0.1", 0, "test"}};
    config.broker.sys_interval = 0;
    config.log.level = LogLevel::Error;
    return config;
}

// A Server on its own thread for the life of the fixture.
class BrokerFixture {
  public:
    explicit BrokerFixture(const std::function<void(Config&)>& tweak = {}) : _config(test_config()) {
        ::signal(SIGPIPE, SIG_IGN);  // the broker writes to sockets the tests close
        log::set_level(LogLevel::Error);
        if (tweak) tweak(_config);
        // The Server keeps a reference to the Config: it lives in this fixture, before the server.
        _server = std::make_unique<Server>(_config);
        REQUIRE_MESSAGE(_server->start(), "the broker could not listen on 127.0.0.1");
        std::vector<std::string> addresses = _server->addresses();
        REQUIRE(addresses.size() == 1);
        _port = static_cast<uint16_t>(std::stoi(addresses[0].substr(addresses[0].rfind(':') + 1)));
        _thread = std::thread([this] { _server->run(); });
    }
    ~BrokerFixture() {
        _server->request_stop();
        if (_thread.joinable()) _thread.join();
        _server.reset();
    }
    BrokerFixture(const BrokerFixture&) = delete;
    BrokerFixture& operator=(const BrokerFixture&) = delete;

    uint16_t port() const { return _port; }
    const Config& config() const { return _config; }

  private:
    Config _config;
    std::unique_ptr<Server> _server;
    std::thread _thread;
    uint16_t _port = 0;
};

struct ConnectOptions {
    ProtocolVersion version = V5;
    std::string client_id = "client";
    bool clean_start = true;
    uint16_t keep_alive = 0;
    std::optional<mqtt::Will> will = std::nullopt;
    std::optional<std::string> username = std::nullopt;
    std::optional<std::string> password = std::nullopt;
    mqtt::Properties properties = {};
};

// A blocking MQTT client on one TCP connection to the fixture's broker.
class TestClient {
  public:
    explicit TestClient(const BrokerFixture& broker, std::string name = {}) : _name(std::move(name)) {
        _fd = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE_MESSAGE(_fd >= 0, "socket(): " << std::strerror(errno));
        int one = 1;
        ::setsockopt(_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_port = htons(broker.port());
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE_MESSAGE(::connect(_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0,
                        "connect to 127.0.0.1:" << broker.port() << ": " << std::strerror(errno));
    }
    ~TestClient() { close(); }
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;

    // Closes the socket without a DISCONNECT (a lost connection, as far as the broker knows).
    void close() {
        if (_fd >= 0) ::close(_fd);
        _fd = -1;
    }

    ProtocolVersion version() const { return _version; }
    void set_version(ProtocolVersion v) {
        _version = v;
        _decoder.set_version(v);
    }

    // Sends CONNECT and returns the CONNACK, whatever its reason code.
    Connack connect(const ConnectOptions& o) {
        if (_name.empty()) _name = o.client_id;
        set_version(o.version);
        Connect c;
        c.version = o.version;
        c.clean_start = o.clean_start;
        c.keep_alive = o.keep_alive;
        c.client_id = o.client_id;
        c.will = o.will;
        c.username = o.username;
        c.password = o.password;
        c.properties = o.properties;
        send(c);
        return expect<Connack>();
    }
    // connect() that requires success.
    Connack connect_ok(const ConnectOptions& o) {
        Connack ack = connect(o);
        REQUIRE_MESSAGE(ack.reason_code == 0,
                        _name << ": CONNECT refused with reason " << int(ack.reason_code));
        return ack;
    }

    void send(const mqtt::Packet& p) {
        std::vector<uint8_t> bytes;
        mqtt::encode(p, _version, bytes);
        send_bytes(bytes);
    }

    void send_bytes(std::span<const uint8_t> bytes) {
        REQUIRE_MESSAGE(_fd >= 0, _name << ": send on a closed client");
        size_t done = 0;
        while (done < bytes.size()) {
            ssize_t n = ::send(_fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) return;  // the broker closed on us; the next expect*() says so
            done += static_cast<size_t>(n);
        }
    }

    // The next packet, or nothing when none came within `timeout` or the connection closed
    // (closed() tells which). Fails the test on bytes that do not decode.
    std::optional<mqtt::Packet> receive(Ms timeout = kExpectTimeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (true) {
            mqtt::Packet p;
            mqtt::DecodeError error;
            mqtt::DecodeStatus status = _decoder.next(p, error);
            if (status == mqtt::DecodeStatus::Packet) return p;
            if (status == mqtt::DecodeStatus::Error)
                FAIL(_name << ": the broker sent bytes that do not decode: " << error.message);
            if (_closed || _fd < 0) return std::nullopt;
            auto left = std::chrono::duration_cast<Ms>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) return std::nullopt;
            pollfd pfd{_fd, POLLIN, 0};
            int r = ::poll(&pfd, 1, static_cast<int>(left.count()));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return std::nullopt;
            uint8_t buf[65536];
            ssize_t n = ::recv(_fd, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                _closed = true;
                continue;  // decode what is buffered, then report the close
            }
            _decoder.feed(std::span<const uint8_t>(buf, static_cast<size_t>(n)));
        }
    }

    // Whether the broker closed the connection (as seen by the last receive()).
    bool closed() const { return _closed; }

    // The next packet, which must be a T.
    template <typename T>
    T expect(Ms timeout = kExpectTimeout) {
        std::optional<mqtt::Packet> p = receive(timeout);
        if (!p) {
            FAIL(_name << ": expected " << type_name<T>() << " but "
                       << (_closed ? "the broker closed the connection"
                                   : "nothing came within " + std::to_string(timeout.count()) + " ms"));
        }
        if (!std::holds_alternative<T>(*p))
            FAIL(_name << ": expected " << type_name<T>() << " but got " << describe(*p));
        return std::get<T>(std::move(*p));
    }

    // The next packet, which must be an acknowledgement of `type` for `packet_id`.
    Ack expect_ack(PacketType type, uint16_t packet_id, Ms timeout = kExpectTimeout) {
        Ack a = expect<Ack>(timeout);
        if (a.type != type || a.packet_id != packet_id)
            FAIL(_name << ": expected " << packet_name(type) << " id=" << packet_id << " but got "
                       << describe(mqtt::Packet(a)));
        return a;
    }

    // A PUBLISH on `topic`.
    Publish expect_publish(const std::string& topic, Ms timeout = kExpectTimeout) {
        Publish p = expect<Publish>(timeout);
        if (p.topic != topic)
            FAIL(_name << ": expected PUBLISH on '" << topic << "' but got " << describe(p));
        return p;
    }

    // No packet for `quiet` (and the connection stays open).
    void expect_nothing(Ms quiet = kQuietTime) {
        std::optional<mqtt::Packet> p = receive(quiet);
        if (p) FAIL(_name << ": expected nothing for " << quiet.count() << " ms but got " << describe(*p));
        if (_closed) FAIL(_name << ": expected nothing for " << quiet.count() << " ms but the broker closed");
    }

    // The broker closes the connection within `timeout`, sending no further packet.
    void expect_closed(Ms timeout = kExpectTimeout) {
        std::optional<mqtt::Packet> p = receive(timeout);
        if (p) FAIL(_name << ": expected the connection to close but got " << describe(*p));
        if (!_closed) FAIL(_name << ": expected the connection to close within " << timeout.count() << " ms");
    }

    // A DISCONNECT with `reason`, then the close.
    void expect_disconnect(uint8_t reason, Ms timeout = kExpectTimeout) {
        Disconnect d = expect<Disconnect>(timeout);
        CHECK_MESSAGE(int(d.reason_code) == int(reason), _name << ": " << describe(d));
        expect_closed();
    }

    uint16_t next_packet_id() {
        if (++_packet_id == 0) _packet_id = 1;
        return _packet_id;
    }

    // SUBSCRIBE to one filter; returns the SUBACK (checked for the packet id).
    Suback subscribe(const std::string& filter, mqtt::SubscriptionOptions options,
                     std::optional<uint32_t> subscription_id = std::nullopt) {
        Subscribe s;
        s.packet_id = next_packet_id();
        s.subscriptions.push_back({filter, options});
        if (subscription_id) s.properties.subscription_identifiers.push_back(*subscription_id);
        send(s);
        Suback ack = expect<Suback>();
        CHECK(ack.packet_id == s.packet_id);
        return ack;
    }
    // SUBSCRIBE that must be granted `qos`.
    void subscribe(const std::string& filter, uint8_t qos = 0) {
        Suback ack = subscribe(filter, mqtt::SubscriptionOptions{.qos = qos});
        REQUIRE(ack.reason_codes.size() == 1);
        REQUIRE_MESSAGE(ack.reason_codes[0] == qos, _name << ": subscription to '" << filter << "' answered "
                                                          << int(ack.reason_codes[0]));
    }

    // PUBLISH and, for QoS 1/2, the whole flow on the publisher's side. Returns the reason code of
    // the PUBACK or PUBREC (0 for QoS 0).
    uint8_t publish(const std::string& topic, const std::string& payload, uint8_t qos = 0,
                    bool retain = false, const mqtt::Properties& properties = {}) {
        Publish p;
        p.topic = topic;
        p.payload = payload;
        p.qos = qos;
        p.retain = retain;
        p.properties = properties;
        if (qos > 0) p.packet_id = next_packet_id();
        send(p);
        if (qos == 0) return 0;
        if (qos == 1) return expect_ack(PacketType::Puback, p.packet_id).reason_code;
        uint8_t reason = expect_ack(PacketType::Pubrec, p.packet_id).reason_code;
        send(Ack{PacketType::Pubrel, p.packet_id, 0, {}});
        expect_ack(PacketType::Pubcomp, p.packet_id);
        return reason;
    }

    // Acknowledges a received QoS 1/2 PUBLISH (for QoS 2: PUBREC, PUBREL, PUBCOMP).
    void ack(const Publish& p) {
        if (p.qos == 1) send(Ack{PacketType::Puback, p.packet_id, 0, {}});
        if (p.qos == 2) {
            send(Ack{PacketType::Pubrec, p.packet_id, 0, {}});
            expect_ack(PacketType::Pubrel, p.packet_id);
            send(Ack{PacketType::Pubcomp, p.packet_id, 0, {}});
        }
    }

    void disconnect(uint8_t reason = 0, const mqtt::Properties& properties = {}) {
        send(Disconnect{reason, properties});
        expect_closed();
    }

  private:
    std::string _name;
    int _fd = -1;
    bool _closed = false;
    ProtocolVersion _version = V5;
    mqtt::Decoder _decoder;
    uint16_t _packet_id = 0;
};

// Shorthands for tests.
inline mqtt::SubscriptionOptions sub_options(uint8_t qos, bool no_local = false,
                                             bool retain_as_published = false, uint8_t retain_handling = 0) {
    return mqtt::SubscriptionOptions{qos, no_local, retain_as_published, retain_handling};
}

inline mqtt::Properties session_expiry(uint32_t seconds) {
    mqtt::Properties p;
    p.session_expiry_interval = seconds;
    return p;
}

inline uint8_t rc(mqtt::ReasonCode code) {
    return static_cast<uint8_t>(code);
}

}  // namespace roost::test
