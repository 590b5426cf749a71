// The flat session directory against a std::map doing the same, over many claims and
// releases (backward-shift deletion is where open addressing goes wrong), and the pieces that
// keep an idle session small (LazyMap, OptionalTime, the worker's flat SessionTable, PacketIdSet).
#include <doctest/doctest.h>

#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "broker/session_directory.hpp"
#include "broker/session_table.hpp"
#include "util/flat_pointer_map.hpp"
#include "util/lazy_map.hpp"
#include "util/optional_time.hpp"
#include "util/packet_id_set.hpp"

using namespace roost;

TEST_CASE("session directory: claim, find, move and release agree with a map") {
    SessionDirectory dir;
    std::deque<std::string> ids;  // stable addresses, as Session::client_id has
    std::map<std::string, std::pair<unsigned, SessionKey>> model;
    std::map<std::string, const std::string*> where;
    std::mt19937 rng(7);
    SessionKey next_key = 1;
    for (int step = 0; step < 20000; ++step) {
        std::string id = "c" + std::to_string(rng() % 600);
        int what = static_cast<int>(rng() % 4);
        if (what <= 1) {
            SessionKey key = next_key++;
            unsigned worker = rng() % 3;
            ids.push_back(id);
            auto owner = dir.claim(&ids.back(), worker, key);
            auto it = model.find(id);
            if (it == model.end()) {
                CHECK_FALSE(owner);
                model[id] = {worker, key};
            } else {
                REQUIRE(owner);
                CHECK(owner->worker == it->second.first);
                CHECK(owner->key == it->second.second);
            }
        } else if (what == 2) {
            auto it = model.find(id);
            // Releasing with a stale key leaves a newer session alone.
            SessionKey key =
                it == model.end() ? 0 : (rng() % 5 == 0 ? it->second.second + 1000000 : it->second.second);
            dir.release(id, key);
            if (it != model.end() && it->second.second == key) model.erase(it);
        } else {
            unsigned worker = rng() % 3;
            dir.move(id, worker);
            if (auto it = model.find(id); it != model.end()) it->second.first = worker;
        }
        if (step % 97 == 0) {
            CHECK(dir.size() == model.size());
            for (const auto& [mid, owner] : model) {
                auto found = dir.find(mid);
                REQUIRE(found);
                CHECK(found->worker == owner.first);
                CHECK(found->key == owner.second);
            }
        }
    }
    for (int i = 0; i < 600; ++i) {
        std::string id = "c" + std::to_string(i);
        CHECK(dir.find(id).has_value() == model.contains(id));
    }
}

TEST_CASE("lazy map: empty costs a pointer, erasing the last entry frees it") {
    LazyMap<uint16_t, int> m;
    CHECK(sizeof m == sizeof(void*));
    CHECK(m.begin() == m.end());
    CHECK(m.find(3) == m.end());
    m.emplace(3, 30);
    m.insert_or_assign(1, 10);
    CHECK(m.size() == 2);
    CHECK(m.contains(3));
    int seen = 0;
    for (auto it = m.begin(); it != m.end();) {
        seen += it->second;
        it = m.erase(it);
    }
    CHECK(seen == 40);
    CHECK(m.empty());
    CHECK(m.begin() == m.end());
}

TEST_CASE("optional time: 8 bytes, behaves as std::optional where the session uses it") {
    using Clock = std::chrono::steady_clock;
    OptionalTime<Clock::time_point> t;
    CHECK(sizeof t == sizeof(Clock::time_point));
    CHECK_FALSE(t);
    auto now = Clock::now();
    t = now;
    REQUIRE(t);
    CHECK(*t == now);
    CHECK(t == now);
    CHECK(t != now + std::chrono::seconds(1));
    std::optional<Clock::time_point> o = t;
    CHECK(o == now);
    t.reset();
    CHECK_FALSE(t);
    CHECK(t != now);
}

namespace {
struct Keyed {
    uint64_t key;
    struct Of {
        static uint64_t of(const Keyed& k) { return k.key; }
    };
};
}  // namespace

