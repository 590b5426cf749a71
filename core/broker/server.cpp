#include "broker/server.hpp"

#include <signal.h>
#include <sys/resource.h>
#include <uv.h>

#include "broker/broker.hpp"
#include "broker/sys_topics.hpp"
#include "net/listener.hpp"
#include "plugin/plugin_host.hpp"
#include "util/log.hpp"

namespace roost {
namespace {
// How long a clean stop waits for the last DISCONNECTs to be written before it closes anyway.
constexpr uint64_t kShutdownGraceMs = 3000;

void close_handle(void* handle) {
    auto* h = static_cast<uv_handle_t*>(handle);
    if (h->loop && !uv_is_closing(h)) uv_close(h, nullptr);
}
}  // namespace

// One event loop and what runs on it. The broker has one today; N of them (DESIGN.md
// "Threads") each get their own listeners (SO_REUSEPORT) and connections, and share Broker.
struct Server::Worker {
    explicit Worker(const Config& config) : config(config) {
        uv_loop_init(&loop);
        plugins = std::make_unique<PluginHost>(config);
        plugin_worker = std::make_unique<PluginWorker>(*plugins, 0, &loop);
        broker = std::make_unique<Broker>(config, plugin_worker.get());
        flush_queue = std::make_unique<net::FlushQueue>(&loop);
        for (uv_timer_t* t : {&tick, &sys, &grace}) {
            uv_timer_init(&loop, t);
            t->data = this;
        }
        for (uv_signal_t* s : {&sigint, &sigterm, &sighup}) {
            uv_signal_init(&loop, s);
            s->data = this;
        }
        uv_async_init(&loop, &stop_request,
                      [](uv_async_t* a) { static_cast<Worker*>(a->data)->stop("stop requested"); });
        stop_request.data = this;
    }

    ~Worker() {
        // run() may never have been called: close what is open and let libuv finish.
        if (!stopped) stop("server destroyed");
        uv_run(&loop, UV_RUN_DEFAULT);
        finish();
        listeners.clear();
        broker.reset();
        plugin_worker.reset();
        plugins.reset();  // plugin cleanup, then dlclose: nothing of theirs is referenced any more
        uv_run(&loop, UV_RUN_DEFAULT);
        if (int rc = uv_loop_close(&loop); rc != 0)
            log::warn("event loop closed with handles open: {}", uv_err_name(rc));
    }

    // After the loop ran dry: every connection is closed (their last hooks ran), so the plugins'
    // workers stop now, then their timers and the inbox close.
    void finish() {
        if (finished) return;
        finished = true;
        close_handle(&grace);
        if (workers_started) plugin_worker->stop();
        plugin_worker->close();
        uv_run(&loop, UV_RUN_DEFAULT);
    }

    void stop(const char* why) {
        if (stopped) return;
        stopped = true;
        log::info("{}: stopping (closing listeners, sending wills, disconnecting {} clients)", why,
                  broker->connected_clients());
        for (auto& l : listeners)
            l->close();
        broker->shutdown();
        flush_queue->flush_all();
        for (void* h : {(void*)&tick, (void*)&sys, (void*)&sigint, (void*)&sigterm, (void*)&sighup,
                        (void*)&stop_request})
            close_handle(h);
        // Clients that do not read their last bytes must not hold the process: after the grace
        // period their connections are closed whatever is left unsent.
        uv_timer_start(
            &grace,
            [](uv_timer_t* t) {
                log::warn("clients still connected {} ms after the stop; closing them", kShutdownGraceMs);
                static_cast<Worker*>(t->data)->broker->close_all("server shutting down (grace period over)");
            },
            kShutdownGraceMs, 0);
        uv_unref(reinterpret_cast<uv_handle_t*>(&grace));
        flush_queue->close();
    }

