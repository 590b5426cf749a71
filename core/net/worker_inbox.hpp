// Work handed to a worker's thread from any thread (plugin completions, host->post, host->publish),
// run on that worker's loop. The one way into a loop from outside it.
#pragma once
#include <uv.h>

#include <functional>
#include <mutex>
#include <vector>

namespace roost {

class WorkerInbox {
  public:
    explicit WorkerInbox(uv_loop_t* loop);
    WorkerInbox(const WorkerInbox&) = delete;
    WorkerInbox& operator=(const WorkerInbox&) = delete;

    // Any thread. Returns false once closed (the worker is stopping): `fn` will not run.
    bool post(std::function<void()> fn);
    // On the worker, while stopping: runs what is queued, then refuses more.
    void close();

  private:
    void drain();

    uv_async_t _async{};
    std::mutex _mutex;
    std::vector<std::function<void()>> _queue;
    bool _closed = false;
};

}  // namespace roost