TEST_CASE("flat pointer map: insert, find and erase agree with a map") {
    FlatPointerMap<Keyed, Keyed::Of> flat;
    std::map<uint64_t, Keyed*> model;
    std::deque<Keyed> values;
    std::mt19937 rng(11);
    uint64_t next = 1;
    for (int step = 0; step < 20000; ++step) {
        if (rng() % 2 == 0 || model.empty()) {
            uint64_t key = (next++ << 8) | (rng() % 3);  // as ClientHandles makes refs
            values.push_back(Keyed{key});
            flat.insert(&values.back());
            model[key] = &values.back();
        } else {
            auto it = model.begin();
            std::advance(it, rng() % model.size());
            flat.erase(it->first);
            model.erase(it);
        }
        if (step % 101 == 0) {
            CHECK(flat.size() == model.size());
            for (const auto& [key, value] : model)
                CHECK(flat.find(key) == value);
            CHECK(flat.find(0) == nullptr);
            CHECK(flat.find(next << 8) == nullptr);
        }
    }
}

TEST_CASE("worker session table: insert, find and erase agree with a map; an erased session dies") {
    SessionTable table;
    std::map<SessionKey, std::weak_ptr<Session>> model;
    std::mt19937 rng(11);
    for (int step = 0; step < 20000; ++step) {
        SessionKey key = 1 + rng() % 700;
        if (rng() % 2 == 0) {
            auto s = std::make_shared<Session>();
            s->ref.key = key;
            table.insert(s);  // a key already there keeps its session
            if (!model.contains(key)) model[key] = s;
        } else {
            std::weak_ptr<Session> gone = model.contains(key) ? model[key] : std::weak_ptr<Session>();
            table.erase(key);
            model.erase(key);
            CHECK(gone.expired());  // the table held the only reference
        }
        if (step % 97 == 0) {
            CHECK(table.size() == model.size());
            for (const auto& [k, s] : model) {
                REQUIRE(table.find(k) == s.lock().get());
                CHECK(table.find_shared(k) == s.lock());
            }
            size_t seen = 0;
            table.for_each([&](Session& s) {
                CHECK(model.contains(s.ref.key));
                ++seen;
            });
            CHECK(seen == model.size());
        }
    }
    CHECK(table.find(100000) == nullptr);
}

namespace {
std::vector<uint16_t> ids_of(const PacketIdSet& ids) {
    std::vector<uint16_t> out;
    ids.for_each([&](uint16_t id) { out.push_back(id); });
    return out;
}
}  // namespace

TEST_CASE("packet id set: sorted, no duplicates, no buffer while empty") {
    PacketIdSet ids;
    CHECK(ids.empty());
    CHECK(ids_of(ids).empty());
    CHECK(ids.erase(5) == 0);
    for (uint16_t id : {9, 3, 7, 3})
        ids.insert(id);
    CHECK(ids.size() == 3);
    CHECK(ids.contains(7));
    CHECK_FALSE(ids.contains(4));
    CHECK(ids_of(ids) == std::vector<uint16_t>{3, 7, 9});
    CHECK(ids.erase(3) == 1);
    CHECK(ids.erase(3) == 0);
    CHECK(ids.erase(7) + ids.erase(9) == 2);
    CHECK(ids.empty());
    CHECK(ids_of(ids).empty());
    static_assert(sizeof(PacketIdSet) == sizeof(void*));
}

TEST_CASE("packet id set: all 65535 ids (an MQTT 3.1.1 burst) in any order, past the bitmap switch") {
    // Descending inserts and ascending erases are a sorted vector's worst case (each moves every
    // id held); past kSortedMax the set is a bitmap. Checked against std::set.
    PacketIdSet ids;
    std::set<uint16_t> model;
    for (uint32_t id = 65535; id >= 1; --id) {
        ids.insert(static_cast<uint16_t>(id));
        model.insert(static_cast<uint16_t>(id));
        if (id % 4099 == 0) ids.insert(static_cast<uint16_t>(id));  // a duplicate changes nothing
    }
    CHECK(ids.size() == 65535);
    CHECK(ids.contains(1));
    CHECK(ids.contains(65535));
    CHECK_FALSE(ids.contains(0));
    CHECK(ids_of(ids) == std::vector<uint16_t>(model.begin(), model.end()));
    for (uint32_t id = 1; id <= 65535; id += 2) {
        CHECK(ids.erase(static_cast<uint16_t>(id)) == 1);
        model.erase(static_cast<uint16_t>(id));
    }
    CHECK(ids.erase(1) == 0);
    CHECK(ids.size() == model.size());
    CHECK(ids_of(ids) == std::vector<uint16_t>(model.begin(), model.end()));
    for (uint16_t id : model)
        CHECK(ids.erase(id) == 1);
    CHECK(ids.empty());
    ids.insert(42);  // empty again: a fresh small set
    CHECK(ids_of(ids) == std::vector<uint16_t>{42});
}
