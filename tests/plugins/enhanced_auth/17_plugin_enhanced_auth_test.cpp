// MQTT 5 enhanced authentication (spec 4.12) through an auth plugin (auth_challenge.c): the
// CONNECT exchange in two rounds (CONNECT -> AUTH 0x18 -> AUTH 0x18 -> CONNACK), a wrong answer,
// a method no plugin supports, re-authentication (AUTH 0x19 -> AUTH 0x18 -> AUTH 0x18 -> AUTH
// 0x00) that succeeds or fails, an AUTH with another method, and clients without a method.
//
// Every packet is built and read here by hand, from the spec, as in tests/integration.
#include <doctest/doctest.h>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

constexpr const char* kMethod = "ROOST-CHALLENGE";

// MQTT 5 property identifiers (2.2.2.2) the test writes or reads.
constexpr uint8_t kReasonString = 0x1F;
constexpr uint8_t kAuthMethod = 0x15;
constexpr uint8_t kAuthData = 0x16;

// What the test reads from a CONNACK, AUTH or DISCONNECT: the reason code and the properties
// of enhanced auth.
struct Reply {
    uint8_t type = 0;
    uint8_t reason = 0;
    std::optional<std::string> method, data, reason_string;
    bool well_formed = true;
};

bool read_varint(const std::string& b, size_t& pos, uint32_t& out) {
    out = 0;
    uint32_t mult = 1;
    for (int i = 0; i < 4; i++) {
        if (pos >= b.size()) return false;
        uint8_t byte = uint8_t(b[pos++]);
        out += (byte & 0x7f) * mult;
        if (!(byte & 0x80)) return true;
        mult *= 128;
    }
    return false;
}

// The property block at `pos` (length first), enough of it to read method, data and reason
// string and to skip every other property (2.2.2.2 lists each one's type).
bool read_properties(const std::string& b, size_t pos, Reply& r) {
    uint32_t len = 0;
    if (!read_varint(b, pos, len) || pos + len > b.size()) return false;
    size_t end = pos + len;
    auto two_byte_len = [&](std::optional<std::string>* into) {
        if (pos + 2 > end) return false;
        size_t n = (uint8_t(b[pos]) << 8) | uint8_t(b[pos + 1]);
        pos += 2;
        if (pos + n > end) return false;
        if (into) *into = b.substr(pos, n);
        pos += n;
        return true;
    };
    while (pos < end) {
        uint8_t id = uint8_t(b[pos++]);
        switch (id) {
            case 0x01:
            case 0x17:
            case 0x19:
            case 0x24:
            case 0x25:
            case 0x28:
            case 0x29:
            case 0x2A:
                pos += 1;
                break;
            case 0x13:
            case 0x21:
            case 0x22:
            case 0x23:
                pos += 2;
                break;
            case 0x02:
            case 0x11:
            case 0x18:
            case 0x27:
                pos += 4;
                break;
            case 0x0B: {
                uint32_t ignored = 0;
                if (!read_varint(b, pos, ignored)) return false;
                break;
            }
            case kAuthMethod:
                if (!two_byte_len(&r.method)) return false;
                break;
            case kAuthData:
                if (!two_byte_len(&r.data)) return false;
                break;
            case kReasonString:
                if (!two_byte_len(&r.reason_string)) return false;
                break;
            case 0x03:
            case 0x08:
            case 0x09:
            case 0x12:
            case 0x1A:
            case 0x1C:
                if (!two_byte_len(nullptr)) return false;
                break;
            case 0x26:  // user property: a string pair
                if (!two_byte_len(nullptr) || !two_byte_len(nullptr)) return false;
                break;
            default:
                return false;
        }
    }
    return pos == end;
}

// CONNACK (3.2), AUTH (3.15) or DISCONNECT (3.14) of MQTT 5.
Reply decode(const Packet& p) {
    Reply r;
    r.type = p.type;
    if (p.type == pkt::CONNACK) {
        if (p.body.size() < 2) {
            r.well_formed = false;
            return r;
        }
        r.reason = uint8_t(p.body[1]);
        if (p.body.size() > 2) r.well_formed = read_properties(p.body, 2, r);
        return r;
    }
    // AUTH and DISCONNECT: no body is reason 0x00 without properties (3.15.2.1, 3.14.2.1).
    if (p.body.empty()) return r;
    r.reason = uint8_t(p.body[0]);
    if (p.body.size() > 1) r.well_formed = read_properties(p.body, 1, r);
    return r;
}

