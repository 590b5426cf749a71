#include "broker/server.hpp"

#include <signal.h>
#include <uv.h>

#include <memory>
#include <vector>

#include "broker/broker.hpp"
#include "broker/sys_topics.hpp"
#include "net/listener.hpp"
#include "util/log.hpp"

namespace roost {
namespace {
// How long a clean stop waits for the last DISCONNECTs to be written before it closes anyway.
constexpr uint64_t kShutdownGraceMs = 3000;

// One event loop and what runs on it. The broker has one today; N of them (DESIGN.md
// "Threads") each get their own listeners (SO_REUSEPORT) and connections.
struct Worker {
    uv_loop_t loop{};
    std::unique_ptr<net::FlushQueue> flush_queue;
    std::vector<std::unique_ptr<net::Listener>> listeners;
    uv_timer_t tick{};
    uv_timer_t sys{};
    uv_timer_t grace{};
    uv_signal_t sigint{};
    uv_signal_t sigterm{};
    Broker* broker = nullptr;
    bool stopping = false;
};

void close_handle(void* handle) {
    auto* h = static_cast<uv_handle_t*>(handle);
    if (!uv_is_closing(h)) uv_close(h, nullptr);
}

void stop(Worker& w, const char* why) {
    if (w.stopping) return;
    w.stopping = true;
    log::info("{}: stopping (closing listeners, sending wills, disconnecting {} clients)", why,
              w.broker->connected_clients());
    for (auto& l : w.listeners)
        l->close();
    w.broker->shutdown();
    w.flush_queue->flush_all();
    uv_timer_stop(&w.tick);
    uv_timer_stop(&w.sys);
    close_handle(&w.tick);
    close_handle(&w.sys);
    close_handle(&w.sigint);
    close_handle(&w.sigterm);
    // Clients that do not read their last bytes must not hold the process: after the grace
    // period their connections are closed whatever is left unsent.
    uv_timer_start(
        &w.grace,
        [](uv_timer_t* t) {
            auto* worker = static_cast<Worker*>(t->data);
            log::warn("clients still connected {} ms after the stop; closing them", kShutdownGraceMs);
            worker->broker->close_all("server shutting down (grace period over)");
        },
        kShutdownGraceMs, 0);
    uv_unref(reinterpret_cast<uv_handle_t*>(&w.grace));
    w.flush_queue->close();
}

void on_signal(uv_signal_t* handle, int signum) {
    stop(*static_cast<Worker*>(handle->data), signum == SIGINT ? "SIGINT" : "SIGTERM");
}
}  // namespace

int run_server(const Config& config) {
    signal(SIGPIPE, SIG_IGN);  // a peer gone mid-write is an error code, not a reason to die
    Worker w;
    uv_loop_init(&w.loop);
    w.flush_queue = std::make_unique<net::FlushQueue>(&w.loop);
    Broker broker(config);
    w.broker = &broker;

    bool failed = false;
    for (const ListenerConfig& lc : config.listeners) {
        auto listener = std::make_unique<net::Listener>(&w.loop, *w.flush_queue, lc,
                                                        [&broker](net::Connection* c) { broker.accept(c); });
        if (std::string error = listener->start(); !error.empty()) {
            log::error("{}", error);
            failed = true;
        } else {
            log::info("listening on {} (MQTT over TCP)", listener->address());
        }
        w.listeners.push_back(std::move(listener));
    }

    uv_timer_init(&w.loop, &w.tick);
    uv_timer_init(&w.loop, &w.sys);
    uv_timer_init(&w.loop, &w.grace);
    uv_signal_init(&w.loop, &w.sigint);
    uv_signal_init(&w.loop, &w.sigterm);
    w.tick.data = w.sys.data = w.grace.data = w.sigint.data = w.sigterm.data = &w;

    if (failed) {
        stop(w, "a listener failed to start");
    } else {
        log::info("roost {} started ({} listener{}, config: {})", ROOST_VERSION, w.listeners.size(),
                  w.listeners.size() == 1 ? "" : "s",
                  config.source_file.empty() ? "none" : config.source_file);
        uv_timer_start(
            &w.tick, [](uv_timer_t* t) { static_cast<Worker*>(t->data)->broker->tick(Clock::now()); }, 1000,
            1000);
        if (config.broker.sys_interval > 0) {
            publish_sys_topics(broker);
            uint64_t every = config.broker.sys_interval * 1000ull;
            uv_timer_start(
                &w.sys, [](uv_timer_t* t) { publish_sys_topics(*static_cast<Worker*>(t->data)->broker); },
                every, every);
        }
        uv_signal_start(&w.sigint, on_signal, SIGINT);
        uv_signal_start(&w.sigterm, on_signal, SIGTERM);
    }

    uv_run(&w.loop, UV_RUN_DEFAULT);
    close_handle(&w.grace);
    uv_run(&w.loop, UV_RUN_DEFAULT);
    w.listeners.clear();
    if (int rc = uv_loop_close(&w.loop); rc != 0)
        log::warn("event loop closed with handles open: {}", uv_err_name(rc));
    if (failed) return 1;
    log::info("stopped");
    return 0;
}

}  // namespace roost
