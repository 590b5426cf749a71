// Logging: one line per event, "2026-11-22T10:00:00.123Z INFO  text". Thread-safe.
#pragma once
#include <fmt/format.h>

#include <string_view>

#include "config/config.hpp"

namespace roost::log {

void set_level(LogLevel level);
LogLevel level();
bool set_file(const std::string& path);  // false when it cannot be opened
void write(LogLevel level, std::string_view text);

// Rate limiting for lines a client can cause at will (a limit crossed, a hostile packet): at
// most 10 lines per `key` (the limit's name) per second on each thread; the rest are counted
// and reported once with the next line that goes out. Returns whether a line may be written
// now, and the lines suppressed since the last one that was, in `suppressed`.
bool allow_limited(std::string_view key, size_t& suppressed);

// A warning about a client crossing the limit `key`, rate limited as allow_limited() says.
template <typename... Args>
void limit(std::string_view key, fmt::format_string<Args...> f, Args&&... args) {
    if (level() < LogLevel::Warning) return;
    size_t suppressed = 0;
    if (!allow_limited(key, suppressed)) return;
    std::string text = fmt::format(f, std::forward<Args>(args)...);
    if (suppressed > 0) text += fmt::format(" ({} more lines for {} suppressed)", suppressed, key);
    write(LogLevel::Warning, text);
}

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
    write(LogLevel::Error, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    if (level() >= LogLevel::Warning) write(LogLevel::Warning, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    if (level() >= LogLevel::Info) write(LogLevel::Info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    if (level() >= LogLevel::Debug) write(LogLevel::Debug, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace roost::log
