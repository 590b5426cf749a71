// Reload on SIGHUP. The new script is checked on the main thread first (compiled and its top
// level run in a throw-away state); then every worker compiles it into a pending state of its
// own (host->post), and only when all of them succeeded does each worker switch to it. Any
// failure leaves every worker on the old script, and the log says why with file:line.
#include <stdexcept>

#include "client_state.hpp"
#include "worker.hpp"

namespace roost_lua {
namespace {

// One reload in flight: shared by the posted jobs, the last worker to prepare decides.
struct Round {
    Plugin* plugin;
    uint64_t id;
    std::shared_ptr<const Settings> settings;
    std::string source;
    std::atomic<int> remaining;
    std::atomic<bool> failed{false};
    std::mutex mutex;
    std::string error;  // the first worker's failure
};

enum class Step { prepare, commit, abort };

struct Job {
    std::shared_ptr<Round> round;
    uint32_t worker;
    Step step;
};

Worker* worker_of(Plugin* p, uint32_t index) {
    std::lock_guard<std::mutex> lock(p->mutex);
    return index < p->workers.size() ? p->workers[index] : nullptr;
}

void run_job(void* arg);

void post_to_all(const std::shared_ptr<Round>& round, Step step) {
    Plugin* p = round->plugin;
    uint32_t n = p->host.host->worker_count();
    for (uint32_t i = 0; i < n; ++i) {
        auto* job = new Job{round, i, step};
        if (p->host.host->post(p->host.self, i, run_job, job) != ROOST_OK) {
            delete job;  // the broker is stopping: nothing to switch
        }
    }
}

// The last worker to prepare decides for all.
void prepared(const std::shared_ptr<Round>& round) {
    if (round->remaining.fetch_sub(1) != 1) return;
    Plugin* p = round->plugin;
    if (round->failed) {
        p->host.host->log(p->host.self, ROOST_LOG_ERROR,
                          "reload of %s refused: %s; every worker keeps the running script",
                          round->settings->script.c_str(), round->error.c_str());
        post_to_all(round, Step::abort);
        return;
    }
    {
        std::lock_guard<std::mutex> lock(p->mutex);
        p->settings = round->settings;
        p->source = round->source;
    }
    p->host.host->log(p->host.self, ROOST_LOG_INFO, "reloaded %s: compiled on %u workers, switching",
                      round->settings->script.c_str(), p->host.host->worker_count());
    post_to_all(round, Step::commit);
}

void run_job(void* arg) {
    std::unique_ptr<Job> job(static_cast<Job*>(arg));
    Round& r = *job->round;
    Worker* w = worker_of(r.plugin, job->worker);
    switch (job->step) {
        case Step::prepare: {
            std::string error;
            std::unique_ptr<Script> s =
                w ? Script::load(r.settings, r.source, r.plugin->host, &error) : nullptr;
            if (s) {
                w->pending = std::move(s);
                w->pending_round = r.id;
            } else {
                std::lock_guard<std::mutex> lock(r.mutex);
                if (!r.failed.exchange(true))
                    r.error = "worker " + std::to_string(job->worker) + ": " + (w ? error : "not running");
            }
            prepared(job->round);
            break;
        }
        case Step::commit:
            if (w && w->pending && w->pending_round == r.id) {
                // Per-client data survives the switch; cached answers do not (new generation).
                w->script->copy_client_data_to(*w->pending);
                w->script = std::move(w->pending);
                ++w->generation;
                // And so do the answers the host keeps for this worker's clients (every worker
                // asks after its own switch, so none keeps an answer of its old script).
                forget_host_answers(r.plugin->host.host, r.plugin->host.self, nullptr);
            }
            break;
        case Step::abort:
            if (w && w->pending_round == r.id) w->pending.reset();
            break;
    }
}

}  // namespace

int reload_script(Plugin* p, const roost_option* options, size_t count) {
    const roost_host* host = p->host.host;
    std::shared_ptr<const Settings> settings;
    try {
        settings = parse_settings(options, count);
    } catch (const std::invalid_argument& e) {
        host->log(p->host.self, ROOST_LOG_ERROR, "reload refused: %s; the running script stays", e.what());
        return ROOST_EINVAL;
    }
    std::string source, error;
    std::unique_ptr<Script> check;
    if (!Script::read_source(*settings, &source, &error) ||
        !(check = Script::load(settings, source, HostContext{}, &error))) {
        host->log(p->host.self, ROOST_LOG_ERROR, "reload refused: %s; the running script stays",
                  error.c_str());
        return ROOST_EINVAL;
    }
    {
        // A hook kind the broker was not told about at start cannot be added now.
        for (int h = 0; h < Script::hook_count; ++h) {
            auto hook = static_cast<Script::Hook>(h);
            if (check->has(hook) && !p->registered[h])
                host->log(
                    p->host.self, ROOST_LOG_WARNING,
                    "reload: %s now defines %s, which the script at start did not: it takes effect at the "
                    "next start",
                    settings->script.c_str(), Script::hook_name(hook));
        }
        check.reset();
    }
    auto round = std::make_shared<Round>();
    round->plugin = p;
    round->id = p->next_round.fetch_add(1);
    round->settings = settings;
    round->source = std::move(source);
    round->remaining = static_cast<int>(host->worker_count());
    // Each worker compiles the new script on its own thread; the last one to finish decides.
    uint32_t n = host->worker_count();
    for (uint32_t i = 0; i < n; ++i) {
        auto* job = new Job{round, i, Step::prepare};
        if (host->post(p->host.self, i, run_job, job) != ROOST_OK) {
            delete job;
            {
                std::lock_guard<std::mutex> lock(round->mutex);
                if (!round->failed.exchange(true))
                    round->error = "worker " + std::to_string(i) + " is stopping";
            }
            prepared(round);
        }
    }
    return ROOST_OK;
}

}  // namespace roost_lua
