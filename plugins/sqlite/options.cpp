#include "options.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

namespace roost_sqlite {
namespace {

// "123", "123ms", "2s", "5m": milliseconds. False for anything else.
bool parse_duration_ms(const char* text, uint64_t& out) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text, &end, 10);
    if (errno || end == text || text[0] == '-') return false;
    uint64_t mult = 1;
    if (*end == 0 || std::strcmp(end, "ms") == 0)
        mult = 1;
    else if (std::strcmp(end, "s") == 0)
        mult = 1000;
    else if (std::strcmp(end, "m") == 0)
        mult = 60000;
    else
        return false;
    out = v * mult;
    return true;
}

// "1048576", "64KB", "100MB", "2GB" (1024-based): bytes. False for anything else.
bool parse_size(const char* text, uint64_t& out) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text, &end, 10);
    if (errno || end == text || text[0] == '-') return false;
    uint64_t mult = 1;
    if (*end == 0 || std::strcmp(end, "B") == 0)
        mult = 1;
    else if (std::strcmp(end, "KB") == 0)
        mult = 1024;
    else if (std::strcmp(end, "MB") == 0)
        mult = 1024 * 1024;
    else if (std::strcmp(end, "GB") == 0)
        mult = 1024ull * 1024 * 1024;
    else
        return false;
    out = v * mult;
    return true;
}

}  // namespace

const char* sync_name(SyncMode m) {
    switch (m) {
        case SyncMode::Full:
            return "full";
        case SyncMode::Normal:
            return "normal";
        case SyncMode::Periodic:
            return "periodic";
    }
    return "?";
}

bool parse_options(const roost_host* host, roost_plugin* self, const roost_option* options, size_t count,
                   Options& out) {
    for (size_t i = 0; i < count; ++i) {
        const roost_option& o = options[i];
        auto bad = [&](const char* want) {
            host->log(self, ROOST_LOG_ERROR, "%s:%u: option %s = \"%s\": %s", o.file, o.line, o.key, o.value,
                      want);
            return false;
        };
        if (std::strcmp(o.key, "path") == 0) {
            if (!*o.value) return bad("a file name is needed (default \"roost.db\")");
            out.path = o.value;
            // Here, not only when the database opens: --check-config then finds it too, with the
            // option's file:line. Relative to the directory roost starts in, as the database.
            std::filesystem::path dir = std::filesystem::path(out.path).parent_path();
            std::error_code ec;
            if (!dir.empty() && !std::filesystem::is_directory(dir, ec)) {
                std::string why = "the directory " + dir.string() + " does not exist (relative paths start " +
                                  "in the directory roost runs in): create it (mkdir -p " + dir.string() +
                                  ") or set path to a file in an existing directory";
                return bad(why.c_str());
            }
        } else if (std::strcmp(o.key, "sync") == 0) {
            if (std::strcmp(o.value, "full") == 0)
                out.sync = SyncMode::Full;
            else if (std::strcmp(o.value, "normal") == 0)
                out.sync = SyncMode::Normal;
            else if (std::strcmp(o.value, "periodic") == 0)
                out.sync = SyncMode::Periodic;
            else
                return bad("one of \"full\", \"normal\" (the default) or \"periodic\"");
        } else if (std::strcmp(o.key, "commit_interval") == 0) {
            if (!parse_duration_ms(o.value, out.commit_interval_ms) || out.commit_interval_ms == 0 ||
                out.commit_interval_ms > 600000)
                return bad("a duration from 1 ms to 10 m, e.g. 100, \"250ms\" or \"1s\"");
        } else if (std::strcmp(o.key, "commit_delay") == 0) {
            if (!parse_duration_ms(o.value, out.commit_delay_ms) || out.commit_delay_ms > 100)
                return bad("a duration from 0 to 100 ms, e.g. \"1ms\" (0 = commit at once)");
        } else if (std::strcmp(o.key, "max_size") == 0) {
            if (!parse_size(o.value, out.max_size_bytes) ||
                (out.max_size_bytes != 0 && out.max_size_bytes < 64 * 1024))
                return bad("a size of at least 64KB, e.g. \"512MB\" or \"2GB\" (0 = unlimited)");
        } else if (std::strcmp(o.key, "stats_interval") == 0) {
            if (!parse_duration_ms(o.value, out.stats_interval_ms))
                return bad("a duration, e.g. \"60s\" (0 = no statistics lines)");
        } else {
            host->log(self, ROOST_LOG_ERROR,
                      "%s:%u: unknown option %s (known: path, sync, commit_interval, commit_delay, max_size, "
                      "stats_interval)",
                      o.file, o.line, o.key);
            return false;
        }
    }
    return true;
}

}  // namespace roost_sqlite
