// StoredMessageRefs: the first and last references of a stored message, and the order of the
// store and release calls they lead to when two workers race on one message.
#include "plugin/stored_message_refs.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <thread>

using namespace roost;
using namespace std::chrono_literals;

TEST_CASE("the first reference stores, the last releases") {
    StoredMessageRefs refs;
    CHECK(refs.add_reference(7));
    CHECK_FALSE(refs.add_reference(7));
    CHECK_FALSE(refs.drop_reference(7));
    CHECK(refs.drop_reference(7));
    refs.finish_release(7);
    CHECK(refs.add_reference(7));          // stored again after its release
    CHECK_FALSE(refs.drop_reference(99));  // never counted: nothing to release
}

TEST_CASE("restored deliveries count like saved ones") {
    StoredMessageRefs refs;
    refs.note_restored(3);
    refs.note_restored(3);
    CHECK_FALSE(refs.add_reference(3));
    CHECK_FALSE(refs.drop_reference(3));
    CHECK_FALSE(refs.drop_reference(3));
    CHECK(refs.drop_reference(3));
}

TEST_CASE("a new first store waits until another worker's release call has returned") {
    // Worker A drops the last reference and is slow to make its release call; worker B saves a
    // new delivery of the same message meanwhile. B's store must reach the plugin after A's
    // release, or the plugin would drop a message B's delivery names.
    StoredMessageRefs refs;
    REQUIRE(refs.add_reference(42));
    REQUIRE(refs.drop_reference(42));  // A: the last reference; its release call is next

    std::atomic<bool> release_returned{false};
    std::atomic<bool> b_first{false}, b_stored_after_release{false};
    std::thread b([&] {
        bool first = refs.add_reference(42);
        b_first = first;
        b_stored_after_release = release_returned.load();
    });
    std::this_thread::sleep_for(50ms);  // B is blocked, not storing
    release_returned = true;            // A's message_release hook returned
    refs.finish_release(42);
    b.join();
    CHECK(b_first);                 // B stores the message again...
    CHECK(b_stored_after_release);  // ...after A's release
    CHECK_FALSE(refs.drop_reference(99));
    CHECK(refs.drop_reference(42));
}

TEST_CASE("other messages in the same shard are not held up by a release") {
    StoredMessageRefs refs;
    REQUIRE(refs.add_reference(5));
    REQUIRE(refs.drop_reference(5));  // releasing, never finished in this test's other thread
    std::atomic<bool> first{false};
    std::thread other([&] { first = refs.add_reference(5 + 16); });  // same shard (16), another message
    other.join();
    CHECK(first);
    refs.finish_release(5);
}
