// TLS listeners (issue 9): mosquitto_pub/_sub over TLS with and without client certificates, an
// untrusted certificate refused, a plain-TCP client and a stalled handshake on the TLS port each
// closed with a log line while a TLS client carries on, the certificate's CN as the user name,
// the subject read by an auth plugin, a SIGHUP certificate reload with clients connected, and
// the transport_xor fixture over TLS (socket -> TLS -> transport -> MQTT, the layering wss uses),
// and KeyUpdate floods (closed after 32 in a row; unread answers bounded by max_output_buffer).
// Certificates are made by the test with the `openssl` CLI (tls_support.cpp).
#include <signal.h>

#include <doctest/doctest.h>

#include <filesystem>

#include "tls_support.hpp"

using namespace roost_tls;

namespace {

// Listener 0: plain MQTT (for the clients that check the TLS port did not disturb anyone);
// listener 1: TLS with `lines`.
Setup tls_setup(std::vector<std::string> lines) {
    Setup s;
    s.listeners[0].auth_default = "allow";
    s.listeners.push_back(ListenerSpec{"", "allow", "", 0});
    s.listener_lines = {{}, tls_lines(std::move(lines))};
    return s;
}

// The keys of an mTLS listener: client certificates from the test CA, required.
std::vector<std::string> mtls_lines() {
    return {"tls_ca_file = \"" + certs().ca + "\"", "require_client_cert = true"};
}

}  // namespace

TEST_CASE("mosquitto_pub and mosquitto_sub over TLS with --cafile") {
    PluginBroker b(tls_setup({}));
    CHECK_MESSAGE(b.wait_line({"listening on", b.port_str(1), "MQTT over TLS"}), tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"TLS certificate subject CN=broker-1, serial 1001"}), tail(b.log()));
    Sub s(b, tls_args({"-t", "tls/#", "-C", "2", "-W", "10"}), 1);
    REQUIRE_MESSAGE(s.wait_subscribed(), s.process().err() << tail(b.log()));
    auto r = run(pub(b, tls_args({"-t", "tls/one", "-m", "over-tls", "-q", "1"}), 1));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    // A plain publisher reaches the TLS subscriber too: one broker behind both listeners.
    r = run(pub(b, {"-t", "tls/two", "-m", "from-tcp", "-q", "1", "-V", "mqttv5"}, 0));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(s.finish() == std::vector<std::string>{"tls/one|over-tls", "tls/two|from-tcp"});
    // Without the CA the client refuses the broker's certificate (it checks, as it should).
    r = run(pub(b, {"-t", "tls/x", "-m", "1", "--capath", "/nonexistent"}, 1), 10s);
    CHECK(r.exit_code != 0);
}

TEST_CASE("mTLS: a client certificate is required; an untrusted one is refused with a log line") {
    std::vector<std::string> lines = mtls_lines();
    lines.push_back("use_identity_as_username = \"cn\"");
    PluginBroker b(tls_setup(lines));
    const Certs& c = certs();

    // With the client certificate: pub/sub work, and the user name is the certificate's CN.
    Sub s(b, tls_args({"-t", "m/#", "-C", "1", "-W", "10", "-i", "mtls-sub"}, c.client_cert, c.client_key),
          1);
    REQUIRE_MESSAGE(s.wait_subscribed(), s.process().err() << tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"mtls-sub", "user 'dev1'"}), tail(b.log()));
    auto r = run(
        pub(b, tls_args({"-t", "m/1", "-m", "with-cert", "-u", "claimed"}, c.client_cert, c.client_key), 1));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(s.finish() == std::vector<std::string>{"m/1|with-cert"});
    CHECK_MESSAGE(lines_with(b.log(), {"user 'claimed'"}).empty(), tail(b.log()));

    // Without a certificate: the handshake fails, with a line naming the peer and the reason.
    size_t from = b.log_size();
    r = run(pub(b, tls_args({"-t", "m/2", "-m", "no-cert"}), 1), 10s);
    CHECK(r.exit_code != 0);
    CHECK_MESSAGE(b.wait_line({"TLS handshake with 127.0.0.1:", "failed", "certificate"}, 3s, from),
                  tail(b.log()));

    // A certificate from a CA the broker does not trust.
    from = b.log_size();
    r = run(pub(b, tls_args({"-t", "m/3", "-m", "rogue"}, c.rogue_cert, c.rogue_key), 1), 10s);
    CHECK(r.exit_code != 0);
    CHECK_MESSAGE(
        b.wait_line({"TLS handshake with 127.0.0.1:", "failed", "certificate verify failed"}, 3s, from),
        tail(b.log()));
    CHECK(b.running());
}

