#include "broker/message_home.hpp"

#include <atomic>
#include <mutex>
#include <new>
#include <vector>

#include "broker/worker_thread.hpp"

namespace roost::message_home {
namespace {

constexpr unsigned kMaxHomes = 256;        // [broker] workers is at most 256
constexpr size_t kFlushCount = 256;        // messages parked for one home before a hand-over
constexpr size_t kFlushBytes = 256 << 10;  // or payload bytes parked for it

// One thing to free on its home: a Message, or the raw memory of its control block.
struct Parked {
    void* memory;
    bool is_message;
};

void free_now(const Parked& x) {
    if (x.is_message)
        delete static_cast<Message*>(x.memory);
    else
        ::operator delete(x.memory);
}

struct alignas(64) Home {
    std::mutex mutex;
    std::vector<Parked> returned;  // guarded by mutex
    std::atomic<bool> any{false};  // returned is not empty: drain_home's test without the lock
};

// Never destroyed: a message may die after its Server (a plugin's reference, a test's copy).
Home* homes() {
    static Home* const all = new Home[kMaxHomes];
    return all;
}

struct ForHome {
    std::vector<Parked> items;
    size_t bytes = 0;
};

// True once the thread's lists are destroyed (trivially destructible, so readable until the
// thread is gone): a message that dies in a later thread-exit destructor is freed at once.
thread_local bool t_lists_gone = false;

struct ThreadLists {
    std::vector<ForHome> by_home;  // index: the home worker
    ~ThreadLists() {
        t_lists_gone = true;
        for (ForHome& f : by_home)
            for (const Parked& x : f.items)
                free_now(x);
    }
};
thread_local ThreadLists t_lists;

void hand_over(unsigned home, ForHome& f) {
    Home& h = homes()[home];
    {
        std::lock_guard lock(h.mutex);
        if (h.returned.empty())
            h.returned.swap(f.items);  // the home's emptied vector comes back to be filled again
        else
            h.returned.insert(h.returned.end(), f.items.begin(), f.items.end());
        h.any.store(true, std::memory_order_relaxed);
    }
    f.items.clear();
    f.bytes = 0;
}

// True when memory of `home` dying on this thread is to be parked rather than freed.
bool away_from(unsigned home) {
    const unsigned me = worker_thread::index();
    return me != home && me != worker_thread::kNone && !t_lists_gone;
}

void park(unsigned home, Parked x, size_t bytes) {
    std::vector<ForHome>& lists = t_lists.by_home;
    if (lists.size() <= home) lists.resize(home + 1);
    ForHome& f = lists[home];
    f.items.push_back(x);
    f.bytes += bytes;
    if (f.items.size() >= kFlushCount || f.bytes >= kFlushBytes) hand_over(home, f);
}

struct HomeDeleter {
    unsigned home;
    void operator()(Message* m) const {
        if (!away_from(home)) return delete m;
        park(home, {m, true}, m->payload.capacity() + m->topic.capacity());
    }
};

// Allocates the control block on the home and frees it there, like the message.
template <typename T>
struct HomeAllocator {
    using value_type = T;
    unsigned home;
    explicit HomeAllocator(unsigned h) : home(h) {}
    template <typename U>
    HomeAllocator(const HomeAllocator<U>& other) : home(other.home) {}
    T* allocate(size_t n) { return static_cast<T*>(::operator new(n * sizeof(T))); }
    void deallocate(T* p, size_t) {
        if (!away_from(home)) return ::operator delete(p);
        park(home, {p, false}, 0);
    }
    template <typename U>
    bool operator==(const HomeAllocator<U>& other) const {
        return home == other.home;
    }
};

void drain(Home& h) {
    std::vector<Parked> taken;
    {
        std::lock_guard lock(h.mutex);
        taken.swap(h.returned);
        h.any.store(false, std::memory_order_relaxed);
    }
    for (const Parked& x : taken)
        free_now(x);
    taken.clear();
    std::lock_guard lock(h.mutex);
    if (h.returned.empty()) h.returned.swap(taken);  // keep the capacity for the next hand-over
}

}  // namespace

std::shared_ptr<Message> make_homed_message() {
    const unsigned me = worker_thread::index();
    if (me >= kMaxHomes) return std::make_shared<Message>();
    return std::shared_ptr<Message>(new Message, HomeDeleter{me}, HomeAllocator<Message>(me));
}

void flush_returns() {
    if (t_lists_gone) return;
    std::vector<ForHome>& lists = t_lists.by_home;
    for (unsigned home = 0; home < lists.size(); ++home)
        if (!lists[home].items.empty()) hand_over(home, lists[home]);
}

void drain_home() {
    const unsigned me = worker_thread::index();
    if (me >= kMaxHomes) return;
    Home& h = homes()[me];
    if (h.any.load(std::memory_order_relaxed)) drain(h);
}

void drain_all_homes() {
    flush_returns();
    for (unsigned i = 0; i < kMaxHomes; ++i)
        if (homes()[i].any.load(std::memory_order_relaxed)) drain(homes()[i]);
}

}  // namespace roost::message_home
