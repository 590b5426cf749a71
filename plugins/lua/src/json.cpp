#include "json.hpp"

#include <cmath>
#include <cstdlib>

namespace roost_lua::json {

const Value* Value::get(std::string_view key) const {
    if (type != Type::object) return nullptr;
    for (auto& [k, v] : object)
        if (k == key) return &v;
    return nullptr;
}

namespace {

class Parser {
  public:
    Parser(std::string_view text, int max_depth, size_t max_values)
        : _s(text), _max_depth(max_depth), _max_values(max_values) {}

    std::optional<Value> document(std::string* error) {
        Value v;
        if (value(v, 0)) {
            skip_space();
            if (_pos == _s.size()) return v;
            fail("unexpected text after the value");
        }
        if (error) *error = "offset " + std::to_string(_pos) + ": " + _error;
        return std::nullopt;
    }

  private:
    bool fail(const char* why) {
        if (_error.empty()) _error = why;
        return false;
    }
    void skip_space() {
        while (_pos < _s.size() &&
               (_s[_pos] == ' ' || _s[_pos] == '\t' || _s[_pos] == '\n' || _s[_pos] == '\r'))
            ++_pos;
    }
    bool literal(std::string_view word) {
        if (_s.substr(_pos, word.size()) != word) return fail("invalid literal");
        _pos += word.size();
        return true;
    }

    bool value(Value& out, int depth) {
        if (depth > _max_depth) return fail("nested too deeply");
        if (++_values > _max_values) return fail("too many values");
        skip_space();
        if (_pos >= _s.size()) return fail("unexpected end");
        char c = _s[_pos];
        if (c == '{') return object(out, depth);
        if (c == '[') return array(out, depth);
        if (c == '"') {
            out.type = Value::Type::string;
            return string(out.string);
        }
        if (c == 't' || c == 'f') {
            out.type = Value::Type::boolean;
            out.boolean = c == 't';
            return literal(c == 't' ? "true" : "false");
        }
        if (c == 'n') {
            out.type = Value::Type::null;
            return literal("null");
        }
        return number(out);
    }

    bool number(Value& out) {
        size_t start = _pos;
        if (_pos < _s.size() && _s[_pos] == '-') ++_pos;
        auto digits = [&] {
            size_t from = _pos;
            while (_pos < _s.size() && _s[_pos] >= '0' && _s[_pos] <= '9')
                ++_pos;
            return _pos > from;
        };
        if (!digits()) return fail("expected a value");
        if (_pos < _s.size() && _s[_pos] == '.' && (++_pos, !digits()))
            return fail("expected digits after '.'");
        if (_pos < _s.size() && (_s[_pos] == 'e' || _s[_pos] == 'E')) {
            ++_pos;
            if (_pos < _s.size() && (_s[_pos] == '+' || _s[_pos] == '-')) ++_pos;
            if (!digits()) return fail("expected digits in the exponent");
        }
        std::string text(_s.substr(start, _pos - start));
        out.type = Value::Type::number;
        out.number = std::strtod(text.c_str(), nullptr);
        if (!std::isfinite(out.number)) return fail("number out of range");
        return true;
    }

    static void put_utf8(std::string& out, uint32_t cp) {
        if (cp < 0x80) {
            out += char(cp);
        } else if (cp < 0x800) {
            out += char(0xC0 | (cp >> 6));
            out += char(0x80 | (cp & 0x3F));
        } else if (cp < 0x10000) {
            out += char(0xE0 | (cp >> 12));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        } else {
            out += char(0xF0 | (cp >> 18));
            out += char(0x80 | ((cp >> 12) & 0x3F));
            out += char(0x80 | ((cp >> 6) & 0x3F));
            out += char(0x80 | (cp & 0x3F));
        }
    }

    bool hex4(uint32_t& cp) {
        if (_pos + 4 > _s.size()) return fail("short \\u escape");
        cp = 0;
        for (int i = 0; i < 4; ++i) {
            char c = _s[_pos++];
            cp <<= 4;
            if (c >= '0' && c <= '9')
                cp |= uint32_t(c - '0');
            else if (c >= 'a' && c <= 'f')
                cp |= uint32_t(c - 'a' + 10);
            else if (c >= 'A' && c <= 'F')
                cp |= uint32_t(c - 'A' + 10);
            else
                return fail("bad \\u escape");
        }
        return true;
    }

    bool string(std::string& out) {
        ++_pos;  // the opening quote
        while (true) {
            if (_pos >= _s.size()) return fail("unterminated string");
            char c = _s[_pos++];
            if (c == '"') return true;
            if (static_cast<unsigned char>(c) < 0x20) return fail("control character in a string");
            if (c != '\\') {
                out += c;
                continue;
            }
            if (_pos >= _s.size()) return fail("unterminated string");
            char e = _s[_pos++];
            switch (e) {
                case '"':
                    out += '"';
                    break;
                case '\\':
                    out += '\\';
                    break;
                case '/':
                    out += '/';
                    break;
                case 'b':
                    out += '\b';
                    break;
                case 'f':
                    out += '\f';
                    break;
                case 'n':
                    out += '\n';
                    break;
                case 'r':
                    out += '\r';
                    break;
                case 't':
                    out += '\t';
                    break;
                case 'u': {
                    uint32_t cp = 0;
                    if (!hex4(cp)) return false;
                    if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
                        uint32_t low = 0;
                        if (_s.substr(_pos, 2) != "\\u") return fail("lone surrogate");
                        _pos += 2;
                        if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return fail("bad surrogate pair");
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
                    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                        return fail("lone surrogate");
                    }
                    put_utf8(out, cp);
                    break;
                }
                default:
                    return fail("bad escape");
            }
        }
    }

    bool array(Value& out, int depth) {
        out.type = Value::Type::array;
        ++_pos;
        skip_space();
        if (_pos < _s.size() && _s[_pos] == ']') return ++_pos, true;
        while (true) {
            out.array.emplace_back();
            if (!value(out.array.back(), depth + 1)) return false;
            skip_space();
            if (_pos >= _s.size()) return fail("unterminated array");
            char c = _s[_pos++];
            if (c == ']') return true;
            if (c != ',') return fail("expected ',' or ']'");
        }
    }

    bool object(Value& out, int depth) {
        out.type = Value::Type::object;
        ++_pos;
        skip_space();
        if (_pos < _s.size() && _s[_pos] == '}') return ++_pos, true;
        while (true) {
            skip_space();
            if (_pos >= _s.size() || _s[_pos] != '"') return fail("expected a string key");
            std::string key;
            if (!string(key)) return false;
            skip_space();
            if (_pos >= _s.size() || _s[_pos] != ':') return fail("expected ':'");
            ++_pos;
            out.object.emplace_back(std::move(key), Value{});
            if (!value(out.object.back().second, depth + 1)) return false;
            skip_space();
            if (_pos >= _s.size()) return fail("unterminated object");
            char c = _s[_pos++];
            if (c == '}') return true;
            if (c != ',') return fail("expected ',' or '}'");
        }
    }

    std::string_view _s;
    size_t _pos = 0;
    int _max_depth;
    size_t _max_values;
    size_t _values = 0;
    std::string _error;
};

}  // namespace

std::optional<Value> parse(std::string_view text, std::string* error, int max_depth, size_t max_values) {
    return Parser(text, max_depth, max_values).document(error);
}

}  // namespace roost_lua::json