TEST_CASE("a plain-TCP client and a stalled handshake on the TLS port are closed; a TLS client carries on") {
    PluginBroker b(tls_setup({"tls_handshake_timeout = 1"}));
    Sub s(b, tls_args({"-t", "keep/#", "-C", "2", "-W", "15"}), 1);
    REQUIRE_MESSAGE(s.wait_subscribed(), s.process().err() << tail(b.log()));

    // Plain MQTT on the TLS port: OpenSSL's reason in one line naming the peer.
    size_t from = b.log_size();
    WireClient plain(b.port(1));
    REQUIRE(plain.send(connect_with(4, "plain-on-tls", std::nullopt, std::nullopt)));
    CHECK(plain.wait_closed(5s));
    CHECK_MESSAGE(b.wait_line({"TLS handshake with 127.0.0.1:", "failed"}, 3s, from), tail(b.log()));
    auto r = run(pub(b, tls_args({"-t", "keep/1", "-m", "after-plain"}), 1));
    CHECK_MESSAGE(r.exit_code == 0, r.err);

    // The first bytes of a ClientHello, then nothing: closed by tls_handshake_timeout.
    from = b.log_size();
    WireClient stalled(b.port(1));
    REQUIRE(stalled.send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
    CHECK(stalled.wait_closed(5s));
    CHECK_MESSAGE(b.wait_line({"TLS handshake with 127.0.0.1:", "not finished within 1 s"}, 3s, from),
                  tail(b.log()));
    r = run(pub(b, tls_args({"-t", "keep/2", "-m", "after-stall"}), 1));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(s.finish() == std::vector<std::string>{"keep/1|after-plain", "keep/2|after-stall"});
    CHECK(b.running());
}

// A stalled ClientHello used to cost an SSL with its read and handshake buffers, about 41 KB; no
// SSL is made now until the first record is whole, so it costs what the client sent.
TEST_CASE("stalled ClientHellos cost what they sent; a ClientHello in a hundred pieces still connects") {
    PluginBroker b(tls_setup({"tls_handshake_timeout = 30"}));
    {
        TlsClient warm(b.port(1));  // OpenSSL's one-time allocations, before the baseline
        REQUIRE_MESSAGE(warm.connected(), warm.error());
    }
    const size_t before = resident_bytes(b.pid());
    constexpr int kStalled = 300;
    std::vector<std::unique_ptr<WireClient>> stalled;
    for (int i = 0; i < kStalled; ++i) {
        stalled.push_back(std::make_unique<WireClient>(b.port(1)));
        // A handshake record announcing 512 bytes, and the first 6 of them.
        REQUIRE(stalled.back()->send(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)));
    }
    // Every one of them reached the broker: a TLS client after them is served.
    TlsClient split(b.port(1), 0, "", "", true);
    REQUIRE_MESSAGE(split.connected(), split.error() << tail(b.log()));
    REQUIRE(split.send(connect_with(4, "split-hello", std::nullopt, std::nullopt)));
    auto ack = split.read_until(pkt::CONNACK);
    REQUIRE_MESSAGE(ack, tail(b.log()));
    CHECK(int(static_cast<uint8_t>(ack->body.at(1))) == 0);
    const size_t after = resident_bytes(b.pid());
    MESSAGE("RSS before " << before / 1024 << " KiB, with " << kStalled << " stalled ClientHellos "
                          << after / 1024 << " KiB");
    CHECK(after < before + memory_bound(kStalled * 8 * 1024));
    CHECK_FALSE(stalled.front()->wait_closed(100ms));  // still waiting for the rest, not refused
    CHECK_FALSE(stalled.back()->wait_closed(100ms));
    CHECK(b.running());
}

