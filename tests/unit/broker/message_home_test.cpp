// message_home: messages that die away from their home worker come back to it and are freed there.
#include <doctest/doctest.h>

#include <thread>
#include <vector>

#include "broker/message_home.hpp"
#include "broker/worker_thread.hpp"

using roost::Message;
namespace message_home = roost::message_home;
namespace worker_thread = roost::worker_thread;

namespace {

// Runs `fn` on a new thread that acts as worker `index`.
template <typename F>
void on_worker(unsigned index, F&& fn) {
    std::thread t([&] {
        worker_thread::set(index);
        fn();
    });
    t.join();
}

std::shared_ptr<Message> filled(int i) {
    auto m = message_home::make_homed_message();
    m->topic = "a/topic/long/enough/to/leave/the/small/string/" + std::to_string(i);
    m->payload.assign(100, 'x');
    m->qos = 1;
    m->retain = true;
    m->origin_client_id = "publisher-with-a-long-client-id";
    m->origin_session = 7;
    m->id = 42;
    return m;
}

void check_fresh(const Message& m) {
    CHECK(m.topic.empty());
    CHECK(m.payload.empty());
    CHECK(m.qos == 0);
    CHECK_FALSE(m.retain);
    CHECK(m.origin_client_id.empty());
    CHECK(m.origin_session == 0);
    CHECK(m.id == 0);
    CHECK_FALSE(m.expires_at.has_value());
}

}  // namespace

TEST_CASE("message_home: messages dying at home and away are freed, and new ones start empty") {
    std::vector<std::shared_ptr<Message>> made;
    // More than one hand-over's worth (kFlushCount), so the hand-over on a full list runs too.
    on_worker(3, [&] {
        for (int i = 0; i < 700; ++i)
            made.push_back(filled(i));
        // Half die at home.
        for (size_t i = 0; i < made.size(); i += 2)
            made[i].reset();
    });
    // The other half die on worker 4 and are handed back.
    on_worker(4, [&] {
        for (auto& m : made)
            m.reset();
        message_home::flush_returns();
    });
    on_worker(3, [&] {
        message_home::drain_home();
        std::vector<std::shared_ptr<Message>> again;
        for (int i = 0; i < 700; ++i) {
            again.push_back(message_home::make_homed_message());
            check_fresh(*again.back());
        }
        again[0]->topic = "still/usable";
        CHECK(again[0]->topic == "still/usable");
    });
}

TEST_CASE("message_home: a homed message that dies on a thread with no worker is freed there") {
    std::shared_ptr<Message> m;
    on_worker(5, [&] { m = filled(1); });
    std::thread([&] { m.reset(); }).join();
    CHECK(m == nullptr);
    message_home::drain_all_homes();
}
