#include "options.hpp"

#include <sys/stat.h>

#include <cctype>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <string_view>

namespace roost_ws {
namespace {
std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
        s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
        s.remove_suffix(1);
    return s;
}

std::vector<std::string> split_list(std::string_view v) {
    std::vector<std::string> out;
    while (!v.empty()) {
        size_t comma = v.find(',');
        std::string_view item = trim(v.substr(0, comma));
        if (!item.empty()) out.emplace_back(item);
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
    }
    return out;
}

bool parse_u64(const char* text, uint64_t min, uint64_t max, uint64_t* out) {
    if (!*text || !std::isdigit(static_cast<unsigned char>(*text))) return false;
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) return false;
    *out = v;
    return true;
}

std::string folder_of(const char* file) {
    const char* slash = std::strrchr(file, '/');
    return slash ? std::string(file, static_cast<size_t>(slash - file)) : std::string(".");
}
}  // namespace

int read_options(const roost_host* host, roost_plugin* self, const roost_option* options, size_t count,
                 Options* out) {
    Options o;
    int rc = ROOST_OK;
    auto wrong = [&](const roost_option& opt, const char* why) {
        host->log(self, ROOST_LOG_ERROR, "%s:%u: option %s = \"%s\": %s", opt.file, opt.line, opt.key,
                  opt.value, why);
        rc = ROOST_EINVAL;
    };
    auto number = [&](const roost_option& opt, uint64_t min, uint64_t max, auto* field, const char* why) {
        uint64_t v = 0;
        if (!parse_u64(opt.value, min, max, &v))
            wrong(opt, why);
        else
            *field = static_cast<std::remove_pointer_t<decltype(field)>>(v);
    };
    for (size_t i = 0; i < count; i++) {
        const roost_option& opt = options[i];
        std::string_view key = opt.key;
        if (key == "path") {
            std::string_view v = opt.value;
            bool ok = !v.empty() && v[0] == '/' && v.find_first_of("?# \t") == std::string_view::npos;
            if (!ok)
                wrong(opt, "must be a path starting with '/' (no query, no spaces), e.g. \"/mqtt\"");
            else
                o.path = v;
        } else if (key == "allowed_origins") {
            o.allowed_origins.clear();
            o.any_origin = false;
            for (std::string& origin : split_list(opt.value)) {
                if (origin == "*") {
                    o.any_origin = true;
                    continue;
                }
                if (origin.find("://") == std::string::npos) {
                    wrong(opt,
                          "each origin is scheme://host[:port] (e.g. \"https://app.example.com\"), or \"*\"");
                    break;
                }
                for (char& c : origin)
                    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
                while (!origin.empty() && origin.back() == '/')
                    origin.pop_back();
                o.allowed_origins.push_back(origin);
            }
        } else if (key == "trusted_proxies") {
            o.trusted_proxies.clear();
            for (const std::string& item : split_list(opt.value)) {
                auto range = parse_ip_range(item);
                if (!range) {
                    wrong(opt,
                          "each entry is an IP address or a CIDR range (\"127.0.0.1\", \"10.0.0.0/8\", "
                          "\"::1\")");
                    break;
                }
                o.trusted_proxies.push_back(*range);
            }
        } else if (key == "http_dir") {
            std::string dir = opt.value;
            if (dir.empty()) {
                o.http_dir.clear();
                continue;
            }
            if (dir[0] != '/') dir = folder_of(opt.file) + "/" + dir;
            char resolved[PATH_MAX];
            struct stat st;
            if (!realpath(dir.c_str(), resolved) || stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode)) {
                std::string why = "not a directory (" + dir + ": " + std::strerror(errno ? errno : ENOTDIR) +
                                  "); a relative path is relative to the config file's folder";
                wrong(opt, why.c_str());
            } else {
                o.http_dir = resolved;
            }
        } else if (key == "max_frame_size") {
            number(opt, 16, 268435456, &o.max_frame_size, "must be an integer from 16 to 268435456 (bytes)");
        } else if (key == "max_message_size") {
            number(opt, 16, 268435456, &o.max_message_size,
                   "must be an integer from 16 to 268435456 (bytes)");
        } else if (key == "max_request_size") {
            number(opt, 256, 1048576, &o.max_request_size, "must be an integer from 256 to 1048576 (bytes)");
        } else if (key == "max_backlog") {
            number(opt, 4096, uint64_t{1} << 32, &o.max_backlog,
                   "must be an integer from 4096 to 4294967296 (bytes)");
        } else if (key == "close_timeout_ms") {
            number(opt, 1, 600000, &o.close_timeout_ms, "must be an integer from 1 to 600000 (milliseconds)");
        } else if (key == "ping_interval") {
            uint64_t seconds = 0;
            if (!parse_u64(opt.value, 0, 86400, &seconds))
                wrong(opt, "must be an integer from 0 (off) to 86400 (seconds)");
            else
                o.ping_interval_ms = seconds * 1000;
        } else {
            wrong(opt,
                  "unknown option (known: path, allowed_origins, trusted_proxies, http_dir, max_frame_size, "
                  "max_message_size, max_request_size, max_backlog, close_timeout_ms, ping_interval)");
        }
    }
    // A frame never carries more than its message may.
    if (rc == ROOST_OK && o.max_frame_size > o.max_message_size) o.max_frame_size = o.max_message_size;
    if (rc == ROOST_OK) *out = std::move(o);
    return rc;
}

}  // namespace roost_ws
