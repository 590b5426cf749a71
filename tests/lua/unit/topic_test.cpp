// roost.topic_matches and roost.filter_covers: MQTT 4.7 matching, against cases from the spec
// and against a naive reference matcher on generated topics.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "topic.hpp"

using roost_lua::filter_covers;
using roost_lua::topic_matches;
using roost_lua::valid_mqtt_utf8;

TEST_CASE("topic_matches: the spec's examples (MQTT 4.7.1)") {
    CHECK(topic_matches("sport/tennis/player1/#", "sport/tennis/player1"));
    CHECK(topic_matches("sport/tennis/player1/#", "sport/tennis/player1/ranking"));
    CHECK(topic_matches("sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon"));
    CHECK(topic_matches("sport/#", "sport"));
    CHECK(topic_matches("#", "sport/tennis"));
    CHECK(topic_matches("sport/tennis/+", "sport/tennis/player1"));
    CHECK_FALSE(topic_matches("sport/tennis/+", "sport/tennis/player1/ranking"));
    CHECK(topic_matches("sport/+", "sport/"));
    CHECK_FALSE(topic_matches("sport/+", "sport"));
    CHECK(topic_matches("+/+", "/finance"));
    CHECK(topic_matches("/+", "/finance"));
    CHECK_FALSE(topic_matches("+", "/finance"));
    CHECK(topic_matches("a/b", "a/b"));
    CHECK_FALSE(topic_matches("a/b", "a/b/c"));
    CHECK_FALSE(topic_matches("a/b/c", "a/b"));
    CHECK_FALSE(topic_matches("", "a"));
}

TEST_CASE("topic_matches: a leading wildcard does not match $ topics (4.7.2)") {
    CHECK_FALSE(topic_matches("#", "$SYS/broker/uptime"));
    CHECK_FALSE(topic_matches("+/broker/uptime", "$SYS/broker/uptime"));
    CHECK(topic_matches("$SYS/#", "$SYS/broker/uptime"));
    CHECK(topic_matches("$SYS/+/uptime", "$SYS/broker/uptime"));
}

namespace {

std::vector<std::string> split(const std::string& s) {
    std::vector<std::string> out;
    size_t start = 0;
    while (true) {
        size_t at = s.find('/', start);
        out.push_back(s.substr(start, at == std::string::npos ? std::string::npos : at - start));
        if (at == std::string::npos) return out;
        start = at + 1;
    }
}

// The naive reference: level by level, as the spec words it.
bool reference(const std::string& filter, const std::string& topic) {
    if (!topic.empty() && topic[0] == '$' && (filter[0] == '+' || filter[0] == '#')) return false;
    auto f = split(filter), t = split(topic);
    for (size_t i = 0; i < f.size(); ++i) {
        if (f[i] == "#") return true;
        if (i >= t.size()) return false;
        if (f[i] != "+" && f[i] != t[i]) return false;
    }
    return f.size() == t.size();
}

}  // namespace

TEST_CASE("topic_matches agrees with a naive matcher on every small filter and topic") {
    const std::vector<std::string> levels = {"a", "b", "", "+", "#", "$x"};
    std::vector<std::string> filters, topics;
    for (auto& l1 : levels) {
        filters.push_back(l1);
        for (auto& l2 : levels) {
            filters.push_back(l1 + "/" + l2);
            for (auto& l3 : levels)
                filters.push_back(l1 + "/" + l2 + "/" + l3);
        }
    }
    for (auto& f : filters) {
        bool wildcard = f.find_first_of("+#") != std::string::npos;
        bool valid = true;
        auto parts = split(f);
        for (size_t i = 0; i < parts.size(); ++i)
            if ((parts[i].find('#') != std::string::npos && (parts[i] != "#" || i + 1 != parts.size())) ||
                (parts[i].find('+') != std::string::npos && parts[i] != "+"))
                valid = false;
        if (!valid) continue;
        if (!wildcard && !f.empty()) topics.push_back(f);  // an empty topic name is not valid
    }
    size_t checked = 0;
    for (auto& f : filters) {
        if (f.find("#/") != std::string::npos) continue;
        for (auto& t : topics) {
            INFO(f << " vs " << t);
            CHECK(topic_matches(f, t) == reference(f, t));
            ++checked;
        }
    }
    CHECK(checked > 1000);
}

TEST_CASE("filter_covers: a subscription inside a rule") {
    CHECK(filter_covers("a/#", "a/+/b"));
    CHECK(filter_covers("a/#", "a/#"));
    CHECK(filter_covers("a/#", "a"));
    CHECK(filter_covers("a/+", "a/b"));
    CHECK(filter_covers("a/+", "a/+"));
    CHECK_FALSE(filter_covers("a/+", "a/#"));
    CHECK_FALSE(filter_covers("a/b", "a/+"));
    CHECK_FALSE(filter_covers("a/b", "a/#"));
    CHECK(filter_covers("#", "x/y"));
    CHECK_FALSE(filter_covers("#", "$SYS/x"));
    CHECK(filter_covers("$SYS/#", "$SYS/broker/+"));
    CHECK(filter_covers("users/alice/#", "users/alice/x/#"));
    CHECK_FALSE(filter_covers("users/alice/#", "users/+/x"));
}

TEST_CASE("valid_mqtt_utf8: well-formed UTF-8 without U+0000, at most 65,535 bytes (MQTT 1.5.4)") {
    using namespace std::string_literals;
    CHECK(valid_mqtt_utf8(""));
    CHECK(valid_mqtt_utf8("a/b/c"));
    CHECK(valid_mqtt_utf8("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"));  // é € 😀
    CHECK(valid_mqtt_utf8("\xef\xbf\xbf\xf4\x8f\xbf\xbf"));          // U+FFFF, U+10FFFF
    CHECK_FALSE(valid_mqtt_utf8("a\0b"s));
    CHECK_FALSE(valid_mqtt_utf8("\xff"));
    CHECK_FALSE(valid_mqtt_utf8("\x80"));              // a lone continuation byte
    CHECK_FALSE(valid_mqtt_utf8("\xc3"));              // cut short
    CHECK_FALSE(valid_mqtt_utf8("\xc0\xaf"));          // overlong '/'
    CHECK_FALSE(valid_mqtt_utf8("\xe0\x80\xaf"));      // overlong
    CHECK_FALSE(valid_mqtt_utf8("\xed\xa0\x80"));      // U+D800, a surrogate
    CHECK_FALSE(valid_mqtt_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
    CHECK_FALSE(valid_mqtt_utf8("\xe2\x82x"));         // a bad continuation byte
    CHECK(valid_mqtt_utf8(std::string(65535, 'a')));
    CHECK_FALSE(valid_mqtt_utf8(std::string(65536, 'a')));
}
