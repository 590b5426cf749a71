#include "server/server.hpp"

#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <future>
#include <thread>

#include "broker/broker.hpp"
#include "broker/sys_topics.hpp"
#include "net/listener.hpp"
#include "net/tls_listeners.hpp"
#include "plugin/hooks.hpp"
#include "plugin/host_functions.hpp"
#include "plugin/persistence.hpp"
#include "plugin/plugin_host.hpp"
#include "server/exposure.hpp"
#include "server/loop_stall.hpp"
#include "util/log.hpp"

namespace roost {
namespace {
// How long a clean stop waits for the last DISCONNECTs to be written before it closes anyway.
constexpr uint64_t kShutdownGraceMs = 3000;

void close_handle(void* handle) {
    auto* h = static_cast<uv_handle_t*>(handle);
    if (h->loop && !uv_is_closing(h)) uv_close(h, nullptr);
}

const sigset_t& stop_signals() {
    static const sigset_t set = [] {
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGINT);
        sigaddset(&s, SIGTERM);
        return s;
    }();
    return set;
}

unsigned workers_to_run(const Config& config) {
    if (config.broker.workers > 0) return config.broker.workers;
    unsigned cores = std::thread::hardware_concurrency();
    return std::clamp(cores, 1u, 256u);
}
}  // namespace

// One worker: an event loop and what runs on it (DESIGN.md "Threads"). Worker 0's loop runs on
// the thread that calls Server::run(); the others on threads of their own. Everything here is
// touched only on the worker's thread once its loop runs, except stop_request (uv_async_send).
struct Server::Worker {
    Worker(Server& server, unsigned index) : server(server), config(server._config), index(index) {
        uv_loop_init(&loop);
        plugins = std::make_unique<PluginWorker>(*server._plugins, index, &loop);
        hooks = std::make_unique<Hooks>(config, plugins.get());
        store = std::make_unique<Persistence>(plugins.get(), server._stored.get());
        broker =
            std::make_unique<Broker>(config, *server._router, index, &loop, plugins->inbox(), *hooks, *store);
        plugins->set_broker(broker.get());
        server._router->set_worker(index, broker.get());
        flush_queue = std::make_unique<net::FlushQueue>(&loop);
        for (uv_timer_t* t : {&tick, &sys, &grace}) {
            uv_timer_init(&loop, t);
            t->data = this;
        }
        // Worker 0's stop request stops every worker; the others' stop only themselves.
        uv_async_init(&loop, &stop_request, [](uv_async_t* a) {
            auto* w = static_cast<Worker*>(a->data);
            if (w->index == 0)
                w->server.stop_all("stop requested");
            else
                w->stop("stop requested");
        });
        stop_request.data = this;
    }

    ~Worker() {
        // run() may never have been called (start() failed): close what is open, without the
        // "stopping" line of a broker that ran, and let libuv finish.
        if (!stopped) stop(nullptr);
        uv_run(&loop, UV_RUN_DEFAULT);
        finish();
        listeners.clear();
        broker.reset();
        store.reset();
        hooks.reset();
        plugins.reset();
        uv_run(&loop, UV_RUN_DEFAULT);
        if (int rc = uv_loop_close(&loop); rc != 0)
            log::warn("worker {}: event loop closed with handles open: {}", index, uv_err_name(rc));
    }

    // A connection accepted (by worker 0's listener) for this worker, on this worker's thread:
    // the layers go on bottom up (TLS, then the transport), so the SSL is made here, on the
    // worker that will run every handshake step and record of it.
    void accept(net::Connection* c, const ListenerConfig& lc, const LoadedPlugin* transport,
                const net::TlsContextSlot* tls) {
        if (tls && !c->start_tls(*tls->current(), lc.tls)) {
            c->close("cannot start TLS");
            return;
        }
        if (transport) {
            auto filter =
                std::make_unique<net::TransportFilter>(transport->transport, plugins->hook_data(*transport));
            if (!c->set_transport(std::move(filter))) {
                log::info("connection from {} refused by transport '{}'", c->peer(), lc.transport);
                c->close("refused by its transport");
                return;
            }
        }
        broker->accept(c, lc);
    }

    // After the loop ran dry: every connection is closed (their last hooks ran), so the plugins'
    // worker stops now, then its timers and the inbox close.
    void finish() {
        if (finished) return;
        finished = true;
        close_handle(&grace);
        plugins->stop();
        plugins->close();
        broker->close();
        uv_run(&loop, UV_RUN_DEFAULT);
    }

