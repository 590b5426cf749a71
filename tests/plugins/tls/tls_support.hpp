// What the TLS tests need besides the plugin harness: certificates made with the `openssl` CLI
// into the test's temporary folder, and a raw MQTT client over TLS (OpenSSL, blocking) that can
// XOR its bytes, for transport_xor over TLS (the layering `wss` uses).
#pragma once
#include <openssl/ssl.h>

#include <optional>
#include <string>

#include "plugin_harness.hpp"

namespace roost_tls {

using namespace roost_pt;

// Made once per test process: a CA, the broker's certificate from it (CN=broker-1, serial 0x1001,
// SAN IP:127.0.0.1 and DNS:localhost), a second one (CN=broker-2, serial 0x2002) for reloads, a
// client certificate (CN=dev1,O=Acme, SAN DNS:dev1.example.com and URI:spiffe://acme/dev1), and
// a client certificate from another CA the broker does not trust (CN=mallory).
struct Certs {
    std::string dir;
    std::string ca;                         // ca.crt
    std::string server_cert, server_key;    // broker-1
    std::string server2_cert, server2_key;  // broker-2
    std::string client_cert, client_key;    // dev1, signed by ca
    std::string rogue_cert, rogue_key;      // mallory, signed by an untrusted CA
};
const Certs& certs();

// [[listener]] lines for TLS with `cert`/`key` (default: broker-1) and more keys after.
std::vector<std::string> tls_lines(std::vector<std::string> more = {}, const std::string& cert = "",
                                   const std::string& key = "");

// mosquitto_pub / _sub arguments for TLS with the test CA (and a client certificate when given).
std::vector<std::string> tls_args(std::vector<std::string> args, const std::string& cert = "",
                                  const std::string& key = "");

// A raw TLS client on 127.0.0.1 trusting the test CA; bytes XORed with `key` both ways (0: none).
class TlsClient {
  public:
    // `trickle`: the handshake's bytes go out three at a time, 2 ms apart (a ClientHello the
    // broker receives in a hundred reads, its record header split too).
    TlsClient(uint16_t port, uint8_t key = 0, const std::string& cert = "", const std::string& cert_key = "",
              bool trickle = false);
    ~TlsClient();
    TlsClient(const TlsClient&) = delete;
    TlsClient& operator=(const TlsClient&) = delete;

    bool connected() const { return _ssl != nullptr; }
    const std::string& error() const { return _error; }  // why the handshake failed
    bool send(std::string_view bytes);
    std::optional<Packet> read_packet(Millis timeout = 3s);
    std::optional<Packet> read_until(uint8_t type, Millis timeout = 3s);
    // A TLS 1.3 KeyUpdate that asks the broker to update its keys too (it answers with one).
    // False when it could not be written (closed, or blocked past the send timeout).
    bool key_update();
    // How long a write may block (5 s from the start).
    void set_send_timeout(Millis timeout);
    // True once the broker closed the connection (EOF, reset or a TLS alert) within `timeout`;
    // what it sent before is dropped.
    bool wait_closed(Millis timeout = 3s);

  private:
    enum class ReadResult { data, again, closed };
    // Waits until `deadline` for bytes and appends what one read decrypts (un-XORed) to `into`.
    ReadResult read_some(std::chrono::steady_clock::time_point deadline, std::string& into);

    static int trickle_write(BIO* b, const char* in, int len);

    int _fd = -1;
    bool _trickling = false;  // the handshake's writes, with `trickle`
    SSL_CTX* _ctx = nullptr;
    SSL* _ssl = nullptr;
    uint8_t _key = 0;
    std::string _buf;  // received, decrypted and un-XORed
    std::string _error;
};

}  // namespace roost_tls
