// A minimal JSON writer, enough for one result object: keys in the order written, numbers
// printed so that Python, jq and friends read them back exactly.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace bench {

class Json {
  public:
    Json& begin(std::string_view key = {}) { return open(key, '{'); }
    Json& end() { return close('}'); }
    Json& begin_array(std::string_view key) { return open(key, '['); }
    Json& end_array() { return close(']'); }

    Json& str(std::string_view key, std::string_view v) {
        sep(key);
        quote(v);
        return *this;
    }
    Json& num(std::string_view key, double v, int decimals = 3) {
        sep(key);
        char b[64];
        std::snprintf(b, sizeof b, "%.*f", decimals, v);
        s_ += b;
        return *this;
    }
    Json& num(std::string_view key, uint64_t v) {
        sep(key);
        s_ += std::to_string(v);
        return *this;
    }
    Json& num(std::string_view key, int v) {
        sep(key);
        s_ += std::to_string(v);
        return *this;
    }
    Json& boolean(std::string_view key, bool v) {
        sep(key);
        s_ += v ? "true" : "false";
        return *this;
    }
    Json& null(std::string_view key) {
        sep(key);
        s_ += "null";
        return *this;
    }
    const std::string& text() const { return s_; }

  private:
    Json& open(std::string_view key, char c) {
        sep(key);
        s_ += c;
        first_ = true;
        return *this;
    }
    Json& close(char c) {
        s_ += c;
        first_ = false;
        return *this;
    }
    void sep(std::string_view key) {
        if (!first_) s_ += ',';
        first_ = false;
        if (!key.empty()) {
            quote(key);
            s_ += ':';
        }
    }
    void quote(std::string_view v) {
        s_ += '"';
        for (char ch : v) {
            if (ch == '"' || ch == '\\') {
                s_ += '\\';
                s_ += ch;
            } else if (static_cast<unsigned char>(ch) < 0x20) {
                char b[8];
                std::snprintf(b, sizeof b, "\\u%04x", ch);
                s_ += b;
            } else {
                s_ += ch;
            }
        }
        s_ += '"';
    }

    std::string s_;
    bool first_ = true;
};

}  // namespace bench