    void stop(const char* why) {  // why: for the log; null when the broker never ran
        if (stopped) return;
        stopped = true;
        if (index == 0 && why)
            log::info("{}: stopping (closing listeners, sending wills, disconnecting {} clients)", why,
                      broker->connected_clients());
        for (auto& l : listeners)
            l->close();
        broker->shutdown();
        flush_queue->flush_all();
        for (void* h : {(void*)&tick, (void*)&sys, (void*)&stop_request})
            close_handle(h);
        if (index == 0) {
            for (void* h : {(void*)&server._sigint, (void*)&server._sigterm, (void*)&server._sighup})
                close_handle(h);
        }
        // Clients that do not read their last bytes must not hold the process: after the grace
        // period their connections are closed whatever is left unsent.
        uv_timer_start(
            &grace,
            [](uv_timer_t* t) {
                auto* w = static_cast<Worker*>(t->data);
                log::warn("worker {}: clients still connected {} ms after the stop; closing them", w->index,
                          kShutdownGraceMs);
                w->broker->close_all("server shutting down (grace period over)");
            },
            kShutdownGraceMs, 0);
        uv_unref(reinterpret_cast<uv_handle_t*>(&grace));
        flush_queue->close();
    }

    void start_timers() {
        // The stall watch judges lateness against this period: one constant for both.
        constexpr uint64_t kTickMs = LoopStallWatch::kPeriod.count();
        stall_watch.started(Clock::now());
        uv_timer_start(
            &tick,
            [](uv_timer_t* t) {
                auto* w = static_cast<Worker*>(t->data);
                Clock::time_point now = Clock::now();
                if (int64_t late = w->stall_watch.late_ms(now))
                    log::warn(
                        "worker {}: its event loop was held for more than {} ms, and its clients "
                        "waited (a plugin hook or Lua script that blocks instead of answering "
                        "PENDING, or a machine short of CPU)",
                        w->index, late);
                w->broker->tick(now);
            },
            kTickMs, kTickMs);
        if (index == 0 && config.broker.sys_interval > 0) {
            publish_sys_topics(*broker);
            uint64_t every = config.broker.sys_interval * 1000ull;
            uv_timer_start(
                &sys, [](uv_timer_t* t) { publish_sys_topics(*static_cast<Worker*>(t->data)->broker); },
                every, every);
        }
    }

    Server& server;
    const Config& config;
    const unsigned index;
    uv_loop_t loop{};
    // The plugin host's side of this worker, then what the broker asks plugins through (the
    // interfaces broker/ declares, implemented over `plugins`), then the broker: each outlives
    // the ones after it.
    std::unique_ptr<PluginWorker> plugins;
    std::unique_ptr<Hooks> hooks;
    std::unique_ptr<Persistence> store;
    std::unique_ptr<Broker> broker;
    bool finished = false;
    std::unique_ptr<net::FlushQueue> flush_queue;
    std::vector<std::unique_ptr<net::Listener>> listeners;  // worker 0 only: it accepts for all
    uv_timer_t tick{};
    LoopStallWatch stall_watch;  // fed by `tick`
    uv_timer_t sys{};
    uv_timer_t grace{};
    uv_async_t stop_request{};
    bool stopped = false;
    std::thread thread;  // workers 1..N-1
};

Server::Server(const Config& config)
    : _config(config),
      _worker_count(workers_to_run(config)),
      _plugins(std::make_unique<PluginHost>(config)),
      _router(std::make_unique<Router>(_worker_count)),
      _stored(std::make_unique<StoredMessageRefs>()) {}

Server::~Server() {
    // Workers first (their loops and plugin state), then the plugins' cleanup and dlclose. Worker
    // threads still running (start() failed after spawning some) are stopped first.
    for (auto& w : _workers) {
        if (w->thread.joinable()) {
            uv_async_send(&w->stop_request);
            w->thread.join();
        }
    }
    // A plugin's own thread may still complete calls or use kept client refs: from here on they
    // answer EGONE, and those in progress end before any worker's state goes.
    host_v1::stop_any_thread_calls();
    for (auto it = _workers.rbegin(); it != _workers.rend(); ++it)
        it->reset();
    _workers.clear();
    _plugins.reset();
}

