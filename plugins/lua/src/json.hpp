// A small JSON reader (RFC 8259) for JWT headers and claims and for roost.json_decode: the whole
// text into a tree of values. Pure; bounded nesting depth.
#pragma once
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace roost_lua::json {

struct Value {
    enum class Type { null, boolean, number, string, array, object };
    Type type = Type::null;
    bool boolean = false;
    double number = 0;
    std::string string;
    std::vector<Value> array;
    std::vector<std::pair<std::string, Value>> object;  // in document order

    // The member `key` of an object; nullptr when absent or not an object.
    const Value* get(std::string_view key) const;
};

// Parses `text`; nullopt with `*error` ("offset 12: expected ':'") when it is not valid JSON,
// nests deeper than `max_depth`, or holds more than `max_values` values (each Value is about
// 100 bytes: "[[],[],...]" is 50 times its text's size as a tree, hence a bound).
std::optional<Value> parse(std::string_view text, std::string* error, int max_depth = 64,
                           size_t max_values = SIZE_MAX);

}  // namespace roost_lua::json
