#include "plugin/pending_calls.hpp"

#include <vector>

#include "net/worker_inbox.hpp"
#include "util/log.hpp"

namespace roost {
namespace {
// How long an early completion nobody awaited is kept before the sweep forgets it.
constexpr auto kKeepCompleted = std::chrono::seconds(5);
// The top byte of a _done slot holds the plugin's name index + 1; the rest is the id.
constexpr unsigned kNameShift = 56;
constexpr uint64_t kIdMask = (uint64_t(1) << kNameShift) - 1;

uint64_t id_of(roost_call* call) {
    return reinterpret_cast<uintptr_t>(call);
}
}  // namespace

uint16_t PendingCalls::name_index(const std::string& plugin) {
    uint16_t i = 0;
    while (i < _names.size() && _names[i] != plugin)
        ++i;
    if (i == _names.size()) _names.push_back(plugin);
    return i;
}

void PendingCalls::remember_done(uint64_t id, uint16_t plugin) {
    if (_done.empty()) _done.resize(kDoneWindow);
    _done[(id >> kWorkerBits) % kDoneWindow] = (uint64_t(plugin + 1) << kNameShift) | (id & kIdMask);
}

const std::string* PendingCalls::done_by(uint64_t id) const {
    if (_done.empty()) return nullptr;
    uint64_t slot = _done[(id >> kWorkerBits) % kDoneWindow];
    if (slot == 0 || (slot & kIdMask) != (id & kIdMask)) return nullptr;
    size_t name = size_t(slot >> kNameShift) - 1;
    return name < _names.size() ? &_names[name] : nullptr;
}

void PendingCalls::await(roost_call* call, const std::string& plugin, std::chrono::milliseconds timeout,
                         Resume resume) {
    uint64_t id = id_of(call);
    std::lock_guard lock(_mutex);
    auto [it, inserted] = _entries.try_emplace(id);
    Entry& e = it->second;
    e.resume = std::move(resume);
    if (inserted) {
        e.plugin = name_index(plugin);
        e.state = State::Waiting;
        e.deadline = Clock::now() + timeout;
    } else if (e.state == State::Early) {
        // The plugin's thread was faster than its hook's return: run the answer it already gave.
        e.state = State::Completed;
        if (!plugin.empty()) e.plugin = name_index(plugin);
        _inbox.post([this, id, result = std::move(e.result)] { run(id, result); });
    }
}

int PendingCalls::complete_locked(uint64_t id, CallResult& result, bool& post) {
    post = false;
    if (_closed) return ROOST_EGONE;
    auto [it, inserted] = _entries.try_emplace(id);
    Entry& e = it->second;
    if (inserted) {
        // Completed and run already (its entry is gone)? Only looked up for unknown ids.
        if (const std::string* name = done_by(id)) {
            _entries.erase(it);
            log::warn("plugin '{}' completed call {} a second time; ignored (complete is owed exactly once)",
                      *name, id);
            return ROOST_EINVAL;
        }
    }
    if (inserted) {
        // Not awaited (yet): either its hook has not returned PENDING so far, or it answered
        // synchronously and this completion is one too many. Keep the answer for await();
        // the sweep forgets it if nobody asks.
        e.state = State::Early;
        e.completed_at = Clock::now();
        e.result = std::move(result);
        return ROOST_OK;
    }
    if (e.state == State::Completed || e.state == State::Early) {
        log::warn("plugin '{}' completed call {} a second time; ignored (complete is owed exactly once)",
                  e.state == State::Completed ? _names[e.plugin] : std::string("?"), id);
        return ROOST_EINVAL;
    }
    if (e.state == State::Abandoned) {
        log::debug("plugin '{}' completed call {} after it timed out or its client left", _names[e.plugin],
                   id);
        _entries.erase(it);
        return ROOST_EGONE;
    }
    e.state = State::Completed;
    e.completed_at = Clock::now();
    post = true;
    return ROOST_OK;
}

int PendingCalls::complete(roost_call* call, roost_verdict verdict, uint8_t reason_code,
                           const roost_bytes* reply) {
    uint64_t id = id_of(call);
    if ((id >> kWorkerBits) == 0 || (id >> kWorkerBits) >= _next_id.load()) {
        log::warn("a plugin completed call {}, which was never issued; ignored", id);
        return ROOST_EINVAL;
    }
    CallResult result{verdict, reason_code, {}, false};
    if (reply && reply->data) result.reply.assign(reinterpret_cast<const char*>(reply->data), reply->len);
    bool post = false;
    int rc;
    {
        std::lock_guard lock(_mutex);
        rc = complete_locked(id, result, post);
    }
    if (!post) return rc;
    if (!_inbox.post([this, id, result] { run(id, result); })) return ROOST_EGONE;
    return ROOST_OK;
}

int PendingCalls::complete_many(roost_call* const* calls, size_t n, roost_verdict verdict,
                                uint8_t reason_code, int* results) {
    std::vector<uint64_t> ready;
    int first_error = ROOST_OK;
    uint64_t issued = _next_id.load();
    {
        std::lock_guard lock(_mutex);
        for (size_t i = 0; i < n; ++i) {
            uint64_t id = id_of(calls[i]);
            int rc;
            bool post = false;
            if ((id >> kWorkerBits) == 0 || (id >> kWorkerBits) >= issued ||
                (id & (kMaxWorkers - 1)) != _worker) {
                rc = ROOST_EINVAL;
            } else {
                CallResult result{verdict, reason_code, {}, false};
                rc = complete_locked(id, result, post);
            }
            if (post) ready.push_back(id);
            if (results) results[i] = rc;
            if (rc != ROOST_OK && first_error == ROOST_OK) first_error = rc;
        }
    }
    if (ready.empty()) return first_error;
    CallResult result{verdict, reason_code, {}, false};
    // One post, one wake-up of the worker, for the whole batch.
    if (!_inbox.post([this, ready = std::move(ready), result] { run_many(ready, result); })) {
        if (results)
            for (size_t i = 0; i < n; ++i)
                if (results[i] == ROOST_OK) results[i] = ROOST_EGONE;
        return ROOST_EGONE;
    }
    return first_error;
}

void PendingCalls::close() {
    std::lock_guard lock(_mutex);
    _closed = true;
}

void PendingCalls::run(uint64_t id, CallResult result) {
    Resume resume;
    {
        std::lock_guard lock(_mutex);
        auto it = _entries.find(id);
        if (it == _entries.end()) return;
        resume = std::move(it->second.resume);
        // Done with: only its id (and its plugin, as an index) is kept, to name a second completion.
        remember_done(id, it->second.plugin);
        _entries.erase(it);
    }
    if (resume) resume(result);
}

void PendingCalls::run_many(const std::vector<uint64_t>& ids, const CallResult& result) {
    std::vector<Resume> resumes;
    resumes.reserve(ids.size());
    {
        std::lock_guard lock(_mutex);
        for (uint64_t id : ids) {
            auto it = _entries.find(id);
            if (it == _entries.end()) continue;
            if (it->second.resume) resumes.push_back(std::move(it->second.resume));
            remember_done(id, it->second.plugin);
            _entries.erase(it);
        }
    }
    // In completion order, as run() one by one would: a resume may await or complete more calls.
    for (Resume& resume : resumes)
        resume(result);
}

void PendingCalls::cancel(roost_call* call) {
    std::lock_guard lock(_mutex);
    auto it = _entries.find(id_of(call));
    if (it == _entries.end()) return;
    it->second.resume = nullptr;
    if (it->second.state == State::Waiting) it->second.state = State::Abandoned;
}

void PendingCalls::expire(Clock::time_point now) {
    std::vector<std::pair<std::string, Resume>> timed_out;
    {
        std::lock_guard lock(_mutex);
        // What is left here waits (bounded by what is in flight), was abandoned, or completed
        // early and was never awaited.
        for (auto it = _entries.begin(); it != _entries.end();) {
            Entry& e = it->second;
            if (e.state == State::Waiting && now >= e.deadline) {
                e.state = State::Abandoned;
                timed_out.emplace_back(_names[e.plugin], std::move(e.resume));
                e.resume = nullptr;
            } else if ((e.state == State::Completed || e.state == State::Early) && !e.resume &&
                       now - e.completed_at > kKeepCompleted) {
                it = _entries.erase(it);
                continue;
            }
            ++it;
        }
    }
    for (auto& [plugin, resume] : timed_out) {
        log::warn("plugin '{}' did not complete a PENDING call in time ([broker] plugin_timeout_ms); denying",
                  plugin);
        if (resume) resume(CallResult{ROOST_DENY, 0, {}, true});
    }
}

}  // namespace roost