Bytes auth_props(std::string_view method, std::optional<std::string_view> data) {
    Bytes props = pkt::prop_str(kAuthMethod, method);
    if (data) props += pkt::prop_str(kAuthData, *data);  // binary data: encoded like a string
    return props;
}

// CONNECT (MQTT 5) with Authentication Method and Data (3.1.2.11.9, 3.1.2.11.10).
Bytes connect_enhanced(const std::string& id, std::string_view method, std::optional<std::string_view> data) {
    pkt::Connect c = pkt::conn(5, id);
    c.properties = auth_props(method, data);
    return pkt::connect(c);
}

// AUTH (3.15): reason code, then the properties.
Bytes auth(uint8_t reason, std::string_view method, std::optional<std::string_view> data) {
    Bytes props = auth_props(method, data);
    Bytes body = Bytes(1, char(reason)) + pkt::varint(uint32_t(props.size())) + props;
    return pkt::packet(0xF0, body);
}

// The next packet, decoded; type 0 when none came within the timeout.
Reply next(WireClient& c, Millis timeout = 3s) {
    auto p = c.read_packet(timeout);
    if (!p) return {};
    return decode(*p);
}

std::string show(const Reply& r) {
    std::string s = cat({"type ", std::to_string(r.type), " reason ", std::to_string(r.reason)});
    if (r.method) s += cat({" method '", *r.method, "'"});
    if (r.data) s += cat({" data '", *r.data, "'"});
    if (r.reason_string) s += cat({" reason string '", *r.reason_string, "'"});
    if (!r.well_formed) s += " (malformed)";
    return s;
}

Setup challenge_setup() {
    Setup s;
    // Clients without a method pass auth_challenge (NEXT) and are let in by the listener.
    s.listeners[0].auth_default = "allow";
    s.plugins.push_back({ROOST_PLUGIN_AUTH_CHALLENGE, {{"method", kMethod}}});
    return s;
}

// The whole two-round CONNECT exchange; the CONNACK.
Reply login(WireClient& c, const std::string& id) {
    REQUIRE(c.send(connect_enhanced(id, kMethod, "hello")));
    Reply challenge = next(c);
    INFO(show(challenge));
    REQUIRE(challenge.type == pkt::AUTH);
    CHECK(challenge.reason == 0x18);
    CHECK(challenge.method == std::optional<std::string>(kMethod));
    CHECK(challenge.data == std::optional<std::string>("nonce-1"));
    REQUIRE(c.send(auth(0x18, kMethod, "answer-1")));
    return next(c);
}

// SUBSCRIBE QoS 1 to `topic`, PUBLISH QoS 1 to it on the same connection: SUBACK granted 1,
// PUBACK success, and the message comes back.
void check_pubsub(WireClient& c, const std::string& topic, const std::string& payload, uint16_t first_id) {
    REQUIRE(c.send(pkt::subscribe(first_id, topic, 1, 5)));
    auto suback = c.read_until(pkt::SUBACK);
    REQUIRE(suback);
    CHECK(suback_codes(*suback, 5) == std::vector<uint8_t>{1});
    REQUIRE(c.send(pkt::publish(topic, payload, 1, uint16_t(first_id + 1), false, 5)));
    bool acked = false, delivered = false;
    for (int i = 0; i < 4 && !(acked && delivered); i++) {
        auto p = c.read_packet();
        if (!p) break;
        if (p->type == pkt::PUBACK) {
            CHECK(p->packet_id() == first_id + 1);
            CHECK(ack_reason(*p) == 0x00);
            acked = true;
        } else if (p->type == pkt::PUBLISH) {
            CHECK(p->publish_topic() == topic);
            CHECK(p->publish_payload(5) == payload);
            if ((p->flags & 0x06) != 0) REQUIRE(c.send(pkt::ack(pkt::PUBACK, p->packet_id_after_topic())));
            delivered = true;
        }
    }
    CHECK(acked);
    CHECK(delivered);
}

}  // namespace

