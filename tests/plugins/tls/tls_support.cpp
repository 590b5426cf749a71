#include "tls_support.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <doctest/doctest.h>

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace roost_tls {
namespace {

void openssl_cli(std::vector<std::string> args) {
    args.insert(args.begin(), "openssl");
    RunResult r = run(args, 30s);
    if (r.exit_code != 0) {
        std::string line;
        for (auto& a : args)
            line += a + " ";
        throw std::runtime_error("failed: " + line + "\n" + r.err);
    }
}

// A P-256 key and a certificate for `subject`, signed by `ca` (self-signed when ca is empty).
void make_cert(const std::string& dir, const std::string& name, const std::string& subject,
               const std::string& ca, const std::string& serial, const std::string& san) {
    std::string key = dir + "/" + name + ".key", crt = dir + "/" + name + ".crt";
    if (ca.empty()) {
        openssl_cli({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                     "-keyout", key, "-out", crt, "-days", "2", "-subj", subject});
        return;
    }
    std::string csr = dir + "/" + name + ".csr", ext = dir + "/" + name + ".ext";
    write_file(
        ext, "basicConstraints=CA:FALSE\n" + (san.empty() ? std::string() : "subjectAltName=" + san + "\n"));
    openssl_cli({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
                 "-out", csr, "-subj", subject});
    openssl_cli({"x509", "-req", "-in", csr, "-CA", dir + "/" + ca + ".crt", "-CAkey",
                 dir + "/" + ca + ".key", "-set_serial", serial, "-days", "2", "-out", crt, "-extfile", ext});
}

}  // namespace

const Certs& certs() {
    static const Certs c = [] {
        Certs c;
        c.dir = temp_path("certs");
        run({"mkdir", "-p", c.dir});
        make_cert(c.dir, "ca", "/CN=Roost Test CA", "", "", "");
        make_cert(c.dir, "server", "/CN=broker-1", "ca", "0x1001", "IP:127.0.0.1,DNS:localhost");
        make_cert(c.dir, "server2", "/CN=broker-2", "ca", "0x2002", "IP:127.0.0.1,DNS:localhost");
        make_cert(c.dir, "client", "/O=Acme/CN=dev1", "ca", "0x3003",
                  "DNS:dev1.example.com,URI:spiffe://acme/dev1");
        make_cert(c.dir, "rogue_ca", "/CN=Rogue CA", "", "", "");
        make_cert(c.dir, "rogue", "/CN=mallory", "rogue_ca", "0x6666", "DNS:mallory.example");
        c.ca = c.dir + "/ca.crt";
        c.server_cert = c.dir + "/server.crt";
        c.server_key = c.dir + "/server.key";
        c.server2_cert = c.dir + "/server2.crt";
        c.server2_key = c.dir + "/server2.key";
        c.client_cert = c.dir + "/client.crt";
        c.client_key = c.dir + "/client.key";
        c.rogue_cert = c.dir + "/rogue.crt";
        c.rogue_key = c.dir + "/rogue.key";
        return c;
    }();
    return c;
}

std::vector<std::string> tls_lines(std::vector<std::string> more, const std::string& cert,
                                   const std::string& key) {
    std::vector<std::string> lines = {
        "tls_cert_file = \"" + (cert.empty() ? certs().server_cert : cert) + "\"",
        "tls_key_file = \"" + (key.empty() ? certs().server_key : key) + "\""};
    lines.insert(lines.end(), more.begin(), more.end());
    return lines;
}

std::vector<std::string> tls_args(std::vector<std::string> args, const std::string& cert,
                                  const std::string& key) {
    args.insert(args.end(), {"--cafile", certs().ca});
    if (!cert.empty()) args.insert(args.end(), {"--cert", cert, "--key", key});
    return args;
}

// The write side of a trickling client: a socket write per three bytes, 2 ms apart.
int TlsClient::trickle_write(BIO* b, const char* in, int len) {
    auto* self = static_cast<TlsClient*>(BIO_get_data(b));
    const int piece = self->_trickling ? 3 : len;
    for (int done = 0; done < len; done += piece) {
        const int n = std::min(piece, len - done);
        if (::send(self->_fd, in + done, static_cast<size_t>(n), MSG_NOSIGNAL) != n) return -1;
        if (self->_trickling) std::this_thread::sleep_for(2ms);
    }
    return len;
}

TlsClient::TlsClient(uint16_t port, uint8_t key, const std::string& cert, const std::string& cert_key,
                     bool trickle)
    : _key(key) {
    _fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval tv{5, 0};  // every blocking call below is bounded
    setsockopt(_fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (::connect(_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        _error = "connect failed";
        return;
    }
    _ctx = SSL_CTX_new(TLS_client_method());
    SSL_CTX_load_verify_locations(_ctx, certs().ca.c_str(), nullptr);
    SSL_CTX_set_verify(_ctx, SSL_VERIFY_PEER, nullptr);
    if (!cert.empty()) {
        SSL_CTX_use_certificate_chain_file(_ctx, cert.c_str());
        SSL_CTX_use_PrivateKey_file(_ctx, cert_key.c_str(), SSL_FILETYPE_PEM);
    }
    SSL* ssl = SSL_new(_ctx);
    SSL_set_fd(ssl, _fd);
    if (trickle) {
        static BIO_METHOD* method = [] {
            BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "trickle");
            BIO_meth_set_write(m, trickle_write);
            BIO_meth_set_ctrl(m, [](BIO*, int cmd, long, void*) -> long { return cmd == BIO_CTRL_FLUSH; });
            BIO_meth_set_create(m, [](BIO* b) {
                BIO_set_init(b, 1);
                return 1;
            });
            return m;
        }();
        BIO* write = BIO_new(method);
        BIO_set_data(write, this);
        SSL_set0_wbio(ssl, write);  // reads stay on the socket BIO SSL_set_fd made
        _trickling = true;
    }
    SSL_set1_host(ssl, "127.0.0.1");
    const int connected = SSL_connect(ssl);
    _trickling = false;
    if (connected != 1) {
        char buf[256];
        ERR_error_string_n(ERR_get_error(), buf, sizeof buf);
        _error = buf;
        SSL_free(ssl);
        return;
    }
    _ssl = ssl;
}

TlsClient::~TlsClient() {
    if (_ssl) SSL_free(_ssl);
    if (_ctx) SSL_CTX_free(_ctx);
    if (_fd >= 0) ::close(_fd);
}

bool TlsClient::send(std::string_view bytes) {
    if (!_ssl) return false;
    std::string out(bytes);
    for (char& c : out)
        c = static_cast<char>(c ^ _key);
    size_t n = 0;
    return SSL_write_ex(_ssl, out.data(), out.size(), &n) == 1 && n == out.size();
}

std::optional<Packet> TlsClient::read_packet(Millis timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        // A whole packet in _buf: fixed header, remaining length (varint), body.
        if (_buf.size() >= 2) {
            size_t len = 0, i = 1, shift = 0;
            bool complete = false;
            while (i < _buf.size() && i <= 4) {
                auto b = static_cast<uint8_t>(_buf[i]);
                len |= size_t(b & 0x7f) << shift;
                shift += 7;
                ++i;
                if (!(b & 0x80)) {
                    complete = true;
                    break;
                }
            }
            if (complete && _buf.size() >= i + len) {
                Packet p;
                p.type = static_cast<uint8_t>(_buf[0]) >> 4;
                p.flags = static_cast<uint8_t>(_buf[0]) & 0x0f;
                p.body = _buf.substr(i, len);
                p.raw = _buf.substr(0, i + len);
                _buf.erase(0, i + len);
                return p;
            }
        }
        if (!_ssl || std::chrono::steady_clock::now() >= deadline) return std::nullopt;
        if (read_some(deadline, _buf) == ReadResult::closed) return std::nullopt;
    }
}

TlsClient::ReadResult TlsClient::read_some(std::chrono::steady_clock::time_point deadline,
                                           std::string& into) {
    if (SSL_pending(_ssl) == 0) {
        pollfd pfd{_fd, POLLIN, 0};
        auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
        if (::poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 1))) <= 0)
            return ReadResult::again;
    }
    char chunk[16384];
    size_t n = 0;
    if (SSL_read_ex(_ssl, chunk, sizeof chunk, &n) != 1) {
        int e = SSL_get_error(_ssl, 0);
        ERR_clear_error();
        return e == SSL_ERROR_WANT_READ ? ReadResult::again : ReadResult::closed;
    }
    for (size_t k = 0; k < n; ++k)
        into.push_back(static_cast<char>(chunk[k] ^ _key));
    return ReadResult::data;
}

std::optional<Packet> TlsClient::read_until(uint8_t type, Millis timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
        auto left = std::chrono::duration_cast<Millis>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return std::nullopt;
        auto p = read_packet(left);
        if (!p || p->type == type) return p;
    }
}

bool TlsClient::key_update() {
    if (!_ssl || SSL_key_update(_ssl, SSL_KEY_UPDATE_REQUESTED) != 1) return false;
    bool ok = SSL_do_handshake(_ssl) == 1;  // writes the KeyUpdate; waits for no answer
    ERR_clear_error();
    return ok;
}

void TlsClient::set_send_timeout(Millis timeout) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    setsockopt(_fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool TlsClient::wait_closed(Millis timeout) {
    if (!_ssl) return true;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::string dropped;
    while (std::chrono::steady_clock::now() < deadline) {
        if (read_some(deadline, dropped) == ReadResult::closed) return true;
        dropped.clear();
    }
    return false;
}

}  // namespace roost_tls
