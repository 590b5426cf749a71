#include "bounded_lib.hpp"

#include <cctype>
#include <climits>
#include <cstring>
#include <string_view>

#include "pattern.hpp"

// The functions below keep Lua 5.4's arguments, results and error messages (lstrlib.c and
// ltablib.c, as the reference manual describes them); only the work is counted.
namespace roost_lua {
namespace {

// A 1-based start position, negative from the end, clipped to 1 (Lua's posrelatI).
size_t start_position(lua_Integer pos, size_t len) {
    if (pos > 0) return static_cast<size_t>(pos);
    if (pos == 0 || pos < -static_cast<lua_Integer>(len)) return 1;
    return len + static_cast<size_t>(pos) + 1;
}

// One call's matcher, its steps spent from the budget after each attempt; a malformed pattern or
// a spent budget becomes the Lua error.
class Matching {
  public:
    Matching(lua_State* L, WorkBudget& budget, const char* function, std::string_view subject,
             std::string_view pattern)
        : _L(L), _budget(budget), _function(function), _matcher(subject, pattern, 0) {}

    const char* match(const char* s, const char* p) {
        // Fresh each time: a gsub's replacement function runs Lua code between two attempts.
        _matcher.restart_steps(_budget.work_left());
        const char* end = nullptr;
        pattern::Error error{nullptr, 0};
        bool out_of_steps = false;
        try {
            end = _matcher.match(s, p);
        } catch (const pattern::Error& e) {
            error = e;
        } catch (const pattern::OutOfSteps&) {
            out_of_steps = true;
        }
        _budget.spend(_matcher.steps());
        if (out_of_steps) _budget.exhausted(_L, _function);
        if (error.format) luaL_error(_L, error.format, error.arg);
        return end;
    }

    const pattern::Matcher& matcher() const { return _matcher; }

