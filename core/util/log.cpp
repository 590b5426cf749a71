#include "util/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace roost::log {
namespace {
std::atomic<LogLevel> g_level{LogLevel::Info};
std::mutex g_mutex;
FILE* g_out = nullptr;  // nullptr = stderr

const char* level_tag(LogLevel l) {
    switch (l) {
        case LogLevel::Error: return "ERROR";
        case LogLevel::Warning: return "WARN ";
        case LogLevel::Info: return "INFO ";
        case LogLevel::Debug: return "DEBUG";
    }
    return "?    ";
}
}  // namespace

void set_level(LogLevel l) { g_level = l; }
LogLevel level() { return g_level; }

bool set_file(const std::string& path) {
    FILE* f = std::fopen(path.c_str(), "a");
    if (!f) return false;
    std::lock_guard lock(g_mutex);
    if (g_out) std::fclose(g_out);
    g_out = f;
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
    std::lock_guard lock(g_mutex);
    FILE* out = g_out ? g_out : stderr;
    std::fprintf(out, "%s.%03dZ %s %.*s\n", stamp, static_cast<int>(ms), level_tag(l), static_cast<int>(text.size()),
                 text.data());
    std::fflush(out);
}

}  // namespace roost::log
