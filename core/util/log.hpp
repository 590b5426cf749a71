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
