// A TLS listener's OpenSSL context (SSL_CTX), built from its [[listener]] tls_* keys, and the slot
// that hands the current one to new handshakes and takes a new one on SIGHUP.
//
// Ownership and threads: a TlsContext is immutable once load() returned; it is shared
// (shared_ptr<const>) between the slot and whoever asks for it, and every SSL made from it holds
// its own reference to the SSL_CTX (SSL_new counts it), so a connection keeps the context it
// started with after a reload, and the last one to go frees it. OpenSSL allows SSL_new on one
// SSL_CTX from several threads as long as nobody changes the SSL_CTX, and nobody does: a reload
// builds a new one.
#pragma once
#include <openssl/ssl.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>

#include "config/config.hpp"

namespace roost::net {

// A TLS setting that does not load: names the key, the file and OpenSSL's reason.
class TlsError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class TlsContext {
  public:
    // Builds the context: certificate chain and key (checked to match), CA file/dir when given,
    // minimum version, ciphers, client-certificate policy. Throws TlsError.
    static std::shared_ptr<const TlsContext> load(const TlsConfig& config);
    ~TlsContext();
    TlsContext(const TlsContext&) = delete;
    TlsContext& operator=(const TlsContext&) = delete;

    SSL_CTX* get() const { return _ctx; }
    // The server certificate, for the log: "subject CN=broker, serial 1A2B, expires 2027-01-01".
    const std::string& summary() const { return _summary; }

  private:
    TlsContext() = default;
    SSL_CTX* _ctx = nullptr;
    std::string _summary;
};

// The context a listener's new connections use. current() is called on the connection's worker
// (any worker thread) at each accepted connection, replace() on worker 0 at SIGHUP; `_mutex`
// guards `_current` and nothing else (held only for a shared_ptr copy).
class TlsContextSlot {
  public:
    explicit TlsContextSlot(std::shared_ptr<const TlsContext> first) : _current(std::move(first)) {}
    std::shared_ptr<const TlsContext> current() const {
        std::lock_guard lock(_mutex);
        return _current;
    }
    void replace(std::shared_ptr<const TlsContext> next) {
        std::lock_guard lock(_mutex);
        _current.swap(next);
        // `next` (the old context) is released outside the lock, when it leaves scope.
    }

  private:
    mutable std::mutex _mutex;
    std::shared_ptr<const TlsContext> _current;
};

// OpenSSL's reasons queued on this thread, "; "-joined (and the queue emptied); `fallback` when
// none is queued.
std::string openssl_errors(const char* fallback = "unknown error");

}  // namespace roost::net