TEST_CASE("CONNECT in two rounds: AUTH 0x18 nonce-1, AUTH 0x18 answer-1, CONNACK 0x00 with method and data") {
    PluginBroker b(challenge_setup());
    WireClient c(b.port());
    Reply ack = login(c, "two-rounds");
    INFO(show(ack));
    INFO(tail(b.log()));
    REQUIRE(ack.type == pkt::CONNACK);
    CHECK(ack.well_formed);
    CHECK(ack.reason == 0x00);
    // 3.2.2.3.17 / 3.2.2.3.18: the CONNACK names the method of CONNECT, with the last data.
    CHECK(ack.method == std::optional<std::string>(kMethod));
    CHECK(ack.data == std::optional<std::string>("welcome"));
    check_pubsub(c, "eauth/connect", "after-login", 1);

    CHECK(b.wait_line(
        {"auth_challenge", "fixture: client two-rounds stage=1 CONNECT: ALLOW more reply nonce-1"}));
    CHECK(
        b.wait_line({"auth_challenge", "fixture: client two-rounds stage=2 CONTINUE: ALLOW reply welcome"}));
    CHECK(b.wait_line({"client 'two-rounds'", "connected (MQTT 5.0"}));
}

TEST_CASE("a wrong answer to the challenge: CONNACK 0x87 Not authorized, and the connection closes") {
    PluginBroker b(challenge_setup());
    {
        WireClient c(b.port());
        REQUIRE(c.send(connect_enhanced("wrong-answer", kMethod, "hello")));
        Reply challenge = next(c);
        REQUIRE(challenge.type == pkt::AUTH);
        CHECK(challenge.data == std::optional<std::string>("nonce-1"));
        REQUIRE(c.send(auth(0x18, kMethod, "answer-7")));
        Reply ack = next(c);
        INFO(show(ack));
        CHECK(ack.type == pkt::CONNACK);
        CHECK(ack.reason == 0x87);
        CHECK(c.wait_closed());
    }
    {
        // A first step that is already wrong: refused without any AUTH.
        WireClient c(b.port());
        REQUIRE(c.send(connect_enhanced("wrong-hello", kMethod, "bonjour")));
        Reply ack = next(c);
        INFO(show(ack));
        CHECK(ack.type == pkt::CONNACK);
        CHECK(ack.reason == 0x87);
        CHECK(c.wait_closed());
    }
    INFO(tail(b.log()));
    CHECK(b.wait_line({"fixture: client wrong-answer stage=2 CONTINUE data 'answer-7'",
                       "wrong answer to nonce-1", "DENY 0x87"}));
    CHECK(b.wait_line({"fixture: client wrong-hello stage=1 CONNECT data 'bonjour'", "DENY 0x87"}));
    CHECK(
        !broker_lines_with(b.log(), {"wrong-answer", "refused CONNECT", "denied by plugin 'auth_challenge'"})
             .empty());
    CHECK(!broker_lines_with(b.log(), {"wrong-hello", "refused CONNECT", "denied by plugin 'auth_challenge'"})
               .empty());
}

TEST_CASE("a method no plugin supports: CONNACK 0x8C Bad authentication method") {
    PluginBroker b(challenge_setup());
    WireClient c(b.port());
    REQUIRE(c.send(connect_enhanced("other-method", "SCRAM-SHA-256", "client-first")));
    Reply ack = next(c);
    INFO(show(ack));
    INFO(tail(b.log()));
    CHECK(ack.type == pkt::CONNACK);
    CHECK(ack.reason == 0x8C);
    CHECK(c.wait_closed());
    // The listener's auth_default = "allow" does not let an unknown method in.
    CHECK(b.wait_line({"fixture: client other-method method 'SCRAM-SHA-256' is not mine: NEXT"}));
    CHECK(!broker_lines_with(b.log(), {"other-method", "refused CONNECT", "SCRAM-SHA-256", "not supported"})
               .empty());
}