    const Config& config;
    uv_loop_t loop{};
    std::unique_ptr<PluginHost> plugins;  // before broker: the broker's hooks point into it
    std::unique_ptr<PluginWorker> plugin_worker;
    std::unique_ptr<Broker> broker;
    bool workers_started = false;
    bool finished = false;
    std::unique_ptr<net::FlushQueue> flush_queue;
    std::vector<std::unique_ptr<net::Listener>> listeners;
    uv_timer_t tick{};
    uv_timer_t sys{};
    uv_timer_t grace{};
    uv_signal_t sigint{};
    uv_signal_t sigterm{};
    uv_signal_t sighup{};
    uv_async_t stop_request{};
    bool stopped = false;
};

Server::Server(const Config& config) : _worker(std::make_unique<Worker>(config)) {}

Server::~Server() = default;

bool Server::start() {
    Worker& w = *_worker;
    set_current_worker(0);  // plugins initialise on the thread that will run worker 0 (or tell it so)
    try {
        w.plugins->load_all(1);
        w.plugin_worker->set_broker(w.broker.get());
        if (!w.broker->plugins_loaded(w.plugin_worker.get())) return false;
        w.plugin_worker->start();
        w.workers_started = true;
    } catch (const PluginConfigError& e) {
        log::error("{}", e.what());
        _config_error = true;
        return false;
    } catch (const PluginError& e) {
        log::error("{}", e.what());
        return false;
    }
    bool ok = true;
    for (const ListenerConfig& lc : w.config.listeners) {
        const LoadedPlugin* transport = nullptr;
        if (!lc.transport.empty() && !(transport = w.plugins->transport(lc.transport))) {
            log::error(
                "listener {}:{} ({}): no loaded plugin provides transport '{}' (load it with a [[plugin]] "
                "table)",
                lc.bind, lc.port, lc.source, lc.transport);
            ok = false;
            continue;
        }
        auto on_accept = [&w, &lc, transport](net::Connection* c) {
            if (transport) {
                auto filter =
                    std::make_unique<net::TransportFilter>(transport->transport, w.plugin_worker->hook_data(*transport));
                if (!c->set_transport(std::move(filter))) {
                    log::info("connection from {} refused by transport '{}'", c->peer(), lc.transport);
                    c->close("refused by its transport");
                    return;
                }
            }
            w.broker->accept(c, lc);
        };
        auto listener = std::make_unique<net::Listener>(&w.loop, *w.flush_queue, lc, on_accept);
        if (std::string error = listener->start(); !error.empty()) {
            log::error("{}", error);
            ok = false;
        } else {
            log::info("listening on {} ({})", listener->address(),
                      lc.transport.empty() ? "MQTT over TCP" : "transport '" + lc.transport + "'");
        }
        w.listeners.push_back(std::move(listener));
    }
    return ok;
}

std::vector<std::string> Server::addresses() const {
    std::vector<std::string> out;
    for (const auto& l : _worker->listeners)
        out.push_back(l->address());
    return out;
}

void Server::request_stop() {
    uv_async_send(&_worker->stop_request);
}

void Server::stop_on_signals() {
    Worker& w = *_worker;
    auto on_signal = [](uv_signal_t* s, int signum) {
        static_cast<Worker*>(s->data)->stop(signum == SIGINT ? "SIGINT" : "SIGTERM");
    };
    uv_signal_start(&w.sigint, on_signal, SIGINT);
    uv_signal_start(&w.sigterm, on_signal, SIGTERM);
    // SIGHUP: the config file again, for the plugins' options (the rest needs a restart).
    uv_signal_start(
        &w.sighup,
        [](uv_signal_t* s, int) {
            Worker& w = *static_cast<Worker*>(s->data);
            const std::string& file = w.config.source_file;
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
            w.plugins->reload(fresh);
        },
        SIGHUP);
    uv_unref(reinterpret_cast<uv_handle_t*>(&w.sighup));
}

void Server::run() {
    Worker& w = *_worker;
    set_current_worker(0);
    const Config& config = w.config;
    log::info("roost {} started ({} listener{}, config: {})", ROOST_VERSION, w.listeners.size(),
              w.listeners.size() == 1 ? "" : "s", config.source_file.empty() ? "none" : config.source_file);
    uv_timer_start(
        &w.tick, [](uv_timer_t* t) { static_cast<Worker*>(t->data)->broker->tick(Clock::now()); }, 1000,
        1000);
    if (config.broker.sys_interval > 0) {
        publish_sys_topics(*w.broker);
        uint64_t every = config.broker.sys_interval * 1000ull;
        uv_timer_start(
            &w.sys, [](uv_timer_t* t) { publish_sys_topics(*static_cast<Worker*>(t->data)->broker); }, every,
            every);
    }
    uv_run(&w.loop, UV_RUN_DEFAULT);
    w.finish();
    log::info("stopped");
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
    if (config.broker.workers > 1)
        log::warn("[broker] workers = {}: this release runs one worker; the setting is ignored",
                  config.broker.workers);
    Server server(config);
    // Before any listener opens: a SIGTERM the moment the port answers must stop the broker
    // cleanly, not kill it with the default action.
    server.stop_on_signals();
    if (!server.start()) {
        log::error("not starting (see above)");
        return server.config_error() ? 2 : 1;
    }
    server.run();
    return 0;
}

}  // namespace roost
