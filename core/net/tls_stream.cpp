#include "net/tls_stream.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include "net/tls_context.hpp"

namespace roost::net {

// The BIO between OpenSSL and the Connection: reads come from TlsStream::_in (the current libuv
// read), writes go to *TlsStream::_out. Running out of input is "try again", as EAGAIN on a
// non-blocking socket: OpenSSL keeps a partial record in its own buffer until the next read.
struct TlsBio {
    static int read(BIO* b, char* out, int len) {
        auto* s = static_cast<TlsStream*>(BIO_get_data(b));
        BIO_clear_retry_flags(b);
        if (s->_in.empty() || len <= 0) {
            BIO_set_retry_read(b);
            return -1;
        }
        size_t n = std::min(s->_in.size(), static_cast<size_t>(len));
        std::memcpy(out, s->_in.data(), n);
        s->_in = s->_in.subspan(n);
        return static_cast<int>(n);
    }
    static int write(BIO* b, const char* in, int len) {
        auto* s = static_cast<TlsStream*>(BIO_get_data(b));
        BIO_clear_retry_flags(b);
        if (!s->_out) {  // not inside a call that can take output: cannot happen, but never lose it
            BIO_set_retry_write(b);
            return -1;
        }
        s->_out->append({reinterpret_cast<const uint8_t*>(in), static_cast<size_t>(len)});
        return len;
    }
    static long ctrl(BIO* b, int cmd, long, void*) {
        auto* s = static_cast<TlsStream*>(BIO_get_data(b));
        switch (cmd) {
            case BIO_CTRL_FLUSH:
                return 1;
            case BIO_CTRL_PENDING:
                return s ? static_cast<long>(s->_in.size()) : 0;
            default:
                return 0;
        }
    }
    static int create(BIO* b) {
        BIO_set_init(b, 1);
        return 1;
    }
    // One method table for the process, made on first use (thread-safe static initialisation).
    static const BIO_METHOD* method() {
        static BIO_METHOD* m = [] {
            BIO_METHOD* meth = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "roost connection");
            if (!meth) return meth;
            BIO_meth_set_read(meth, read);
            BIO_meth_set_write(meth, write);
            BIO_meth_set_ctrl(meth, ctrl);
            BIO_meth_set_create(meth, create);
            return meth;
        }();
        return m;
    }
};

TlsStream::TlsStream(SSL_CTX* ctx) {
    if (ctx && TlsBio::method() && SSL_CTX_up_ref(ctx) == 1) _ctx = ctx;
}

bool TlsStream::make_ssl() {
    BIO* bio = BIO_new(TlsBio::method());
    if (!bio) return false;
    _ssl = SSL_new(_ctx);
    if (!_ssl) {
        BIO_free(bio);
        return false;
    }
    BIO_set_data(bio, this);
    SSL_set_bio(_ssl, bio, bio);  // one BIO both ways; the SSL owns it
    SSL_set_accept_state(_ssl);
    SSL_set_msg_callback(_ssl, on_message);
    SSL_set_msg_callback_arg(_ssl, this);
    return true;
}

namespace {
// True while `bytes` are the start of a TLS handshake record that has not arrived whole. Anything
// else (another content type, a length no record has) is for OpenSSL to judge and name at once.
bool first_record_incomplete(std::span<const uint8_t> bytes) {
    constexpr size_t kHeader = 5;  // type, version (2), length (2)
    if (bytes.empty() || bytes[0] != SSL3_RT_HANDSHAKE) return false;
    if (bytes.size() < kHeader) return true;
    size_t length = size_t{bytes[3]} << 8 | bytes[4];
    if (length > SSL3_RT_MAX_PLAIN_LENGTH) return false;
    return bytes.size() < kHeader + length;
}
}  // namespace

// Counts the KeyUpdates the client sends (OpenSSL calls this for every record and message, sent
// or received, during SSL_read and SSL_write).
void TlsStream::on_message(int write_p, int, int content_type, const void* buf, size_t len, SSL*, void* arg) {
    auto* self = static_cast<TlsStream*>(arg);
    if (write_p || content_type != SSL3_RT_HANDSHAKE || len == 0 || !self->_established) return;
    uint8_t type = *static_cast<const uint8_t*>(buf);
    if (type == SSL3_MT_KEY_UPDATE) self->_key_updates_without_data++;
}