TEST_CASE(
    "re-authentication: AUTH 0x19, AUTH 0x18 nonce-2, AUTH 0x18 answer-2, AUTH 0x00; the client goes on") {
    PluginBroker b(challenge_setup());
    WireClient c(b.port());
    Reply ack = login(c, "reauth-ok");
    REQUIRE(ack.type == pkt::CONNACK);
    REQUIRE(ack.reason == 0x00);

    // Twice: the second re-authentication must start afresh.
    for (int round = 0; round < 2; round++) {
        CAPTURE(round);
        size_t from = b.log_size();
        REQUIRE(c.send(auth(0x19, kMethod, "hello")));
        Reply challenge = next(c);
        INFO(show(challenge));
        REQUIRE(challenge.type == pkt::AUTH);
        CHECK(challenge.reason == 0x18);
        CHECK(challenge.method == std::optional<std::string>(kMethod));
        CHECK(challenge.data == std::optional<std::string>("nonce-2"));

        // 4.12.1: the client may go on sending other packets while it re-authenticates.
        REQUIRE(c.send(pkt::publish("eauth/during", "x", 1, uint16_t(100 + round), false, 5)));
        auto puback = c.read_until(pkt::PUBACK);
        REQUIRE(puback);
        CHECK(ack_reason(*puback) == 0x10);  // accepted: No matching subscribers

        REQUIRE(c.send(auth(0x18, kMethod, "answer-2")));
        Reply done = next(c);
        INFO(show(done));
        INFO(tail(b.log()));
        REQUIRE(done.type == pkt::AUTH);
        CHECK(done.well_formed);
        CHECK(done.reason == 0x00);
        CHECK(done.method == std::optional<std::string>(kMethod));
        CHECK(done.data == std::optional<std::string>("welcome-back"));
        CHECK(b.wait_line({"client 'reauth-ok'", "re-authenticated"}, 3s, from));
    }
    check_pubsub(c, "eauth/after-reauth", "still-here", 10);

    // The host calls continue_auth for every step of a re-authentication with stage REAUTH: the
    // AUTH 0x18 that answers nonce-2 cannot be told from the AUTH 0x19 that started it.
    INFO(tail(b.log()));
    CHECK(b.wait_line({"fixture: client reauth-ok stage=3 REAUTH: ALLOW more reply nonce-2"}));
    CHECK(
        b.wait_line({"fixture: client reauth-ok second re-authentication step arrived with stage=2 CONTINUE"}));
    CHECK(b.wait_line({"fixture: client reauth-ok stage=2 CONTINUE: ALLOW reply welcome-back"}));
    CHECK(lines_with(b.log(), {"fixture: client reauth-ok", "DENY"}).empty());
}

TEST_CASE("re-authentication that fails: DISCONNECT 0x87 and the connection closes") {
    PluginBroker b(challenge_setup());
    {
        WireClient c(b.port());
        REQUIRE(login(c, "reauth-bad").reason == 0x00);
        REQUIRE(c.send(auth(0x19, kMethod, "hello")));
        Reply challenge = next(c);
        REQUIRE(challenge.type == pkt::AUTH);
        CHECK(challenge.data == std::optional<std::string>("nonce-2"));
        REQUIRE(c.send(auth(0x18, kMethod, "answer-9")));
        Reply d = next(c);
        INFO(show(d));
        CHECK(d.type == pkt::DISCONNECT);
        CHECK(d.reason == 0x87);
        CHECK(c.wait_closed());
    }
    {
        // Refused at the first step of the re-authentication.
        WireClient c(b.port());
        REQUIRE(login(c, "reauth-bad-hello").reason == 0x00);
        REQUIRE(c.send(auth(0x19, kMethod, "bonjour")));
        Reply d = next(c);
        INFO(show(d));
        CHECK(d.type == pkt::DISCONNECT);
        CHECK(d.reason == 0x87);
        CHECK(c.wait_closed());
    }
    INFO(tail(b.log()));
    CHECK(b.wait_line({"fixture: client reauth-bad stage=2 CONTINUE data 'answer-9'", "wrong answer to nonce-2",
                       "DENY 0x87"}));
    CHECK(b.wait_line({"fixture: client reauth-bad-hello stage=3 REAUTH data 'bonjour'", "DENY 0x87"}));
    CHECK(!broker_lines_with(b.log(), {"client 'reauth-bad'", "re-authentication refused"}).empty());
    CHECK(!broker_lines_with(b.log(), {"client 'reauth-bad-hello'", "re-authentication refused"}).empty());
    // The broker is fine for everyone else.
    WireClient other(b.port());
    CHECK(login(other, "after-refusal").reason == 0x00);
}