bool Server::start() {
    set_current_worker(0);  // plugins initialise on the thread that will run worker 0
    try {
        _plugins->load_all(_worker_count);
    } catch (const PluginConfigError& e) {
        log::error("{}", e.what());
        _config_error = true;  // a plugin refused its options: exit status 2
        return false;
    } catch (const PluginError& e) {
        log::error("{}", e.what());
        return false;
    }
    warn_about_exposure(_config, _plugins->has_auth());
    for (unsigned i = 0; i < _worker_count; ++i)
        _workers.push_back(std::make_unique<Worker>(*this, i));
    Worker& first = *_workers[0];
    for (uv_signal_t* s : {&_sigint, &_sigterm, &_sighup}) {
        uv_signal_init(&first.loop, s);
        s->data = this;
    }
    // SIGHUP: the config file again, for the plugins' options (the rest needs a restart). On
    // worker 0's loop, which runs on the main thread: where plugins initialised, where they reload.
    uv_signal_start(
        &_sighup,
        [](uv_signal_t* s, int) {
            auto* server = static_cast<Server*>(s->data);
            const std::string& file = server->_config.source_file;
            if (file.empty()) {
                log::warn("SIGHUP: roost runs without a config file (-c); nothing to reload");
                return;
            }
            log::info("SIGHUP: reading {} again", file);
            Config fresh;
            try {
                fresh = load_config_file(file);
            } catch (const ConfigError& e) {
                log::error("SIGHUP: {} does not load, nothing changes:\n{}", file, e.what());
                return;
            }
            server->_plugins->reload(fresh);
            server->_tls->reload(fresh.listeners);
        },
        SIGHUP);
    if (_stop_on_signals) {
        auto on_signal = [](uv_signal_t* s, int signum) {
            static_cast<Server*>(s->data)->stop_all(signum == SIGINT ? "SIGINT" : "SIGTERM");
        };
        uv_signal_start(&_sigint, on_signal, SIGINT);
        uv_signal_start(&_sigterm, on_signal, SIGTERM);
        pthread_sigmask(SIG_UNBLOCK, &stop_signals(), nullptr);
    }
    try {
        if (!first.broker->restore()) return false;
        first.plugins->start();
    } catch (const PluginError& e) {
        log::error("{}", e.what());
        return false;
    }
    _tls = std::make_unique<net::TlsListeners>();
    if (auto errors = _tls->load(_config.listeners); !errors.empty()) {
        for (const std::string& e : errors)
            log::error("{}", e);
        _config_error = true;
        return false;
    }
    bool ok = true;
    for (size_t index = 0; index < _config.listeners.size(); ++index) {
        const ListenerConfig& lc = _config.listeners[index];
        const net::TlsContextSlot* tls = _tls->slot(index);
        const LoadedPlugin* transport = nullptr;
        if (!lc.transport.empty() && !(transport = _plugins->transport(lc.transport))) {
            log::error(
                "listener {}:{} ({}): no loaded plugin provides transport '{}' (load it with a [[plugin]] "
                "table)",
                lc.bind, lc.port, lc.source, lc.transport);
            ok = false;
            continue;
        }
        // Worker 0 accepts for every worker, in turn: an even spread whatever the number of
        // clients (SO_REUSEPORT's hash is uneven for a few), and no second process can bind the
        // same port unnoticed, as it could with SO_REUSEPORT.
        auto on_accept = [this, &lc, transport, tls](net::Connection* c) {
            Worker& w = *_workers[_next_accept];
            _next_accept = (_next_accept + 1) % _worker_count;
            if (w.index == 0) return w.accept(c, lc, transport, tls);
            int fd = c->detach_fd();
            std::string listener_address = c->listener_address();
            std::string peer_ip = c->peer_ip();
            c->close("handed to another worker");
            if (fd < 0) return;
            bool posted = w.plugins->inbox().post([&w, fd, &lc, transport, tls, listener_address, peer_ip] {
                auto* moved = new net::Connection(&w.loop, *w.flush_queue);
                if (int rc = moved->open(fd); rc != 0) {
                    log::warn("worker {}: cannot take a connection: {}", w.index, uv_strerror(rc));
                    ::close(fd);
                    net::Connection::uncount(peer_ip);
                    moved->close("cannot open");
                    return;
                }
                moved->set_listener_address(listener_address);
                w.accept(moved, lc, transport, tls);
            });
            if (!posted) {
                ::close(fd);
                net::Connection::uncount(peer_ip);
            }
        };
        auto listener = std::make_unique<net::Listener>(&first.loop, *first.flush_queue, lc, on_accept);
        if (std::string error = listener->start(); !error.empty()) {
            log::error("{}", error);
            ok = false;
        } else {
            std::string what = lc.transport.empty() ? "MQTT" : "transport '" + lc.transport + "'";
            log::info("listening on {} ({} over {})", listener->address(), what, tls ? "TLS" : "TCP");
        }
        first.listeners.push_back(std::move(listener));
    }
    if (!ok) return false;
    // The other workers: each starts its plugins' worker state on its own thread, then runs.
    for (unsigned i = 1; i < _worker_count; ++i) {
        Worker& w = *_workers[i];
        std::promise<std::string> started;
        std::future<std::string> result = started.get_future();
        w.thread = std::thread([&w, &started] {
            set_current_worker(w.index);
            try {
                w.plugins->start();
                started.set_value({});
            } catch (const PluginError& e) {
                started.set_value(e.what());
                w.stop("worker_start failed");
                uv_run(&w.loop, UV_RUN_DEFAULT);
                w.finish();
                return;
            }
            w.start_timers();
            uv_run(&w.loop, UV_RUN_DEFAULT);
            w.finish();
        });
        if (std::string error = result.get(); !error.empty()) {
            log::error("{}", error);
            return false;
        }
    }
    return true;
}

