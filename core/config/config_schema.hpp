// The tables and keys roost.toml accepts, as data: config.cpp checks files against it (unknown keys,
// "did you mean", "it belongs in [limits]"), and the tests check that examples/configs/roost.toml
// documents every key. Adding a key means adding it here, reading it in config.cpp and documenting it
// in examples/configs/roost.toml and docs/configuration.md.
#pragma once
#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace roost::config_schema {

struct Section {
    std::string_view name;  // "broker", "listener", ...
    bool array;             // [[name]] (an array of tables) rather than [name]
    std::span<const std::string_view> keys;
};

// Every section, in the order the documentation lists them.
std::span<const Section> sections();

// The section called `name`, or nullptr.
const Section* find_section(std::string_view name);

// "[broker]" or "[[listener]]".
std::string header(const Section& section);

// Edit distance (adjacent transpositions count as one edit), ignoring ASCII case.
size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` when it is close enough to be a likely typo, else empty.
std::string_view closest(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace roost::config_schema
