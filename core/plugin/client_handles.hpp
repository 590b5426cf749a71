// Clients as plugins may keep them: roost_client_ref numbers, and each plugin's data slot per
// client (host->client_data_set/get, client_ref, client_from_ref, client_ref_disconnect).
//
// A ref is (sequence << 8 | worker): never reused, it names the worker that owns the client, so
// any thread can find where to post a disconnect. Each worker keeps the refs of its live clients
// in one map under a mutex (taken at connect and close, and by other threads' lookups); a ref
// not in the map answers ROOST_EGONE. Nothing a plugin holds ever points at a client.
#pragma once
#include <cstdint>
#include <mutex>

#include "plugin/handles.hpp"
#include "util/flat_pointer_map.hpp"

namespace roost {

class ClientHandles {
  public:
    static constexpr unsigned kWorkerBits = 8;
    static unsigned worker_of(roost_client_ref ref) {
        return static_cast<unsigned>(ref & ((1u << kWorkerBits) - 1));
    }

    explicit ClientHandles(unsigned worker) : _worker(worker) {}
    ClientHandles(const ClientHandles&) = delete;
    ClientHandles& operator=(const ClientHandles&) = delete;

    // On the worker: a client was created; its handle gets its ref.
    void add(roost_client* handle);
    // On the worker: the client is gone (released); its ref answers EGONE from now on.
    void remove(roost_client* handle);
    // On the worker: the live client of `ref`, or nullptr.
    roost_client* find(roost_client_ref ref) const;
    // Any thread: is the client of `ref` still there?
    bool alive(roost_client_ref ref) const;

  private:
    unsigned _worker;
    mutable std::mutex _mutex;
    // Flat, keyed by the handle's own `ref` (util/flat_pointer_map.hpp): one slot per connection.
    // A handle is removed before its client goes, and its ref never changes once added.
    struct RefOf {
        static uint64_t of(const roost_client& handle) { return handle.ref; }
    };
    FlatPointerMap<roost_client, RefOf> _live;
    uint64_t _next = 1;
};

}  // namespace roost