  private:
    lua_State* _L;
    WorkBudget& _budget;
    const char* _function;
    pattern::Matcher _matcher;
};

// Pushes capture i of the match [s, e); with no captures, i == 0 is the whole match.
void push_capture(lua_State* L, const pattern::Matcher& m, int i, const char* s, const char* e) {
    if (i >= m.level()) {
        if (i != 0) luaL_error(L, "invalid capture index %%%d", i + 1);
        lua_pushlstring(L, s, static_cast<size_t>(e - s));
        return;
    }
    const pattern::Capture& c = m.capture(i);
    if (c.len == pattern::kUnfinished) luaL_error(L, "unfinished capture");
    if (c.len == pattern::kPosition)
        lua_pushinteger(L, c.init - m.subject_begin() + 1);
    else
        lua_pushlstring(L, c.init, static_cast<size_t>(c.len));
}

// Pushes every capture (or the whole match when there are none and s is given); their count.
int push_captures(lua_State* L, const pattern::Matcher& m, const char* s, const char* e) {
    const int n = m.level() == 0 && s ? 1 : m.level();
    luaL_checkstack(L, n, "too many captures");
    for (int i = 0; i < n; ++i)
        push_capture(L, m, i, s, e);
    return n;
}

int find_or_match(lua_State* L, bool find) {
    size_t ls, lp;
    const char* s = luaL_checklstring(L, 1, &ls);
    const char* p = luaL_checklstring(L, 2, &lp);
    const size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) {
        luaL_pushfail(L);
        return 1;
    }
    if (find && (lua_toboolean(L, 4) || pattern::is_plain({p, lp}))) {
        // A plain search is a memchr/memcmp over the subject: one step per 64 bytes of it.
        spend_or_stop(L, (ls - init) / 64, "string.find");
        const size_t at = std::string_view(s + init, ls - init).find(std::string_view(p, lp));
        if (at != std::string_view::npos) {
            lua_pushinteger(L, static_cast<lua_Integer>(init + at + 1));
            lua_pushinteger(L, static_cast<lua_Integer>(init + at + lp));
            return 2;
        }
    } else {
        Matching m(L, budget_at(L, 1), find ? "string.find" : "string.match", {s, ls}, {p, lp});
        const bool anchor = lp > 0 && *p == '^';
        const char* pattern_start = p + (anchor ? 1 : 0);
        // From init to the end of the subject (an empty match there counts), or at init only.
        for (const char* s1 = s + init;; ++s1) {
            if (const char* e = m.match(s1, pattern_start)) {
                if (!find) return push_captures(L, m.matcher(), s1, e);
                lua_pushinteger(L, s1 - s + 1);
                lua_pushinteger(L, e - s);
                return push_captures(L, m.matcher(), nullptr, nullptr) + 2;
            }
            if (anchor || s1 == s + ls) break;
        }
    }
    luaL_pushfail(L);
    return 1;
}

int str_find(lua_State* L) {
    return find_or_match(L, true);
}

int str_match(lua_State* L) {
    return find_or_match(L, false);
}

// gmatch's iterator: upvalues subject, pattern, this state, the budget. Offsets, not pointers:
// the strings stay where they are, but offsets need no care.
struct GmatchState {
    size_t next;           // where the next search starts
    ptrdiff_t last_match;  // end of the last match, -1 before the first
};

int gmatch_step(lua_State* L) {
    size_t ls, lp;
    const char* s = lua_tolstring(L, lua_upvalueindex(1), &ls);
    const char* p = lua_tolstring(L, lua_upvalueindex(2), &lp);
    auto* state = static_cast<GmatchState*>(lua_touserdata(L, lua_upvalueindex(3)));
    Matching m(L, budget_at(L, 4), "string.gmatch", {s, ls}, {p, lp});
    for (size_t from = state->next; from <= ls; ++from) {
        const char* e = m.match(s + from, p);
        if (e != nullptr && e - s != state->last_match) {
            state->next = static_cast<size_t>(e - s);
            state->last_match = e - s;
            return push_captures(L, m.matcher(), s + from, e);
        }
    }
    return 0;
}

int str_gmatch(lua_State* L) {
    size_t ls;
    luaL_checklstring(L, 1, &ls);
    luaL_checkstring(L, 2);
    size_t init = start_position(luaL_optinteger(L, 3, 1), ls) - 1;
    if (init > ls) init = ls + 1;  // past the end: no match
    lua_settop(L, 2);
    auto* state = static_cast<GmatchState*>(lua_newuserdatauv(L, sizeof(GmatchState), 0));
    *state = {init, -1};
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_pushcclosure(L, gmatch_step, 4);
    return 1;
}

// A replacement string's %0-%9 and %%.
void add_replacement_string(lua_State* L, const pattern::Matcher& m, luaL_Buffer* b, const char* s,
                            const char* e) {
    size_t l;
    const char* text = lua_tolstring(L, 3, &l);
    const char* p;
    while ((p = static_cast<const char*>(std::memchr(text, '%', l))) != nullptr) {
        luaL_addlstring(b, text, static_cast<size_t>(p - text));
        ++p;  // Lua strings end in '\0': a '%' at the end reads it, and is refused below
        if (*p == '%') {
            luaL_addchar(b, *p);
        } else if (*p == '0') {
            luaL_addlstring(b, s, static_cast<size_t>(e - s));
        } else if (std::isdigit(static_cast<unsigned char>(*p))) {
            push_capture(L, m, *p - '1', s, e);
            luaL_addvalue(b);
        } else {
            luaL_error(L, "invalid use of '%c' in replacement string", '%');
        }
        l -= static_cast<size_t>(p + 1 - text);
        text = p + 1;
    }
    luaL_addlstring(b, text, l);
}

// Adds the replacement of the match [s, e); false when it kept the original text.
bool add_value(lua_State* L, const pattern::Matcher& m, luaL_Buffer* b, const char* s, const char* e,
               int replacement_type) {
    switch (replacement_type) {
        case LUA_TFUNCTION: {
            lua_pushvalue(L, 3);
            const int n = push_captures(L, m, s, e);
            lua_call(L, n, 1);
            break;
        }
        case LUA_TTABLE:
            push_capture(L, m, 0, s, e);
            lua_gettable(L, 3);
            break;
        default:
            add_replacement_string(L, m, b, s, e);
            return true;
    }
    if (!lua_toboolean(L, -1)) {  // nil or false: keep the original text
        lua_pop(L, 1);
        luaL_addlstring(b, s, static_cast<size_t>(e - s));
        return false;
    }
    if (!lua_isstring(L, -1)) luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
    luaL_addvalue(b);
    return true;
}

int str_gsub(lua_State* L) {
    size_t ls, lp;
    const char* src = luaL_checklstring(L, 1, &ls);
    const char* p = luaL_checklstring(L, 2, &lp);
    const int replacement_type = lua_type(L, 3);
    const lua_Integer max_replacements = luaL_optinteger(L, 4, static_cast<lua_Integer>(ls) + 1);
    luaL_argexpected(L,
                     replacement_type == LUA_TNUMBER || replacement_type == LUA_TSTRING ||
                         replacement_type == LUA_TFUNCTION || replacement_type == LUA_TTABLE,
                     3, "string/function/table");
    const bool anchor = lp > 0 && *p == '^';
    const char* pattern_start = p + (anchor ? 1 : 0);
    Matching m(L, budget_at(L, 1), "string.gsub", {src, ls}, {p, lp});
    const char* s = src;
    const char* const end = src + ls;
    const char* last_match = nullptr;
    lua_Integer n = 0;
    bool changed = false;
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    while (n < max_replacements) {
        const char* e = m.match(s, pattern_start);
        if (e != nullptr && e != last_match) {
            ++n;
            changed = add_value(L, m.matcher(), &b, s, e, replacement_type) || changed;
            s = last_match = e;
        } else if (s < end) {
            luaL_addchar(&b, *s++);
        } else {
            break;
        }
        if (anchor) break;
    }
    if (!changed) {
        lua_pushvalue(L, 1);  // the original string
    } else {
        luaL_addlstring(&b, s, static_cast<size_t>(end - s));
        luaL_pushresult(&b);
    }
    lua_pushinteger(L, n);
    return 2;
}

// string.rep(s, n [, sep]): n empty copies make "", without n steps to make it.
int str_rep(lua_State* L) {
    size_t l, lsep;
    luaL_checklstring(L, 1, &l);
    const lua_Integer n = luaL_checkinteger(L, 2);
    luaL_optlstring(L, 3, "", &lsep);
    if (n > 0 && l + lsep == 0) {
        lua_pushliteral(L, "");
        return 1;
    }
    return call_standard(L, 1);  // its work is the result's size, which the memory cap bounds
}

// string.byte(s [, i [, j]]): a value per byte of the range, up to a million (Lua's stack limit)
// in one call: one step per value. As lstrlib.c's str_byte.
int str_byte(lua_State* L) {
    size_t l;
    const char* s = luaL_checklstring(L, 1, &l);
    const lua_Integer pi = luaL_optinteger(L, 2, 1);
    const size_t posi = start_position(pi, l);
    const lua_Integer j = luaL_optinteger(L, 3, pi);
    const size_t pose = j > static_cast<lua_Integer>(l)    ? l
                        : j >= 0                           ? static_cast<size_t>(j)
                        : j < -static_cast<lua_Integer>(l) ? 0
                                                           : l + static_cast<size_t>(j) + 1;
    if (posi > pose) return 0;
    if (pose - posi >= static_cast<size_t>(INT_MAX)) return luaL_error(L, "string slice too long");
    const int n = static_cast<int>(pose - posi) + 1;
    spend_or_stop(L, static_cast<uint64_t>(n), "string.byte");
    luaL_checkstack(L, n, "string slice too long");
    for (int i = 0; i < n; ++i)
        lua_pushinteger(L, static_cast<unsigned char>(s[posi + i - 1]));
    return n;
}

// One UTF-8 sequence at s (Lua strings end in '\0', so reading stops there): the byte after it
// and the code point in *value, or nullptr. As lutf8lib.c's utf8_decode (5-6 byte forms too,
// refused when strict).
const char* utf8_decode(const char* s, uint32_t* value, bool strict) {
    static const uint32_t limits[] = {~uint32_t{0}, 0x80, 0x800, 0x10000u, 0x200000u, 0x4000000u};
    unsigned int c = static_cast<unsigned char>(s[0]);
    uint32_t res = 0;
    if (c < 0x80) {
        res = c;
    } else {
        int count = 0;
        for (; c & 0x40; c <<= 1) {
            const unsigned int cc = static_cast<unsigned char>(s[++count]);
            if ((cc & 0xC0) != 0x80) return nullptr;
            res = (res << 6) | (cc & 0x3F);
        }
        res |= static_cast<uint32_t>(c & 0x7F) << (count * 5);
        if (count > 5 || res > 0x7FFFFFFFu || res < limits[count]) return nullptr;
        s += count;
    }
    if (strict && (res > 0x10FFFFu || (0xD800u <= res && res <= 0xDFFFu))) return nullptr;
    *value = res;
    return s + 1;
}

// utf8.codepoint(s [, i [, j [, lax]]]): one step per byte of the range. As lutf8lib.c's.
int utf8_codepoint(lua_State* L) {
    size_t len;
    const char* s = luaL_checklstring(L, 1, &len);
    auto relative = [len](lua_Integer pos) -> lua_Integer {
        if (pos >= 0) return pos;
        if (0u - static_cast<size_t>(pos) > len) return 0;
        return static_cast<lua_Integer>(len) + pos + 1;
    };
    const lua_Integer posi = relative(luaL_optinteger(L, 2, 1));
    const lua_Integer pose = relative(luaL_optinteger(L, 3, posi));
    const bool lax = lua_toboolean(L, 4);
    luaL_argcheck(L, posi >= 1, 2, "out of bounds");
    luaL_argcheck(L, pose <= static_cast<lua_Integer>(len), 3, "out of bounds");
    if (posi > pose) return 0;
    if (pose - posi >= INT_MAX) return luaL_error(L, "string slice too long");
    int n = static_cast<int>(pose - posi) + 1;
    spend_or_stop(L, static_cast<uint64_t>(n), "utf8.codepoint");
    luaL_checkstack(L, n, "string slice too long");
    n = 0;
    const char* const se = s + pose;
    for (s += posi - 1; s < se;) {
        uint32_t code = 0;
        s = utf8_decode(s, &code, !lax);
        if (s == nullptr) return luaL_error(L, "invalid UTF-8 code");
        lua_pushinteger(L, code);
        ++n;
    }
    return n;
}

}  // namespace

