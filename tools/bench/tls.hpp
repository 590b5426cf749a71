// --tls: roost-bench's connections over TLS (OpenSSL 3), on the same non-blocking sockets. The
// rest of roost-bench sees a socket-like send/recv; the handshake runs inside the first of them
// (like a non-blocking socket's connect), so the scenarios and their timing are unchanged.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <memory>
#include <string>

namespace CLI {
class App;
}

namespace bench {

struct Options;

namespace tls {

// --tls, --cafile, --cert, --key, in a group of their own.
void add_options(CLI::App& app, Options& o);

// The client context, once per run (after parse_options). False with `error` when a file does
// not load. Does nothing without --tls.
bool init(const Options& o, std::string& error);

// One connection's TLS session over `fd` (connected or connecting), or nullptr with `error`.
struct Session;
std::shared_ptr<Session> start(int fd, std::string& error);

// As ::send and ::recv: bytes moved; 0 from recv when the broker closed; -1 with errno EAGAIN
// when TLS waits for the socket (in either direction: epoll waits for both anyway), or -1 with
// errno EPROTO and the reason in `error`.
ssize_t send(Session& s, const void* data, size_t len, std::string& error);
ssize_t recv(Session& s, void* data, size_t len, std::string& error);
// True when TLS holds bytes already taken from the socket (epoll will not announce them): the
// caller reads on.
bool pending(const Session& s);

}  // namespace tls
}  // namespace bench
