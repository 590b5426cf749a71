#include "util/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>

namespace roost::log {
namespace {
std::atomic<LogLevel> g_level{LogLevel::Info};
std::mutex g_mutex;
FILE* g_out = nullptr;  // nullptr = stderr

const char* level_tag(LogLevel l) {
    switch (l) {
        case LogLevel::Error:
            return "ERROR";
        case LogLevel::Warning:
            return "WARN ";
        case LogLevel::Info:
            return "INFO ";
        case LogLevel::Debug:
            return "DEBUG";
    }
    return "?    ";
}
// Issue 12, item 11: a line is one line. Bytes a client chose (client ids, topics, user names)
// reach the log; control characters among them are written as \xNN so that nobody can forge a
// line or drive a terminal.
std::string escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char ch : text) {
        auto c = static_cast<unsigned char>(ch);
        if (c < 0x20 || c == 0x7f) {
            static const char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += ch;
        }
    }
    return out;
}

}  // namespace

void set_level(LogLevel l) {
    g_level = l;
}
LogLevel level() {
    return g_level;
}

bool set_file(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "a");
    if (!f) return false;
    std::lock_guard lock(g_mutex);
    if (g_out) std::fclose(g_out);
    g_out = f;
    return true;
}

bool allow_limited(std::string_view key, size_t& suppressed) {
    constexpr size_t kLinesPerSecond = 10;
    struct Window {
        std::chrono::steady_clock::time_point start;
        size_t written = 0;
        size_t suppressed = 0;
    };
    thread_local std::unordered_map<std::string, Window> windows;
    auto now = std::chrono::steady_clock::now();
    auto it = windows.find(std::string(key));
    if (it == windows.end()) it = windows.emplace(std::string(key), Window{now}).first;
    Window& w = it->second;
    if (now - w.start >= std::chrono::seconds(1)) {
        w.start = now;
        w.written = 0;
    }
    if (w.written >= kLinesPerSecond) {
        ++w.suppressed;
        return false;
    }
    ++w.written;
    suppressed = std::exchange(w.suppressed, 0);
    return true;
}

void write(LogLevel l, std::string_view text) {
    using namespace std::chrono;
    auto now = system_clock::now();
    std::time_t t = system_clock::to_time_t(now);
    auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    const std::string safe = escape(text);
    std::lock_guard lock(g_mutex);
    FILE* out = g_out ? g_out : stderr;
    std::fprintf(out, "%s.%03dZ %s %.*s\n", stamp, static_cast<int>(ms), level_tag(l),
                 static_cast<int>(safe.size()), safe.data());
    std::fflush(out);
}

}  // namespace roost::log
