#include "broker/retained_store.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <vector>
#include "naive_matcher.hpp"

using roost::Clock;
using roost::Message;
using roost::MessagePtr;
using roost::RetainedStore;
using namespace std::chrono_literals;

namespace {
using roost::test::naive_matches;

const Clock::time_point t0 = Clock::now();

MessagePtr message(std::string topic, std::string payload,
                   std::optional<Clock::time_point> expires_at = std::nullopt) {
    auto m = std::make_shared<Message>();
    m->topic = std::move(topic);
    m->payload = std::move(payload);
    m->retain = true;
    m->expires_at = expires_at;
    return m;
}

// The topics of the retained messages matching `filter`, sorted.
std::vector<std::string> topics(RetainedStore& store, std::string_view filter, Clock::time_point now = t0) {
    std::vector<MessagePtr> out;
    store.match(filter, now, out);
    std::vector<std::string> result;
    for (const auto& m : out)
        result.push_back(m->topic);
    std::sort(result.begin(), result.end());
    return result;
}

using Topics = std::vector<std::string>;

}  // namespace

TEST_CASE("RetainedStore: exact and wildcard filters") {
    RetainedStore store;
    store.set(message("a", "1"));
    store.set(message("a/b", "2"));
    store.set(message("a/b/c", "3"));
    store.set(message("a/x/c", "4"));
    store.set(message("a//c", "5"));
    store.set(message("/a", "6"));
    CHECK(store.size() == 6);

    CHECK(topics(store, "a/b") == Topics{"a/b"});
    CHECK(topics(store, "a/b/c/d").empty());
    CHECK(topics(store, "a/+/c") == Topics{"a//c", "a/b/c", "a/x/c"});
    CHECK(topics(store, "a/#") == Topics{"a", "a//c", "a/b", "a/b/c", "a/x/c"});
    CHECK(topics(store, "a/b/#") == Topics{"a/b", "a/b/c"});
    CHECK(topics(store, "#") == Topics{"/a", "a", "a//c", "a/b", "a/b/c", "a/x/c"});
    CHECK(topics(store, "+") == Topics{"a"});
    CHECK(topics(store, "+/+") == Topics{"/a", "a/b"});
    CHECK(topics(store, "/+") == Topics{"/a"});
    CHECK(topics(store, "+/+/+/#") == Topics{"a//c", "a/b/c", "a/x/c"});
}

TEST_CASE("RetainedStore: '$' topics and first-level wildcards") {
    RetainedStore store;
    store.set(message("$SYS/uptime", "1"));
    store.set(message("$SYS", "2"));
    store.set(message("a/$x", "3"));
    store.set(message("b", "4"));
    CHECK(topics(store, "#") == Topics{"a/$x", "b"});
    CHECK(topics(store, "+/uptime").empty());
    CHECK(topics(store, "+") == Topics{"b"});
    CHECK(topics(store, "$SYS/#") == Topics{"$SYS", "$SYS/uptime"});
    CHECK(topics(store, "$SYS/+") == Topics{"$SYS/uptime"});
    CHECK(topics(store, "a/+") == Topics{"a/$x"});  // only the first level counts
}

TEST_CASE("RetainedStore: overwrite and clear") {
    RetainedStore store;
    store.set(message("a/b", "old"));
    store.set(message("a/b", "new"));
    CHECK(store.size() == 1);
    std::vector<MessagePtr> out;
    store.match("a/b", t0, out);
    REQUIRE(out.size() == 1);
    CHECK(out[0]->payload == "new");

    store.set(message("a/b/c", "x"));
    store.set(message("a/b", ""));  // an empty payload clears
    CHECK(store.size() == 1);
    CHECK(topics(store, "#") == Topics{"a/b/c"});
    store.set(message("a/b", ""));  // clearing nothing is harmless
    store.set(message("q/r", ""));
    CHECK(store.size() == 1);
    store.set(message("a/b/c", ""));
    CHECK(store.size() == 0);
    CHECK(topics(store, "#").empty());

    // The pruned branches come back when needed.
    store.set(message("a/b", "again"));
    CHECK(topics(store, "a/#") == Topics{"a/b"});
}

TEST_CASE("RetainedStore: expired messages are skipped and dropped") {
    RetainedStore store;
    store.set(message("a/1", "x", t0 + 10s));
    store.set(message("a/2", "x", t0 + 20s));
    store.set(message("a/3", "x"));
    store.set(message("b/1", "x", t0 + 10s));
    CHECK(topics(store, "a/+", t0) == Topics{"a/1", "a/2", "a/3"});

    CHECK(topics(store, "a/+", t0 + 10s) == Topics{"a/2", "a/3"});
    CHECK(store.size() == 3);  // b/1 has expired too, but no match met it yet
    CHECK(topics(store, "#", t0 + 30s) == Topics{"a/3"});
    CHECK(store.size() == 1);
    // Once dropped, it stays dropped even for a clock that says otherwise.
    CHECK(topics(store, "#", t0) == Topics{"a/3"});

    // A message replacing an expired one is kept.
    store.set(message("a/1", "y", t0 + 60s));
    CHECK(topics(store, "a/1", t0 + 30s) == Topics{"a/1"});
}

TEST_CASE("RetainedStore: deep topics do not exhaust the stack") {
    RetainedStore store;
    std::string deep(60000, '/');
    store.set(message(deep + "x", "1"));
    CHECK(topics(store, "#").size() == 1);
    CHECK(topics(store, deep + "+").size() == 1);
}  // and the destructor

TEST_CASE("RetainedStore: differential against a naive matcher") {
    std::mt19937 rng(20240602);
    const std::vector<std::string> names{"a", "b", "", "$x", "c"};
    auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
    auto random_path = [&](bool wildcards) {
        std::string path;
        size_t levels = 1 + pick(4);
        for (size_t i = 0; i < levels; ++i) {
            std::string level = names[pick(names.size())];
            size_t wild = wildcards ? pick(6) : 5;
            if (wild == 0) level = "+";
            if (wild == 1 && i + 1 == levels) level = "#";
            path += (i ? "/" : "") + level;
        }
        return path;
    };

    for (int round = 0; round < 20; ++round) {
        RetainedStore store;
        std::map<std::string, Clock::time_point> stored;  // topic -> expiry
        for (int i = 0; i < 80; ++i) {
            std::string topic = random_path(false);
            if (pick(4) == 0) {
                store.set(message(topic, ""));
                stored.erase(topic);
            } else {
                Clock::time_point expiry = t0 + std::chrono::seconds(pick(100));
                store.set(message(topic, "x", expiry));
                stored[topic] = expiry;
            }
        }
        CHECK(store.size() == stored.size());

        // Time only moves forward, as the broker's does.
        Clock::time_point now = t0;
        for (int i = 0; i < 200; ++i) {
            now += std::chrono::milliseconds(pick(1000));
            std::string filter = random_path(true);
            Topics expected;
            for (const auto& [topic, expiry] : stored) {
                if (naive_matches(filter, topic) && now < expiry) expected.push_back(topic);
            }
            INFO("filter: ", filter);
            CHECK(topics(store, filter, now) == expected);
        }
        // Every message is met by "#" or "$x/#"; afterwards only the live ones remain.
        topics(store, "#", now);
        topics(store, "$x/#", now);
        size_t live =
            std::count_if(stored.begin(), stored.end(), [&](const auto& e) { return now < e.second; });
        CHECK(store.size() == live);
    }
}