std::vector<std::string> Server::addresses() const {
    std::vector<std::string> out;
    if (_workers.empty()) return out;
    for (const auto& l : _workers[0]->listeners)
        out.push_back(l->address());
    return out;
}

void Server::stop_all(const char* why) {
    if (_stopping) return;
    _stopping = true;
    // Two steps through the inboxes: every worker publishes the wills that go out at shutdown,
    // and once all have (their deliveries are then ahead in every inbox), every worker stops.
    auto left = std::make_shared<std::atomic<unsigned>>(_worker_count);
    for (auto& w : _workers) {
        Worker* worker = w.get();
        bool posted = worker->plugins->inbox().post([this, worker, left, why] {
            worker->broker->shutdown_wills();
            if (left->fetch_sub(1) != 1) return;
            for (auto& each : _workers) {
                Worker* target = each.get();
                if (!target->plugins->inbox().post([target, why] { target->stop(why); })) target->stop(why);
            }
        });
        if (!posted) worker->stop(why);
    }
}

void Server::request_stop() {
    if (_workers.empty()) return;
    // Worker 0 stops the others: its async runs stop_all on its own thread.
    uv_async_send(&_workers[0]->stop_request);
}

void hold_stop_signals() {
    pthread_sigmask(SIG_BLOCK, &stop_signals(), nullptr);
}

void Server::stop_on_signals() {
    _stop_on_signals = true;
    // Held back until start() has worker 0's loop to catch them: a SIGTERM that comes meanwhile
    // waits, then stops the broker cleanly. main() has usually held them already (before its
    // first log line); this covers a Server made elsewhere.
    hold_stop_signals();
}

void Server::run() {
    Worker& w = *_workers[0];
    set_current_worker(0);
    log::info("roost {} started ({} listener{}, {} worker{}, config: {})", ROOST_VERSION, w.listeners.size(),
              w.listeners.size() == 1 ? "" : "s", _worker_count, _worker_count == 1 ? "" : "s",
              _config.source_file.empty() ? "none" : _config.source_file);
    w.start_timers();
    uv_run(&w.loop, UV_RUN_DEFAULT);
    w.finish();
    for (auto& other : _workers)
        if (other->thread.joinable()) other->thread.join();
}

namespace {
// A broker holds a socket per client: the soft limit on open files (often 1024) is raised to the
// hard limit, as far as the system lets us, and the log says what it is.
void raise_open_file_limit() {
    rlimit limit{};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
    if (limit.rlim_cur < limit.rlim_max) {
        rlimit wanted = limit;
        wanted.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &wanted) == 0) limit = wanted;
    }
    log::info("open file limit: {} (each client holds one)", static_cast<unsigned long long>(limit.rlim_cur));
}
}  // namespace

int run_server(const Config& config) {
    signal(SIGPIPE, SIG_IGN);  // a peer gone mid-write is an error code, not a reason to die
    raise_open_file_limit();
    const auto started = std::chrono::steady_clock::now();
    {
        Server server(config);
        // Before any listener opens: a SIGTERM the moment the port answers must stop the broker
        // cleanly, not kill it with the default action.
        server.stop_on_signals();
        if (!server.start()) {
            log::error("not starting (see above)");
            return server.config_error() ? 2 : 1;
        }
        server.run();
    }  // the plugins' last lines (a store's totals) come as the server goes: "stopped" is the last
    const auto up =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started);
    log::info("stopped ({} s after the start)", up.count());
    return 0;
}

}  // namespace roost
