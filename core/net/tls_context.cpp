#include "net/tls_context.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <fmt/format.h>

#include "net/tls_peer.hpp"

namespace roost::net {

std::string openssl_errors(const char* fallback) {
    std::string text;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!text.empty()) text += "; ";
        // "error:0A000086:SSL routines::certificate verify failed" -> the part after the last
        // "::" or ':' reads best in a log line, but the code helps a search: keep both.
        text += buf;
    }
    return text.empty() ? fallback : text;
}

namespace {

std::string describe_certificate(SSL_CTX* ctx) {
    X509* cert = SSL_CTX_get0_certificate(ctx);
    if (!cert) return "no certificate";
    const ASN1_TIME* not_after = X509_get0_notAfter(cert);
    std::string expires = "?";
    if (BIO* b = BIO_new(BIO_s_mem())) {
        if (ASN1_TIME_print(b, not_after) == 1) {
            char* data = nullptr;
            long n = BIO_get_mem_data(b, &data);
            expires.assign(data, static_cast<size_t>(n));
        }
        BIO_free(b);
    }
    return fmt::format("subject {}, serial {}, expires {}", name_rfc4514(X509_get_subject_name(cert)),
                       serial_hex(cert), expires);
}

}  // namespace

TlsContext::~TlsContext() {
    SSL_CTX_free(_ctx);
}

std::shared_ptr<const TlsContext> TlsContext::load(const TlsConfig& config) {
    ERR_clear_error();
    std::shared_ptr<TlsContext> self(new TlsContext);
    SSL_CTX* ctx = self->_ctx = SSL_CTX_new(TLS_server_method());
    if (!ctx) throw TlsError("cannot create an OpenSSL context: " + openssl_errors());
    auto fail = [](const std::string& what) { throw TlsError(what + ": " + openssl_errors()); };

    if (SSL_CTX_set_min_proto_version(ctx, config.min_version) != 1) fail("tls_min_version");
    if (SSL_CTX_use_certificate_chain_file(ctx, config.cert_file.c_str()) != 1)
        fail("tls_cert_file '" + config.cert_file + "' does not load");
    if (SSL_CTX_use_PrivateKey_file(ctx, config.key_file.c_str(), SSL_FILETYPE_PEM) != 1)
        fail("tls_key_file '" + config.key_file + "' does not load");
    if (SSL_CTX_check_private_key(ctx) != 1)
        fail("tls_key_file '" + config.key_file + "' is not the key of tls_cert_file '" + config.cert_file +
             "'");
    if (!config.ca_file.empty() || !config.ca_dir.empty()) {
        const char* file = config.ca_file.empty() ? nullptr : config.ca_file.c_str();
        const char* dir = config.ca_dir.empty() ? nullptr : config.ca_dir.c_str();
        if (SSL_CTX_load_verify_locations(ctx, file, dir) != 1)
            fail(file ? "tls_ca_file '" + config.ca_file + "' does not load"
                      : "tls_ca_dir '" + config.ca_dir + "' does not load");
        // The CA names a client may choose its certificate by (CertificateRequest).
        if (file) {
            if (STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(file))
                SSL_CTX_set_client_CA_list(ctx, names);
            ERR_clear_error();
        }
    }
    if (!config.ciphers.empty() && SSL_CTX_set_cipher_list(ctx, config.ciphers.c_str()) != 1)
        fail("tls_ciphers \"" + config.ciphers + "\" names no cipher OpenSSL knows");
    if (!config.ciphersuites.empty() && SSL_CTX_set_ciphersuites(ctx, config.ciphersuites.c_str()) != 1)
        fail("tls_ciphersuites \"" + config.ciphersuites + "\" names no TLS 1.3 suite OpenSSL knows");

    // With a CA, a client certificate is asked for; it must come (and verify) only with
    // require_client_cert. Without require_client_cert an untrusted one still fails the handshake:
    // a certificate that was sent is a claim, and a false claim is refused.
    int verify = SSL_VERIFY_NONE;
    if (!config.ca_file.empty() || !config.ca_dir.empty()) verify = SSL_VERIFY_PEER;
    if (config.require_client_cert) verify |= SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, verify, nullptr);
    // Idle connections give their read and write buffers back (100,000 devices must not hold
    // 34 KiB each); and SSL_write accepts a buffer that moved between retries (our output
    // vector may grow), though with the in-memory BIO a write never has to be retried.
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    // Session resumption by tickets works without a server-side cache; an ID cache would be per
    // context and is dropped at every reload anyway.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    // Compression over TLS leaks secrets (CRIME) and renegotiation is a DoS lever: both off.
    SSL_CTX_set_options(ctx,
                        SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    self->_summary = describe_certificate(ctx);
    return self;
}

}  // namespace roost::net