TEST_CASE("an auth plugin reads the client certificate's subject through client_attribute") {
    Setup setup = tls_setup(mtls_lines());
    setup.listeners[1].auth_default = "";
    setup.plugins.push_back({ROOST_PLUGIN_AUTH_TLS_SUBJECT, {{"allow", "CN=dev1,O=Acme"}}});
    PluginBroker b(std::move(setup));
    const Certs& c = certs();
    auto r =
        run(pub(b, tls_args({"-t", "a/1", "-m", "1", "-i", "subject-ok"}, c.client_cert, c.client_key), 1));
    CHECK_MESSAGE(r.exit_code == 0, r.err << tail(b.log()));
    CHECK_MESSAGE(b.wait_line({"fixture: client subject-ok tls=TLSv1.3 subject 'CN=dev1,O=Acme': ALLOW"}),
                  tail(b.log()));
    // The same plugin on the plain listener finds no certificate and denies.
    r = run(pub(b, {"-t", "a/2", "-m", "1", "-i", "no-subject"}, 0));
    CHECK(r.exit_code != 0);
    CHECK_MESSAGE(b.wait_line({"fixture: client no-subject tls=none has no certificate subject: DENY"}),
                  tail(b.log()));
}

TEST_CASE("SIGHUP reloads the certificate; connected clients stay, new ones see the new certificate") {
    const Certs& c = certs();
    // The broker's certificate files live where the test can replace them.
    std::string cert = temp_path("live.crt"), key = temp_path("live.key");
    std::filesystem::copy_file(c.server_cert, cert, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(c.server_key, key, std::filesystem::copy_options::overwrite_existing);
    Setup setup = tls_setup({});
    setup.listener_lines[1] = tls_lines({}, cert, key);
    PluginBroker b(std::move(setup));

    Sub s(b, tls_args({"-t", "r/#", "-C", "2", "-W", "15"}), 1);
    REQUIRE_MESSAGE(s.wait_subscribed(), s.process().err() << tail(b.log()));
    auto r = run(pub(b, tls_args({"-t", "r/1", "-m", "before"}), 1));
    CHECK_MESSAGE(r.exit_code == 0, r.err);

    // A broken key first: the listener keeps its certificate and says why.
    size_t from = b.log_size();
    write_file(key, "not a key\n");
    b.signal(SIGHUP);
    CHECK_MESSAGE(
        b.wait_line({"SIGHUP: listener 127.0.0.1:" + b.port_str(1), "keeps its TLS certificate"}, 5s, from),
        tail(b.log()));
    auto s_client = [&] {
        return run({"sh", "-c",
                    "openssl s_client -connect 127.0.0.1:" + b.port_str(1) + " -CAfile " + c.ca +
                        " </dev/null 2>&1 | grep -E 'subject=|Verify return code'"},
                   10s)
            .out;
    };
    CHECK(contains_ci(s_client(), "CN = broker-1"));

    // Then the new certificate and key.
    from = b.log_size();
    std::filesystem::copy_file(c.server2_cert, cert, std::filesystem::copy_options::overwrite_existing);
    std::filesystem::copy_file(c.server2_key, key, std::filesystem::copy_options::overwrite_existing);
    b.signal(SIGHUP);
    CHECK_MESSAGE(b.wait_line({"SIGHUP: listener 127.0.0.1:" + b.port_str(1),
                               "new TLS certificate for new connections", "CN=broker-2", "serial 2002"},
                              5s, from),
                  tail(b.log()));
    std::string seen = s_client();
    CHECK_MESSAGE(contains_ci(seen, "CN = broker-2"), seen);
    CHECK_MESSAGE(contains_ci(seen, "Verify return code: 0 (ok)"), seen);

    // The subscriber connected before both reloads still receives.
    r = run(pub(b, tls_args({"-t", "r/2", "-m", "after"}), 1));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK(s.finish() == std::vector<std::string>{"r/1|before", "r/2|after"});
}

TEST_CASE("transport_xor over TLS: socket -> TLS -> transport -> MQTT") {
    constexpr uint8_t kKey = 0x5a;
    Setup setup = tls_setup({});
    setup.listeners[1].transport = "xor";
    setup.plugins.push_back({ROOST_PLUGIN_TRANSPORT_XOR, {{"name", "xor"}, {"key", "0x5a"}}});
    PluginBroker b(std::move(setup));
    CHECK_MESSAGE(b.wait_line({"listening on", b.port_str(1), "transport 'xor' over TLS"}), tail(b.log()));

    TlsClient x(b.port(1), kKey);
    REQUIRE_MESSAGE(x.connected(), x.error());
    REQUIRE(x.send(connect_with(5, "xor-over-tls", std::nullopt, std::nullopt)));
    auto ack = x.read_until(pkt::CONNACK);
    REQUIRE_MESSAGE(ack, tail(b.log()));
    CHECK(ack->reason() == 0x00);
    // The transport opened after the handshake: its open() ran once, on this connection.
    CHECK_MESSAGE(b.wait_line({"transport_xor", "fixture: open, attribute xor.key=90 rc=0"}), tail(b.log()));

    REQUIRE(x.send(pkt::subscribe(1, "x/#", 1, 5)));
    REQUIRE(x.read_until(pkt::SUBACK));
    auto r = run(pub(b, {"-t", "x/down", "-m", "to-xor-tls", "-q", "1"}, 0));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    auto msg = x.read_until(pkt::PUBLISH);
    REQUIRE_MESSAGE(msg, tail(b.log()));
    CHECK(msg->publish_payload(5) == "to-xor-tls");
    REQUIRE(x.send(pkt::ack(pkt::PUBACK, msg->packet_id_after_topic())));

    Sub plain(b, {"-t", "x/up"}, 0);
    REQUIRE(plain.wait_subscribed());
    REQUIRE(x.send(pkt::publish("x/up", "from-xor-tls", 1, 2, false, 5)));
    REQUIRE(x.read_until(pkt::PUBACK));
    REQUIRE(plain.wait_messages(1));
    CHECK(plain.messages() == std::vector<std::string>{"x/up|from-xor-tls"});

    // More than one TLS record and more than one read, both ways.
    std::string big(100000, 'B');
    REQUIRE(x.send(pkt::publish("x/big", big, 1, 3, false, 5)));
    auto bigmsg = x.read_until(pkt::PUBLISH, 5s);
    REQUIRE(bigmsg);
    CHECK(bigmsg->publish_payload(5) == big);

    // A plain (non-TLS) XOR client on that port gets no further than the TLS handshake.
    size_t from = b.log_size();
    WireClient raw(b.port(1), kKey);
    REQUIRE(raw.send(connect_with(5, "xor-no-tls", std::nullopt, std::nullopt)));
    CHECK(raw.wait_closed(5s));
    CHECK_MESSAGE(b.wait_line({"TLS handshake with 127.0.0.1:", "failed"}, 3s, from), tail(b.log()));
    CHECK_MESSAGE(lines_with(b.log(), {"fixture: WRONG"}).empty(), tail(b.log()));
}

TEST_CASE("an unfinished handshake counts against [limits] max_pending_connects") {
    Setup setup = tls_setup({"tls_handshake_timeout = 3"});
    setup.broker.push_back("[limits]");
    setup.broker.push_back("max_pending_connects = 1");
    PluginBroker b(std::move(setup));
    settle(300ms);  // the harness's start-up probes of the ports are closed (they were pending too)
    WireClient stalled(b.port(1));
    REQUIRE(stalled.send(std::string("\x16\x03\x01\x02\x00\x01", 6)));
    REQUIRE_FALSE(stalled.wait_closed(200ms));  // it holds the slot
    // The stalled handshake holds the one pending slot: the next connection is refused at once.
    size_t from = b.log_size();
    auto r = run(pub(b, tls_args({"-t", "p/1", "-m", "refused"}), 1), 10s);
    CHECK(r.exit_code != 0);
    CHECK_MESSAGE(b.wait_line({"over [limits] max_pending_connects = 1"}, 3s, from), tail(b.log()));
    // Once the handshake timeout closed it, the slot is free again.
    CHECK(stalled.wait_closed(5s));
    r = run(pub(b, tls_args({"-t", "p/2", "-m", "accepted"}), 1));
    CHECK_MESSAGE(r.exit_code == 0, r.err << tail(b.log()));
}

TEST_CASE("use_identity_as_username = \"san\": the first DNS, email or URI name is the user") {
    std::vector<std::string> lines = mtls_lines();
    lines.push_back("use_identity_as_username = \"san\"");
    PluginBroker b(tls_setup(lines));
    const Certs& c = certs();
    auto r =
        run(pub(b, tls_args({"-t", "s/1", "-m", "1", "-i", "san-user"}, c.client_cert, c.client_key), 1));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
    CHECK_MESSAGE(b.wait_line({"san-user", "user 'dev1.example.com'"}), tail(b.log()));
}

TEST_CASE("transport backpressure over TLS: conn_backlog counts TLS records; pause and drained() work") {
    Setup setup = tls_setup({});
    setup.listeners[1].transport = "flow";
    setup.plugins.push_back({ROOST_PLUGIN_TRANSPORT_FLOW, {{"high", "65536"}}});
    PluginBroker b(std::move(setup));
    TlsClient slow(b.port(1));
    REQUIRE_MESSAGE(slow.connected(), slow.error());
    REQUIRE(slow.send(connect_with(4, "slow-tls", std::nullopt, std::nullopt)));
    REQUIRE(slow.read_until(pkt::CONNACK));
    REQUIRE(slow.send(pkt::subscribe(1, "flood/#", 0, 4)));
    REQUIRE(slow.read_until(pkt::SUBACK));

    // The subscriber stops reading while a plain publisher floods it (as it_22 does over TCP).
    WireClient p(b.port(0));
    REQUIRE(p.send(connect_with(4, "flooder", std::nullopt, std::nullopt)));
    REQUIRE(p.read_until(pkt::CONNACK));
    std::string burst;
    for (int i = 0; i < 16; i++)
        burst += pkt::publish("flood/a", std::string(32 * 1024, 'x'), 0);
    auto count = [&](const char* what) { return lines_with(b.log(), {what}).size(); };
    bool held = false;
    for (int round = 0; round < 200 && !held; round++) {
        REQUIRE(p.send(burst));
        settle(20ms);
        held = count("fixture: paused at backlog") > count("fixture: resumed after drain (backlog 0) rc=0");
    }
    REQUIRE_MESSAGE(held, tail(b.log()));
    // The subscriber reads everything: the TLS backlog drains, drained() resumes reading.
    bool resumed = false;
    for (int round = 0; round < 40 && !resumed; round++) {
        while (slow.read_packet(300ms)) {
        }
        resumed =
            count("fixture: paused at backlog") == count("fixture: resumed after drain (backlog 0) rc=0");
    }
    REQUIRE_MESSAGE(resumed, tail(b.log()));
    REQUIRE(slow.send(pkt::pingreq()));
    CHECK(slow.read_until(pkt::PINGRESP, 5s));
}

// A TLS 1.3 client may ask the broker to update its keys (KeyUpdate), and the broker answers
// each request with a KeyUpdate of its own: a key derivation each way and a record to send that
// the broker's own output bound never saw. Found in session 14: a client that sent them in a loop
// and never read kept a worker busy and grew the broker by its answers until send_timeout (here
// 354,000 KeyUpdates in 18 s, RSS 5 MB up). Now 33 in a row without data close the connection, and
// answers a client does not read stop its reading past [limits] max_output_buffer.
TEST_CASE("TLS KeyUpdate floods: 33 in a row close the connection; unread answers are bounded") {
    Setup setup = tls_setup({});
    // A long send_timeout: the flood below must meet the output bound, not the timeout.
    setup.broker = {"[limits]", "max_output_buffer = 65536", "send_timeout = 300"};
    PluginBroker b(std::move(setup));
    WireClient canary(b.port(0));
    REQUIRE(canary.send(connect_with(4, "canary", std::nullopt, std::nullopt)));
    REQUIRE(canary.read_until(pkt::CONNACK));
    REQUIRE(canary.send(pkt::subscribe(1, "canary/#", 0, 4)));
    REQUIRE(canary.read_until(pkt::SUBACK));
    int n = 0;
    auto check_canary = [&] {
        std::string payload = "alive " + std::to_string(++n);
        auto r = run(pub(b, tls_args({"-t", "canary/x", "-m", payload}), 1));
        REQUIRE_MESSAGE(r.exit_code == 0, r.err << tail(b.log()));
        auto p = canary.read_until(pkt::PUBLISH, 5s);
        REQUIRE_MESSAGE(p, tail(b.log()));
    };

    // Key updates now and then, with data between them, are what TLS 1.3 allows: served.
    TlsClient fair(b.port(1));
    REQUIRE_MESSAGE(fair.connected(), fair.error());
    REQUIRE(fair.send(connect_with(4, "fair-tls", std::nullopt, std::nullopt)));
    REQUIRE(fair.read_until(pkt::CONNACK));
    for (int i = 0; i < 40; i++) {
        REQUIRE(fair.key_update());
        REQUIRE(fair.send(pkt::pingreq()));
        REQUIRE_MESSAGE(fair.read_until(pkt::PINGRESP), tail(b.log()));
    }

    // 40 in a row: closed after the 33rd, with a line that names the peer and the cause.
    size_t from = b.log_size();
    TlsClient flood(b.port(1));
    REQUIRE_MESSAGE(flood.connected(), flood.error());
    REQUIRE(flood.send(connect_with(4, "flood-tls", std::nullopt, std::nullopt)));
    REQUIRE(flood.read_until(pkt::CONNACK));
    for (int i = 0; i < 40; i++)
        flood.key_update();
    CHECK(flood.wait_closed(5s));
    CHECK_MESSAGE(b.wait_line({"TLS error from 127.0.0.1:", "more than 32 KeyUpdate"}, 3s, from),
                  tail(b.log()));
    check_canary();

    // 16 at a time between QoS 0 PUBLISHes nobody receives (so the broker itself sends nothing),
    // never reading: once the kernel's buffers are full the answers queue in the broker, which
    // stops reading this client past max_output_buffer, so its writes block.
    from = b.log_size();
    TlsClient deaf(b.port(1));
    REQUIRE_MESSAGE(deaf.connected(), deaf.error());
    REQUIRE(deaf.send(connect_with(4, "deaf-tls", std::nullopt, std::nullopt)));
    REQUIRE(deaf.read_until(pkt::CONNACK));
    deaf.set_send_timeout(1s);
    const std::string publish = pkt::publish("nobody/here", "x", 0);
    bool blocked = false;
    long sent = 0;
    // The canary's keep alive (60 s) must outlast the flood, which a sanitizer build on a loaded
    // machine stretches to minutes.
    auto canary_pinged = std::chrono::steady_clock::now();
    auto keep_canary_alive = [&] {
        if (std::chrono::steady_clock::now() - canary_pinged < 10s) return;
        REQUIRE(canary.send(pkt::pingreq()));
        canary_pinged = std::chrono::steady_clock::now();
    };
    auto deadline = std::chrono::steady_clock::now() + 100s;  // about 110,000 KeyUpdates fill the buffers
    while (!blocked && std::chrono::steady_clock::now() < deadline) {
        for (int i = 0; i < 16 && !blocked; i++, sent++)
            blocked = !deaf.key_update();
        blocked = blocked || !deaf.send(publish);
        keep_canary_alive();
    }
    MESSAGE(sent << " KeyUpdates sent before the broker stopped reading");
    REQUIRE_MESSAGE(blocked, "the broker read KeyUpdates for 100 s; log:\n" << tail(b.log()));
    // A write also blocks for a second when the broker is merely slower than the flood (a
    // sanitizer build on a loaded machine): it still has KeyUpdates to read, and reaches the
    // bound as it works through them.
    bool bounded = false;
    for (int i = 0; i < 12 && !bounded; i++) {
        bounded = b.wait_line({"does not read what TLS answers"}, 5s, from);
        keep_canary_alive();
    }
    CHECK(bounded);
    auto lines = lines_with(b.log().substr(from), {"does not read what TLS answers"});
    REQUIRE_MESSAGE(lines.size() == 1, tail(b.log()));
    // What waited in the broker when it stopped reading: the bound and at most one read's answers.
    size_t at = lines[0].find(" bytes unsent");
    REQUIRE(at != std::string::npos);
    size_t start = lines[0].rfind('(', at);
    const size_t unsent = std::stoul(lines[0].substr(start + 1, at - start - 1));
    MESSAGE("queued when reading stopped: " << unsent << " bytes");
    CHECK(unsent > 65536);
    CHECK(unsent < 65536 + 256 * 1024);
    check_canary();
    CHECK(b.running());
}
