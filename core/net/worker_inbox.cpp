#include "net/worker_inbox.hpp"

namespace roost {

WorkerInbox::WorkerInbox(uv_loop_t* loop) {
    uv_async_init(loop, &_async, [](uv_async_t* a) { static_cast<WorkerInbox*>(a->data)->drain(); });
    _async.data = this;
    uv_unref(reinterpret_cast<uv_handle_t*>(&_async));  // waiting for plugins must not keep the loop alive
}

bool WorkerInbox::post(std::function<void()> fn) {
    {
        std::lock_guard lock(_mutex);
        if (_closed) return false;
        _queue.push_back(std::move(fn));
    }
    uv_async_send(&_async);
    return true;
}

void WorkerInbox::drain() {
    std::vector<std::function<void()>> batch;
    {
        std::lock_guard lock(_mutex);
        batch.swap(_queue);
    }
    for (auto& fn : batch)
        fn();
}

void WorkerInbox::close() {
    drain();
    {
        std::lock_guard lock(_mutex);
        _closed = true;
        _queue.clear();
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&_async), nullptr);
}

}  // namespace roost
