#include "broker/subscription_tree.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>
#include "naive_matcher.hpp"

using roost::SessionKey;
using roost::SubscriberMatch;
using roost::SubscriptionTree;
using roost::mqtt::SubscriptionOptions;

namespace {
using roost::test::naive_matches;

bool everyone(SessionKey) {
    return true;
}

std::vector<SubscriberMatch> match(const SubscriptionTree& tree, std::string_view topic,
                                   const std::function<bool(SessionKey)>& available = everyone) {
    std::vector<SubscriberMatch> out;
    tree.match(topic, out, available);
    return out;
}

// The sessions matched, sorted, duplicates kept.
std::vector<SessionKey> sessions(const std::vector<SubscriberMatch>& matches) {
    std::vector<SessionKey> keys;
    for (const auto& m : matches)
        keys.push_back(m.session);
    std::sort(keys.begin(), keys.end());
    return keys;
}

std::vector<SessionKey> matched(const SubscriptionTree& tree, std::string_view topic) {
    return sessions(match(tree, topic));
}

SubscriptionOptions qos(uint8_t q) {
    SubscriptionOptions o;
    o.qos = q;
    return o;
}

}  // namespace

TEST_CASE("SubscriptionTree: exact and wildcard filters") {
    SubscriptionTree tree;
    tree.subscribe(1, "a/b/c", {}, 0);
    tree.subscribe(2, "a/+/c", {}, 0);
    tree.subscribe(3, "a/#", {}, 0);
    tree.subscribe(4, "#", {}, 0);
    tree.subscribe(5, "+/+", {}, 0);
    tree.subscribe(6, "a/b", {}, 0);
    CHECK(tree.size() == 6);

    CHECK(matched(tree, "a/b/c") == std::vector<SessionKey>{1, 2, 3, 4});
    CHECK(matched(tree, "a/x/c") == std::vector<SessionKey>{2, 3, 4});
    CHECK(matched(tree, "a/b") == std::vector<SessionKey>{3, 4, 5, 6});
    CHECK(matched(tree, "a/b/c/d") == std::vector<SessionKey>{3, 4});
    CHECK(matched(tree, "b") == std::vector<SessionKey>{4});
}

TEST_CASE("SubscriptionTree: '#' matches the parent level") {
    SubscriptionTree tree;
    tree.subscribe(1, "a/#", {}, 0);
    tree.subscribe(2, "a/+/#", {}, 0);
    CHECK(matched(tree, "a") == std::vector<SessionKey>{1});
    CHECK(matched(tree, "a/b") == std::vector<SessionKey>{1, 2});
    CHECK(matched(tree, "ab").empty());
}

TEST_CASE("SubscriptionTree: '+' matches one level, empty included") {
    SubscriptionTree tree;
    tree.subscribe(1, "a/+/c", {}, 0);
    tree.subscribe(2, "+", {}, 0);
    tree.subscribe(3, "/+", {}, 0);
    CHECK(matched(tree, "a//c") == std::vector<SessionKey>{1});
    CHECK(matched(tree, "a/c").empty());
    CHECK(matched(tree, "a/b/b/c").empty());
    CHECK(matched(tree, "/") == std::vector<SessionKey>{3});  // two empty levels
    CHECK(matched(tree, "x") == std::vector<SessionKey>{2});
    CHECK(matched(tree, "/x") == std::vector<SessionKey>{3});
}

TEST_CASE("SubscriptionTree: '$' topics and first-level wildcards") {
    SubscriptionTree tree;
    tree.subscribe(1, "#", {}, 0);
    tree.subscribe(2, "+/info", {}, 0);
    tree.subscribe(3, "$SYS/#", {}, 0);
    tree.subscribe(4, "$SYS/+", {}, 0);
    tree.subscribe(5, "a/$x", {}, 0);
    tree.subscribe(6, "a/+", {}, 0);
    CHECK(matched(tree, "$SYS/info") == std::vector<SessionKey>{3, 4});
    CHECK(matched(tree, "$SYS") == std::vector<SessionKey>{3});
    CHECK(matched(tree, "x/info") == std::vector<SessionKey>{1, 2});
    // Only the first level counts.
    CHECK(matched(tree, "a/$x") == std::vector<SessionKey>{1, 5, 6});
}

