#include "topic.hpp"

namespace roost_lua {
namespace {

// The next level of `s` from `pos` (which moves past it); `done` once no level is left.
struct Levels {
    std::string_view s;
    size_t pos = 0;
    bool done = false;
    std::string_view next() {
        size_t slash = s.find('/', pos);
        std::string_view level =
            s.substr(pos, slash == std::string_view::npos ? std::string_view::npos : slash - pos);
        if (slash == std::string_view::npos) {
            done = true;
        } else {
            pos = slash + 1;
        }
        return level;
    }
};

}  // namespace

bool topic_matches(std::string_view filter, std::string_view topic) {
    if (filter.empty() || topic.empty()) return false;
    if (topic.front() == '$' && (filter.front() == '+' || filter.front() == '#')) return false;
    Levels f{filter}, t{topic};
    while (!f.done) {
        std::string_view fl = f.next();
        if (fl == "#") return f.done;  // '#' must be the last level; it matches the parent too
        std::string_view tl = t.next();
        if (fl != "+" && fl != tl) return false;
        if (t.done && !f.done) {
            // "a/b" against "a/b/#": the parent level matches.
            Levels rest = f;
            return rest.next() == "#" && rest.done;
        }
    }
    return t.done;
}

bool filter_covers(std::string_view rule, std::string_view filter) {
    if (rule.empty() || filter.empty()) return false;
    if (filter.front() == '$' && (rule.front() == '+' || rule.front() == '#')) return false;
    Levels r{rule}, f{filter};
    while (!r.done) {
        std::string_view rl = r.next();
        if (rl == "#") return r.done;
        if (f.done) return false;
        std::string_view fl = f.next();
        if (fl == "#") return false;  // the filter asks for every level below; only '#' covers it
        if (rl == "+") {
            // '+' covers any single level, a '+' in the filter included.
        } else if (fl == "+" || rl != fl) {
            return false;
        }
        if (f.done && !r.done) {
            Levels rest = r;
            return rest.next() == "#" && rest.done;
        }
    }
    return f.done;
}

bool valid_mqtt_utf8(std::string_view s) {
    if (s.size() > 65535) return false;
    for (size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c == 0) return false;
        if (c < 0x80) {
            ++i;
            continue;
        }
        // The sequence length and the first continuation byte's range (RFC 3629 section 4).
        size_t n;
        unsigned char lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            n = 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            n = 3;
            if (c == 0xE0) lo = 0xA0;  // overlong
            if (c == 0xED) hi = 0x9F;  // surrogates
        } else if (c >= 0xF0 && c <= 0xF4) {
            n = 4;
            if (c == 0xF0) lo = 0x90;  // overlong
            if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
        } else {
            return false;
        }
        if (s.size() - i < n) return false;
        const auto c1 = static_cast<unsigned char>(s[i + 1]);
        if (c1 < lo || c1 > hi) return false;
        for (size_t k = 2; k < n; ++k)
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
        i += n;
    }
    return true;
}

}  // namespace roost_lua