TlsStream::~TlsStream() {
    SSL_free(_ssl);
    SSL_CTX_free(_ctx);
}

std::string TlsStream::failure(int rc) {
    int code = SSL_get_error(_ssl, rc);
    std::string why;
    if (code == SSL_ERROR_SSL) {
        why = openssl_errors();
        long verify = SSL_get_verify_result(_ssl);
        if (verify != X509_V_OK)
            why += std::string(" (client certificate: ") + X509_verify_cert_error_string(verify) + ")";
    } else if (code == SSL_ERROR_SYSCALL) {
        why = openssl_errors("unexpected end of the stream");
    } else {
        why = "SSL error " + std::to_string(code);
        ERR_clear_error();
    }
    return why;
}

TlsStream::Result TlsStream::receive(std::span<const uint8_t> cipher, std::vector<uint8_t>& plain,
                                     OutputQueue& wire) {
    std::vector<uint8_t> first;  // the first record, given to OpenSSL in this call
    if (!_ssl) {
        // Whole in this read (the usual case), it goes to OpenSSL straight from the read buffer.
        if (!_first_record.empty() || first_record_incomplete(cipher)) {
            _first_record.insert(_first_record.end(), cipher.begin(), cipher.end());
            if (first_record_incomplete(_first_record)) return Result::Handshaking;
            first.swap(_first_record);
            cipher = first;
        }
        if (!make_ssl()) {
            _error = openssl_errors("cannot make a TLS session (out of memory?)");
            return Result::Failed;
        }
    }
    _in = cipher;
    _out = &wire;
    struct Done {  // the BIO must not keep pointers into this call's buffers
        TlsStream* s;
        ~Done() {
            s->_in = {};
            s->_out = nullptr;
        }
    } done{this};
    if (!_established) {
        int rc = SSL_do_handshake(_ssl);
        if (rc != 1) {
            if (SSL_get_error(_ssl, rc) == SSL_ERROR_WANT_READ) return Result::Handshaking;
            _error = failure(rc);
            return Result::Failed;
        }
        _established = true;
    }
    // Everything this read holds, decrypted: OpenSSL returns at most a record per call.
    for (;;) {
        thread_local uint8_t record[16 * 1024];
        size_t n = 0;
        int rc = SSL_read_ex(_ssl, record, sizeof record, &n);
        if (_key_updates_without_data > kMaxKeyUpdatesWithoutData) {
            // One read's worth was answered already; the rest of the flood is not.
            _error = "more than " + std::to_string(kMaxKeyUpdatesWithoutData) +
                     " KeyUpdate messages without data between them";
            ERR_clear_error();
            return Result::Failed;
        }
        if (rc == 1) {
            if (n > 0) _key_updates_without_data = 0;
            plain.insert(plain.end(), record, record + n);
            continue;
        }
        int code = SSL_get_error(_ssl, rc);
        if (code == SSL_ERROR_WANT_READ) return Result::Open;
        if (code == SSL_ERROR_ZERO_RETURN) return Result::PeerClosed;
        _error = failure(rc);
        return Result::Failed;
    }
}

bool TlsStream::send(std::span<const uint8_t> plain, OutputQueue& wire) {
    _out = &wire;
    bool ok = true;
    while (!plain.empty() && ok) {
        size_t n = 0;
        int rc = SSL_write_ex(_ssl, plain.data(), std::min(plain.size(), size_t{INT_MAX}), &n);
        ok = rc == 1;
        if (!ok) _error = failure(rc);
        plain = plain.subspan(ok ? n : plain.size());
    }
    _out = nullptr;
    return ok;
}

void TlsStream::shutdown(OutputQueue& wire) {
    if (!_established) return;
    _out = &wire;
    SSL_shutdown(_ssl);  // sends close_notify; the peer's we do not wait for
    ERR_clear_error();
    _out = nullptr;
}

}  // namespace roost::net
