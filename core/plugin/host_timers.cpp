#include "plugin/host_timers.hpp"

namespace roost {

int HostTimers::start(uint64_t delay_ms, uint64_t repeat_ms, void (*fn)(void*), void* arg, roost_timer* out) {
    if (!fn || (delay_ms == 0 && repeat_ms == 0)) return ROOST_EINVAL;
    if (_closed) return ROOST_EGONE;
    auto* t = new Timer{{}, this, (_next++ << kWorkerBits) | _worker, fn, arg, repeat_ms != 0};
    uv_timer_init(_loop, &t->handle);
    t->handle.data = t;
    uv_timer_start(&t->handle, on_fire, delay_ms, repeat_ms);
    uv_unref(reinterpret_cast<uv_handle_t*>(&t->handle));  // a plugin's timer never keeps the loop alive
    _timers.emplace(t->id, t);
    if (out) *out = t->id;
    return ROOST_OK;
}

int HostTimers::stop(roost_timer id) {
    auto it = _timers.find(id);
    if (it == _timers.end()) return ROOST_EGONE;
    Timer* t = it->second;
    _timers.erase(it);
    release(t);
    return ROOST_OK;
}

void HostTimers::close_all() {
    _closed = true;
    for (auto& [id, t] : _timers)
        release(t);
    _timers.clear();
}

void HostTimers::on_fire(uv_timer_t* handle) {
    auto* t = static_cast<Timer*>(handle->data);
    if (t->repeat) {
        t->fn(t->arg);  // may stop it: then it is closing, and freed by the close callback
        return;
    }
    t->owner->_timers.erase(t->id);  // a one-shot is gone once it fires, even while fn runs
    void (*fn)(void*) = t->fn;
    void* arg = t->arg;
    release(t);
    fn(arg);
}

void HostTimers::release(Timer* t) {
    uv_timer_stop(&t->handle);
    uv_close(reinterpret_cast<uv_handle_t*>(&t->handle),
             [](uv_handle_t* h) { delete reinterpret_cast<Timer*>(h); });
}

}  // namespace roost