TEST_CASE("AUTH with another method than CONNECT's: DISCONNECT 0x82 Protocol error") {
    PluginBroker b(challenge_setup());
    {
        WireClient c(b.port());
        REQUIRE(login(c, "switcher").reason == 0x00);
        REQUIRE(c.send(auth(0x19, "SCRAM-SHA-256", "hello")));
        Reply d = next(c);
        INFO(show(d));
        CHECK(d.type == pkt::DISCONNECT);
        CHECK(d.reason == 0x82);
        CHECK(c.wait_closed());
    }
    {
        // During the CONNECT exchange (before any CONNACK): no CONNACK 0x00, the connection closes.
        WireClient c(b.port());
        REQUIRE(c.send(connect_enhanced("switcher-early", kMethod, "hello")));
        REQUIRE(next(c).type == pkt::AUTH);
        REQUIRE(c.send(auth(0x18, "SCRAM-SHA-256", "answer-1")));
        auto p = c.read_packet();
        if (p) {
            Reply r = decode(*p);
            INFO(show(r));
            CHECK(r.reason >= 0x80);
        }
        CHECK(c.wait_closed());
    }
    {
        // Before the CONNACK a client may send only AUTH 0x18 or DISCONNECT (3.1.2.11.9, 4.12):
        // AUTH 0x19 (re-authenticate) or a PUBLISH in the middle of the exchange closes it.
        for (int bad = 0; bad < 2; bad++) {
            CAPTURE(bad);
            WireClient c(b.port());
            REQUIRE(c.send(connect_enhanced(bad ? "early-publish" : "early-reauth", kMethod, "hello")));
            REQUIRE(next(c).type == pkt::AUTH);
            REQUIRE(c.send(bad ? pkt::publish("eauth/early", "x", 0, 0, false, 5)
                               : auth(0x19, kMethod, "hello")));
            auto p = c.read_packet();
            if (p) {
                Reply r = decode(*p);
                INFO(show(r));
                CHECK(r.reason >= 0x80);
            }
            CHECK(c.wait_closed());
        }
    }
    {
        // A client that sent no method in CONNECT may send no AUTH at all (3.15, 4.12).
        WireClient c(b.port());
        REQUIRE(c.send(pkt::connect(pkt::conn(5, "no-method-auth"))));
        Reply ack = next(c);
        REQUIRE(ack.type == pkt::CONNACK);
        REQUIRE(ack.reason == 0x00);
        REQUIRE(c.send(auth(0x19, kMethod, "hello")));
        Reply d = next(c);
        INFO(show(d));
        CHECK(d.type == pkt::DISCONNECT);
        CHECK(d.reason == 0x82);
        CHECK(c.wait_closed());
    }
    INFO(tail(b.log()));
    CHECK(!broker_lines_with(b.log(), {"client 'switcher'", "different authentication method"}).empty());
    CHECK(!broker_lines_with(b.log(),
                             {"client 'no-method-auth'", "AUTH packet without an authentication method"})
               .empty());
    CHECK(!broker_lines_with(b.log(), {"early-reauth", "AUTH with reason 0x19"}).empty());
    CHECK(!broker_lines_with(b.log(), {"early-publish", "PUBLISH during authentication"}).empty());
    CHECK(lines_with(b.log(), {"fixture:", "SCRAM-SHA-256"}).empty());  // the plugin was never asked
}

TEST_CASE(
    "clients without a method: auth_challenge says NEXT, the listener's auth_default = allow lets them in") {
    PluginBroker b(challenge_setup());
    for (uint8_t version : {uint8_t(4), uint8_t(5)}) {
        CAPTURE(int(version));
        WireClient c(b.port());
        std::string id = version == 5 ? "plain5" : "plain4";
        REQUIRE(c.send(pkt::connect(pkt::conn(version, id))));
        auto p = c.read_until(pkt::CONNACK);
        REQUIRE(p);
        CHECK(p->reason() == 0x00);
        if (version == 5) {
            Reply ack = decode(*p);
            CHECK(ack.well_formed);
            CHECK(!ack.method);  // no method in CONNECT, none in CONNACK
            CHECK(!ack.data);
        }
        CHECK(b.wait_line({cat({"fixture: client ", id, " has no authentication method: NEXT"})}));
    }
    // A real client, with a username the plugin does not care about.
    auto r = run(pub(b, {"-t", "eauth/plain", "-m", "1", "-u", "someone", "-P", "x", "-V", "mqttv5"}));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    auto r4 = run(pub(b, {"-t", "eauth/plain", "-m", "1"}));
    CHECK_MESSAGE(r4.exit_code == 0, r4.err);

    // With auth_default = deny, the same clients are refused: the plugin only said NEXT.
    Setup deny = challenge_setup();
    deny.listeners[0].auth_default = "deny";
    PluginBroker strict(deny);
    WireClient c(strict.port());
    REQUIRE(c.send(pkt::connect(pkt::conn(5, "plain-denied"))));
    auto p = c.read_until(pkt::CONNACK);
    REQUIRE(p);
    CHECK(p->reason() == 0x87);
    // ... and the method still works there.
    WireClient e(strict.port());
    CHECK(login(e, "enhanced-on-strict").reason == 0x00);
}