TEST_CASE("SubscriptionTree: subscribe replaces, unsubscribe removes and prunes") {
    SubscriptionTree tree;
    CHECK(tree.subscribe(1, "a/b", qos(0), 7));
    CHECK_FALSE(tree.subscribe(1, "a/b", qos(2), 9));
    CHECK(tree.size() == 1);
    auto m = match(tree, "a/b");
    REQUIRE(m.size() == 1);
    CHECK(m[0].options.qos == 2);
    CHECK(m[0].subscription_id == 9);
    CHECK_FALSE(m[0].shared);

    CHECK(tree.subscribe(2, "a/b", qos(1), 0));
    CHECK(tree.subscribe(1, "a/#", {}, 0));
    CHECK(tree.size() == 3);

    CHECK_FALSE(tree.unsubscribe(3, "a/b"));
    CHECK_FALSE(tree.unsubscribe(1, "a/b/c"));
    CHECK_FALSE(tree.unsubscribe(1, "a/+"));
    CHECK(tree.unsubscribe(1, "a/b"));
    CHECK_FALSE(tree.unsubscribe(1, "a/b"));
    CHECK(matched(tree, "a/b") == std::vector<SessionKey>{1, 2});
    CHECK(tree.unsubscribe(1, "a/#"));
    CHECK(tree.unsubscribe(2, "a/b"));
    CHECK(tree.size() == 0);
    CHECK(match(tree, "a/b").empty());
    CHECK(match(tree, "a").empty());

    // The pruned branches come back when needed.
    CHECK(tree.subscribe(4, "a/b", {}, 0));
    CHECK(matched(tree, "a/b") == std::vector<SessionKey>{4});
}

TEST_CASE("SubscriptionTree: a shared group delivers once, round robin") {
    SubscriptionTree tree;
    CHECK(tree.subscribe(1, "$share/g/t/+", qos(1), 11));
    CHECK(tree.subscribe(2, "$share/g/t/+", qos(1), 0));
    CHECK(tree.subscribe(3, "$share/g/t/+", qos(1), 0));
    CHECK_FALSE(tree.subscribe(3, "$share/g/t/+", qos(2), 0));  // replacing keeps its turn
    CHECK(tree.size() == 3);

    std::map<SessionKey, int> counts;
    std::vector<SessionKey> order;
    for (int i = 0; i < 9; ++i) {
        auto m = match(tree, "t/x");
        REQUIRE(m.size() == 1);
        CHECK(m[0].shared);
        order.push_back(m[0].session);
        ++counts[m[0].session];
    }
    CHECK(order == std::vector<SessionKey>{1, 2, 3, 1, 2, 3, 1, 2, 3});
    CHECK(counts == std::map<SessionKey, int>{{1, 3}, {2, 3}, {3, 3}});

    // The member's own options and identifier travel with it.
    auto m = match(tree, "t/x");
    REQUIRE(m.size() == 1);
    CHECK(m[0].session == 1);
    CHECK(m[0].subscription_id == 11);
    m = match(tree, "t/x");
    m = match(tree, "t/x");
    REQUIRE(m.size() == 1);
    CHECK(m[0].session == 3);
    CHECK(m[0].options.qos == 2);

    // The shared prefix is part of the filter's identity: the plain filter is another subscription.
    CHECK(match(tree, "$share/g/t/x").empty());
    CHECK_FALSE(tree.unsubscribe(1, "t/+"));
    CHECK_FALSE(tree.unsubscribe(1, "$share/h/t/+"));
}

TEST_CASE("SubscriptionTree: a shared group skips unavailable members") {
    SubscriptionTree tree;
    for (SessionKey s = 1; s <= 3; ++s)
        tree.subscribe(s, "$share/g/t", {}, 0);
    auto not_two = [](SessionKey s) { return s != 2; };
    std::vector<SessionKey> order;
    for (int i = 0; i < 4; ++i)
        order.push_back(match(tree, "t", not_two).at(0).session);
    CHECK(order == std::vector<SessionKey>{1, 3, 1, 3});

    // None available: the message still goes to one member, in turn.
    auto nobody = [](SessionKey) { return false; };
    order.clear();
    for (int i = 0; i < 3; ++i)
        order.push_back(match(tree, "t", nobody).at(0).session);
    CHECK(order == std::vector<SessionKey>{1, 2, 3});
}

TEST_CASE("SubscriptionTree: unsubscribing a member keeps the round robin going") {
    SubscriptionTree tree;
    for (SessionKey s = 1; s <= 4; ++s)
        tree.subscribe(s, "$share/g/t", {}, 0);
    CHECK(match(tree, "t").at(0).session == 1);
    CHECK(match(tree, "t").at(0).session == 2);
    CHECK(tree.unsubscribe(1, "$share/g/t"));  // before the cursor
    CHECK(match(tree, "t").at(0).session == 3);
    CHECK(tree.unsubscribe(4, "$share/g/t"));  // the last one, which was next
    CHECK(match(tree, "t").at(0).session == 2);
    CHECK(match(tree, "t").at(0).session == 3);
    CHECK(tree.unsubscribe(2, "$share/g/t"));
    CHECK(tree.unsubscribe(3, "$share/g/t"));
    CHECK(tree.size() == 0);
    CHECK(match(tree, "t").empty());
}

