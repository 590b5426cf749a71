#include "tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstring>

#include "options.hpp"

namespace bench::tls {
namespace {

SSL_CTX* g_ctx = nullptr;  // the run's one client context (roost-bench is one thread)

std::string openssl_error() {
    char buf[256] = "unknown OpenSSL error";
    if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    return buf;
}

}  // namespace

struct Session {
    SSL* ssl = nullptr;
    ~Session() { SSL_free(ssl); }
};

void add_options(CLI::App& app, Options& o) {
    const std::string g = "TLS";
    auto* on =
        app.add_flag("--tls", o.tls, "Connect over TLS (the broker's TLS port, e.g. -p 8883)")->group(g);
    app.add_option("--cafile", o.tls_cafile,
                   "PEM CA file that verifies the broker (without it: not verified)")
        ->check(CLI::Validator(CLI::ExistingFile).description(""))
        ->needs(on)
        ->type_name("FILE")
        ->group(g);
    auto* cert = app.add_option("--cert", o.tls_cert, "PEM client certificate (for an mTLS listener)")
                     ->check(CLI::Validator(CLI::ExistingFile).description(""))
                     ->needs(on)
                     ->type_name("FILE")
                     ->group(g);
    auto* key = app.add_option("--key", o.tls_key, "PEM private key of --cert")
                    ->check(CLI::Validator(CLI::ExistingFile).description(""))
                    ->needs(on)
                    ->type_name("FILE")
                    ->group(g);
    cert->needs(key);
    key->needs(cert);
}

bool init(const Options& o, std::string& error) {
    if (!o.tls) return true;
    g_ctx = SSL_CTX_new(TLS_client_method());
    if (!g_ctx) {
        error = "TLS: " + openssl_error();
        return false;
    }
    // Partial writes: send() returns as soon as a record went, like a socket's short write, and
    // the caller may pass the same bytes from a moved buffer.
    SSL_CTX_set_mode(g_ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // One recv() for many records, not two (header, then body) per record: the generator must
    // not spend on syscalls what it should spend on load.
    SSL_CTX_set_read_ahead(g_ctx, 1);
    if (!o.tls_cafile.empty()) {
        if (SSL_CTX_load_verify_locations(g_ctx, o.tls_cafile.c_str(), nullptr) != 1) {
            error = "--cafile " + o.tls_cafile + ": " + openssl_error();
            return false;
        }
        SSL_CTX_set_verify(g_ctx, SSL_VERIFY_PEER, nullptr);
    }
    if (!o.tls_cert.empty()) {
        if (SSL_CTX_use_certificate_chain_file(g_ctx, o.tls_cert.c_str()) != 1 ||
            SSL_CTX_use_PrivateKey_file(g_ctx, o.tls_key.c_str(), SSL_FILETYPE_PEM) != 1) {
            error = "--cert/--key: " + openssl_error();
            return false;
        }
    }
    return true;
}

std::shared_ptr<Session> start(int fd, std::string& error) {
    auto s = std::make_shared<Session>();
    s->ssl = SSL_new(g_ctx);
    if (!s->ssl || SSL_set_fd(s->ssl, fd) != 1) {
        error = "TLS: " + openssl_error();
        return nullptr;
    }
    SSL_set_connect_state(s->ssl);
    return s;
}

namespace {
// -1 with errno: EAGAIN while TLS waits for the socket, EPROTO (and `error`) when it failed.
ssize_t would_block_or_fail(Session& s, int rc, std::string& error) {
    int code = SSL_get_error(s.ssl, rc);
    if (code == SSL_ERROR_WANT_READ || code == SSL_ERROR_WANT_WRITE) {
        errno = EAGAIN;
        return -1;
    }
    if (code == SSL_ERROR_ZERO_RETURN) return 0;
    if (code == SSL_ERROR_SYSCALL && errno != 0) {
        error = std::string("TLS: ") + std::strerror(errno);
        ERR_clear_error();
    } else {
        error = "TLS: " + openssl_error();
    }
    errno = EPROTO;
    return -1;
}
}  // namespace

ssize_t send(Session& s, const void* data, size_t len, std::string& error) {
    size_t n = 0;
    int rc = SSL_write_ex(s.ssl, data, len, &n);
    return rc == 1 ? static_cast<ssize_t>(n) : would_block_or_fail(s, rc, error);
}

ssize_t recv(Session& s, void* data, size_t len, std::string& error) {
    size_t n = 0;
    int rc = SSL_read_ex(s.ssl, data, len, &n);
    if (rc == 1) return static_cast<ssize_t>(n);
    ssize_t r = would_block_or_fail(s, rc, error);
    if (r == 0 || (r < 0 && errno == EPROTO && error.find("unexpected eof") != std::string::npos)) return 0;
    return r;
}

bool pending(const Session& s) {
    return SSL_has_pending(s.ssl) == 1;
}

}  // namespace bench::tls
