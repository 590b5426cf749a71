// The running broker: N workers (each an event loop on its own thread, worker 0 on the thread
// that calls run()), the state they share, and the listeners (on worker 0, which hands accepted
// connections to each worker in turn). Lives for the life of the process.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "config/config.hpp"

namespace roost {

class PluginHost;
class Router;
namespace net {
class TlsListeners;
}
class StoredMessageRefs;

class Server {
  public:
    explicit Server(const Config& config);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Binds every listener. False when one cannot listen; the log says which and why.
    bool start();
    // "127.0.0.1:1883" per listener, with the port the kernel chose for port 0. After start().
    std::vector<std::string> addresses() const;
    // SIGINT and SIGTERM stop the server from now on (before start(), so that none is missed).
    void stop_on_signals();
    // Runs the event loop until a stop: a signal (after stop_on_signals()) or request_stop().
    // Returns once wills are sent, clients disconnected and every handle closed.
    void run();
    // Asks run() to stop, from any thread.
    void request_stop();
    // start() failed because a plugin refused its options: a configuration error (exit 2).
    bool config_error() const { return _config_error; }

  private:
    struct Worker;
    // Every worker's stop, from worker 0's thread.
    void stop_all(const char* why);

    const Config& _config;
    const unsigned _worker_count;
    std::unique_ptr<PluginHost> _plugins;  // shared by the workers; outlives them
    std::unique_ptr<Router> _router;
    std::unique_ptr<StoredMessageRefs> _stored;
    std::vector<std::unique_ptr<Worker>> _workers;
    std::unique_ptr<net::TlsListeners> _tls;  // the TLS listeners' contexts (SIGHUP reloads them)
    unsigned _next_accept = 0;                // worker 0's listeners hand connections out in turn
    bool _stop_on_signals = false;
    bool _stopping = false;  // worker 0's thread only
    uv_signal_t _sigint{};   // on worker 0's loop
    uv_signal_t _sigterm{};
    uv_signal_t _sighup{};  // re-reads the config file for the plugins' options
    bool _config_error = false;
};

// What `roost` runs: start, run until SIGINT or SIGTERM, stop cleanly. Returns the process exit
// code: 0 after a clean stop, 1 when a listener could not start, 2 when a plugin refused its
// options. SIGHUP re-reads the config file, reloads the plugins' options and the TLS listeners'
// certificates.
int run_server(const Config& config);

// Blocks SIGINT and SIGTERM in the calling thread (and the threads it starts later) until
// Server::start() has worker 0's loop to catch them. main() calls it before its first log line:
// a supervisor that sends SIGTERM the moment the broker logs must get a clean stop, not the
// signal's default action (which kills the process with 143 before any will is sent).
void hold_stop_signals();

}  // namespace roost