TEST_CASE("SubscriptionTree: several groups and plain subscriptions on one filter") {
    SubscriptionTree tree;
    tree.subscribe(1, "$share/g1/a/#", {}, 0);
    tree.subscribe(2, "$share/g1/a/#", {}, 0);
    tree.subscribe(3, "$share/g2/a/#", {}, 0);
    tree.subscribe(1, "a/#", {}, 0);            // same session, plain: both entries
    tree.subscribe(1, "$share/g2/a/#", {}, 0);  // and in a second group
    CHECK(tree.size() == 5);

    for (int i = 0; i < 4; ++i) {
        auto m = match(tree, "a/b");
        REQUIRE(m.size() == 3);
        int plain = 0;
        for (const auto& s : m)
            plain += s.shared ? 0 : 1;
        CHECK(plain == 1);
    }
    auto m = match(tree, "a");
    std::vector<SessionKey> shared;
    for (const auto& s : m) {
        if (s.shared) shared.push_back(s.session);
    }
    CHECK(shared.size() == 2);

    // Unsubscribing the plain one leaves the shared ones.
    CHECK(tree.unsubscribe(1, "a/#"));
    CHECK(match(tree, "a/b").size() == 2);
    CHECK(tree.size() == 4);
}

TEST_CASE("SubscriptionTree: deep filters do not exhaust the stack") {
    SubscriptionTree tree;
    std::string deep(60000, '/');
    tree.subscribe(1, deep + "#", {}, 0);
    tree.subscribe(2, deep, {}, 0);
    CHECK(matched(tree, deep) == std::vector<SessionKey>{1, 2});
    CHECK(matched(tree, deep + "x") == std::vector<SessionKey>{1});
    CHECK(tree.unsubscribe(2, deep));
}  // and the destructor

TEST_CASE("SubscriptionTree: differential against a naive matcher") {
    std::mt19937 rng(20240601);
    const std::vector<std::string> names{"a", "b", "", "$x", "c"};
    auto pick = [&](size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng); };
    auto random_topic = [&] {
        std::string topic;
        size_t levels = 1 + pick(4);
        for (size_t i = 0; i < levels; ++i)
            topic += (i ? "/" : "") + names[pick(names.size())];
        return topic;
    };
    auto random_filter = [&] {
        std::string filter;
        size_t levels = 1 + pick(4);
        for (size_t i = 0; i < levels; ++i) {
            std::string level = names[pick(names.size())];
            size_t wild = pick(6);
            if (wild == 0) level = "+";
            if (wild == 1 && i + 1 == levels) level = "#";
            filter += (i ? "/" : "") + level;
        }
        return filter;
    };

    for (int round = 0; round < 20; ++round) {
        SubscriptionTree tree;
        // Each subscription a distinct session; some in their own shared group, so the expected
        // result stays deterministic (a one-member group always delivers to that member).
        std::map<SessionKey, std::string> subs;  // session -> filter without the $share prefix
        std::map<SessionKey, std::string> full;  // session -> filter as subscribed
        for (SessionKey s = 1; s <= 60; ++s) {
            std::string filter = random_filter();
            std::string as_subscribed = pick(4) == 0 ? "$share/g" + std::to_string(s) + "/" + filter : filter;
            CHECK(tree.subscribe(s, as_subscribed, {}, static_cast<uint32_t>(s)));
            subs[s] = filter;
            full[s] = as_subscribed;
        }
        // Drop a third again, to exercise pruning against the rest.
        for (SessionKey s = 1; s <= 60; ++s) {
            if (pick(3) == 0) {
                CHECK(tree.unsubscribe(s, full[s]));
                subs.erase(s);
            }
        }
        CHECK(tree.size() == subs.size());

        for (int i = 0; i < 200; ++i) {
            std::string topic = random_topic();
            std::vector<SessionKey> expected;
            for (const auto& [s, filter] : subs) {
                if (naive_matches(filter, topic)) expected.push_back(s);
            }
            auto got = match(tree, topic);
            for (const auto& m : got)
                CHECK(m.subscription_id == m.session);
            INFO("topic: ", topic);
            CHECK(sessions(got) == expected);
        }
    }
}

TEST_CASE("SubscriptionTree: match says when a session may appear twice") {
    SubscriptionTree tree;
    for (SessionKey s = 1; s <= 5; ++s)
        tree.subscribe(s, "fleet/telemetry", {}, 0);
    std::vector<SubscriberMatch> out;
    CHECK_FALSE(tree.match("fleet/telemetry", out));  // one filter's subscribers: no merge needed
    CHECK(out.size() == 5);

    tree.subscribe(9, "$share/g/other", {}, 0);  // another filter, not matched: still one list
    out.clear();
    CHECK_FALSE(tree.match("fleet/telemetry", out));

    tree.subscribe(3, "fleet/#", {}, 0);  // session 3 twice, through overlapping filters
    out.clear();
    CHECK(tree.match("fleet/telemetry", out));
    CHECK(std::count_if(out.begin(), out.end(), [](const SubscriberMatch& m) { return m.session == 3; }) ==
          2);

    tree.unsubscribe(3, "fleet/#");
    tree.subscribe(4, "$share/g/fleet/telemetry", {}, 0);  // a plain and a shared subscription
    out.clear();
    CHECK(tree.match("fleet/telemetry", out));
}
