#include "pattern.hpp"

#include <cctype>
#include <cstring>

namespace roost_lua::pattern {
namespace {

int uchar(char c) {
    return static_cast<unsigned char>(c);
}

// %a, %d, ... (upper case: the complement); any other character after '%' stands for itself.
bool match_class(int c, int cl) {
    bool res;
    switch (std::tolower(cl)) {
        case 'a':
            res = std::isalpha(c);
            break;
        case 'c':
            res = std::iscntrl(c);
            break;
        case 'd':
            res = std::isdigit(c);
            break;
        case 'g':
            res = std::isgraph(c);
            break;
        case 'l':
            res = std::islower(c);
            break;
        case 'p':
            res = std::ispunct(c);
            break;
        case 's':
            res = std::isspace(c);
            break;
        case 'u':
            res = std::isupper(c);
            break;
        case 'w':
            res = std::isalnum(c);
            break;
        case 'x':
            res = std::isxdigit(c);
            break;
        default:
            return cl == c;
    }
    return std::isupper(cl) ? !res : res;
}

// A set "[...]" from `p` (its '[') to `ec` (its ']').
bool match_bracket_class(int c, const char* p, const char* ec) {
    bool in_set = true;
    if (*(p + 1) == '^') {
        in_set = false;
        ++p;
    }
    while (++p < ec) {
        if (*p == '%') {
            ++p;
            if (match_class(c, uchar(*p))) return in_set;
        } else if (*(p + 1) == '-' && p + 2 < ec) {
            p += 2;
            if (uchar(*(p - 2)) <= c && c <= uchar(*p)) return in_set;
        } else if (uchar(*p) == c) {
            return in_set;
        }
    }
    return !in_set;
}

}  // namespace

bool is_plain(std::string_view pattern) {
    return pattern.find_first_of(std::string_view("^$*+?.([%-")) == std::string_view::npos;
}

Matcher::Matcher(std::string_view subject, std::string_view pattern, uint64_t limit)
    : _s_begin(subject.data()),
      _s_end(subject.data() + subject.size()),
      _p_end(pattern.data() + pattern.size()),
      _limit(limit) {}

const char* Matcher::match(const char* s, const char* p) {
    _level = 0;
    _depth = kMaxDepth;
    return do_match(s, p);
}

const char* Matcher::class_end(const char* p) const {
    switch (*p++) {
        case '%':
            if (p == _p_end) throw Error{"malformed pattern (ends with '%%')", 0};
            return p + 1;
        case '[':
            if (at(p) == '^') ++p;
            do {  // the first character is in the set even when it is ']'
                if (p == _p_end) throw Error{"malformed pattern (missing ']')", 0};
                if (*(p++) == '%' && p < _p_end) ++p;
            } while (at(p) != ']');
            return p + 1;
        default:
            return p;
    }
}

bool Matcher::single_match(const char* s, const char* p, const char* ep) const {
    if (s >= _s_end) return false;
    int c = uchar(*s);
    switch (*p) {
        case '.':
            return true;
        case '%':
            return match_class(c, uchar(*(p + 1)));
        case '[':
            return match_bracket_class(c, p, ep - 1);
        default:
            return uchar(*p) == c;
    }
}

const char* Matcher::do_match(const char* s, const char* p) {
    if (_depth-- == 0) throw Error{"pattern too complex", 0};
    struct DepthBack {
        int& depth;
        ~DepthBack() { ++depth; }
    } depth_back{_depth};
    step();
    for (;;) {
        if (p == _p_end) return s;
        switch (*p) {
            case '(':
                if (at(p + 1) == ')') return start_capture(s, p + 2, kPosition);
                return start_capture(s, p + 1, kUnfinished);
            case ')':
                return end_capture(s, p + 1);
            case '$':
                if (p + 1 == _p_end) return s == _s_end ? s : nullptr;
                break;  // elsewhere '$' is a plain character
            case '%':
                switch (at(p + 1)) {
                    case 'b':
                        s = match_balance(s, p + 2);
                        if (s == nullptr) return nullptr;
                        p += 4;
                        continue;
                    case 'f': {
                        p += 2;
                        if (at(p) != '[') throw Error{"missing '[' after '%%f' in pattern", 0};
                        const char* ep = class_end(p);
                        int previous = s == _s_begin ? '\0' : uchar(*(s - 1));
                        int current = s < _s_end ? uchar(*s) : '\0';
                        if (match_bracket_class(previous, p, ep - 1) ||
                            !match_bracket_class(current, p, ep - 1))
                            return nullptr;
                        p = ep;
                        continue;
                    }
                    case '0':
                    case '1':
                    case '2':
                    case '3':
                    case '4':
                    case '5':
                    case '6':
                    case '7':
                    case '8':
                    case '9':
                        s = match_capture(s, uchar(*(p + 1)));
                        if (s == nullptr) return nullptr;
                        p += 2;
                        continue;
                    default:
                        break;
                }
                break;
            default:
                break;
        }
        // A single character class, perhaps followed by a repetition.
        const char* ep = class_end(p);
        const char repetition = at(ep);
        if (!single_match(s, p, ep)) {
            if (repetition == '*' || repetition == '?' || repetition == '-') {  // may match nothing
                p = ep + 1;
                continue;
            }
            return nullptr;
        }
        switch (repetition) {
            case '?':
                if (const char* res = do_match(s + 1, ep + 1)) return res;
                p = ep + 1;
                continue;
            case '+':
                return max_expand(s + 1, p, ep);
            case '*':
                return max_expand(s, p, ep);
            case '-':
                return min_expand(s, p, ep);
            default:
                ++s;
                p = ep;
                continue;
        }
    }
}

const char* Matcher::max_expand(const char* s, const char* p, const char* ep) {
    ptrdiff_t i = 0;
    while (single_match(s + i, p, ep)) {
        step();
        ++i;
    }
    for (; i >= 0; --i)  // the longest first, then shorter
        if (const char* res = do_match(s + i, ep + 1)) return res;
    return nullptr;
}

const char* Matcher::min_expand(const char* s, const char* p, const char* ep) {
    for (;;) {
        if (const char* res = do_match(s, ep + 1)) return res;
        if (!single_match(s, p, ep)) return nullptr;
        ++s;  // one more character, then the rest again
    }
}

const char* Matcher::start_capture(const char* s, const char* p, ptrdiff_t what) {
    if (_level >= kMaxCaptures) throw Error{"too many captures", 0};
    _capture[_level] = {s, what};
    ++_level;
    const char* res = do_match(s, p);
    if (res == nullptr) --_level;
    return res;
}

const char* Matcher::end_capture(const char* s, const char* p) {
    int open = _level - 1;
    while (open >= 0 && _capture[open].len != kUnfinished)
        --open;
    if (open < 0) throw Error{"invalid pattern capture", 0};
    _capture[open].len = s - _capture[open].init;
    const char* res = do_match(s, p);
    if (res == nullptr) _capture[open].len = kUnfinished;
    return res;
}

const char* Matcher::match_capture(const char* s, int index_char) {
    const int l = index_char - '1';
    if (l < 0 || l >= _level || _capture[l].len == kUnfinished)
        throw Error{"invalid capture index %%%d", l + 1};
    // A position capture's length is negative: as a size it is huge, and matches nothing (as in Lua).
    const size_t len = static_cast<size_t>(_capture[l].len);
    if (static_cast<size_t>(_s_end - s) >= len && std::memcmp(_capture[l].init, s, len) == 0) return s + len;
    return nullptr;
}

const char* Matcher::match_balance(const char* s, const char* p) {
    if (p + 1 >= _p_end) throw Error{"malformed pattern (missing arguments to '%%b')", 0};
    if (s >= _s_end || *s != *p) return nullptr;
    const char open = *p, close = *(p + 1);
    int depth = 1;
    while (++s < _s_end) {
        step();
        if (*s == close) {
            if (--depth == 0) return s + 1;
        } else if (*s == open) {
            ++depth;
        }
    }
    return nullptr;
}

}  // namespace roost_lua::pattern