WorkBudget& budget_at(lua_State* L, int upvalue) {
    return *static_cast<WorkBudget*>(lua_touserdata(L, lua_upvalueindex(upvalue)));
}

void spend_or_stop(lua_State* L, uint64_t steps, const char* function) {
    WorkBudget& budget = budget_at(L, 1);
    if (steps > budget.work_left()) budget.exhausted(L, function);
    budget.spend(steps);
}

int call_standard(lua_State* L, int upvalue) {
    lua_pushvalue(L, lua_upvalueindex(upvalue));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

void open_bounded_lib(lua_State* L, WorkBudget& budget) {
    lua_getglobal(L, "string");
    const luaL_Reg matchers[] = {
        {"find", str_find}, {"match", str_match}, {"gmatch", str_gmatch}, {"gsub", str_gsub}};
    for (const luaL_Reg& r : matchers) {
        lua_pushlightuserdata(L, &budget);
        lua_pushcclosure(L, r.func, 1);
        lua_setfield(L, -2, r.name);
    }
    lua_getfield(L, -1, "rep");
    lua_pushcclosure(L, str_rep, 1);
    lua_setfield(L, -2, "rep");
    lua_pushlightuserdata(L, &budget);
    lua_pushcclosure(L, str_byte, 1);
    lua_setfield(L, -2, "byte");
    lua_pop(L, 1);
    lua_getglobal(L, "utf8");
    lua_pushlightuserdata(L, &budget);
    lua_pushcclosure(L, utf8_codepoint, 1);
    lua_setfield(L, -2, "codepoint");
    lua_pop(L, 1);
    open_bounded_table(L, budget);
    open_bounded_coroutine(L, budget);
}

}  // namespace roost_lua
