// One connection's TLS session, over bytes the Connection moves (DESIGN.md: socket -> TLS ->
// transport filter -> MQTT). OpenSSL never sees the socket: its BIO reads the ciphertext of the
// current libuv read straight from that read's buffer, and writes ciphertext straight into the
// queue the Connection sends, so TLS adds no buffer of its own and works on any libuv stream.
//
// Memory: no SSL exists until the client's first record (its ClientHello) has arrived whole. Its
// bytes wait in a buffer of their own size, so a client that opens a TLS connection and stalls
// costs what it sent, not an SSL with its read and handshake buffers (about 41 KB).
//
// Lifetime and threads: made on the connection's worker, when the worker takes the connection
// (the SSL is never touched by another thread), destroyed with the Connection. It holds a
// reference to the listener's SSL_CTX, so a SIGHUP reload before the first record is harmless.
#pragma once
#include <openssl/ssl.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "net/output_queue.hpp"

namespace roost::net {

class TlsStream {
  public:
    // A server-side TLS session on `ctx` (a reference is taken); its SSL is made when the first
    // record is whole. Check ok().
    explicit TlsStream(SSL_CTX* ctx);
    ~TlsStream();
    TlsStream(const TlsStream&) = delete;
    TlsStream& operator=(const TlsStream&) = delete;
    bool ok() const { return _ctx != nullptr; }

    enum class Result {
        Handshaking,  // more bytes are needed before the handshake is done
        Open,         // established; plaintext (if any) was appended
        PeerClosed,   // the peer sent close_notify
        Failed,       // handshake or record error: error() says why
    };
    // Ciphertext read from the socket, all of it consumed before this returns: drives the
    // handshake while it lasts, then decrypts into `plain` (appended). Whatever TLS has to send
    // (handshake flights, alerts, session tickets) is appended to `wire`.
    Result receive(std::span<const uint8_t> cipher, std::vector<uint8_t>& plain, OutputQueue& wire);
    // Encrypts `plain` into records appended to `wire` (after the handshake). False on failure.
    bool send(std::span<const uint8_t> plain, OutputQueue& wire);
    // Appends a close_notify alert to `wire` (a clean end the peer can tell from a cut).
    void shutdown(OutputQueue& wire);

    bool established() const { return _established; }
    const SSL* ssl() const { return _ssl; }  // null until the first record arrived whole
    // Why the last call failed: OpenSSL's reason, with the certificate check's when it failed.
    const std::string& error() const { return _error; }

    // KeyUpdates a client may send in a row without data between them: each costs a key
    // derivation and, when it asks for ours, an answer; a flood of them is refused (BoringSSL's
    // bound, 32). A TLS 1.2 renegotiation is refused by OpenSSL with a warning alert (output
    // that max_output_buffer bounds; OpenSSL drops the ClientHello before this count sees it).
    static constexpr unsigned kMaxKeyUpdatesWithoutData = 32;

  private:
    friend struct TlsBio;
    static void on_message(int write_p, int version, int content_type, const void* buf, size_t len, SSL* ssl,
                           void* arg);
    std::string failure(int rc);  // the reason for SSL_get_error(rc), OpenSSL's queue emptied
    bool make_ssl();              // the SSL on _ctx, reading and writing through TlsBio

    SSL_CTX* _ctx = nullptr;
    SSL* _ssl = nullptr;
    std::vector<uint8_t> _first_record;  // its bytes so far, while no SSL exists
    bool _established = false;
    std::span<const uint8_t> _in;  // ciphertext not yet taken by OpenSSL
    OutputQueue* _out = nullptr;   // where OpenSSL's output goes, during a call
    std::string _error;
    unsigned _key_updates_without_data = 0;  // KeyUpdates received since the last data
};

}  // namespace roost::net
