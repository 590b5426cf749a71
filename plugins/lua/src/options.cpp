#include "options.hpp"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <algorithm>
#include <roost/plugin.hpp>
#include <stdexcept>

namespace roost_lua {
namespace {

const char* const known_keys[] = {
    "script", "read_dirs", "instruction_budget", "memory_limit", "cache_ttl", "cache_entries", "on_error"};

// Levenshtein distance, for "did you mean" on a misspelt plugin option.
size_t distance(const std::string& a, const std::string& b) {
    std::vector<size_t> row(b.size() + 1);
    for (size_t j = 0; j <= b.size(); ++j)
        row[j] = j;
    for (size_t i = 1; i <= a.size(); ++i) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= b.size(); ++j) {
            size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

std::string folder_of(const std::string& path) {
    size_t slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

std::string resolve(const std::string& dir, const std::string& path) {
    return !path.empty() && path[0] == '/' ? path : dir + "/" + path;
}

std::string canonical(const std::string& path) {
    char buf[PATH_MAX];
    return realpath(path.c_str(), buf) ? std::string(buf) : std::string();
}

// "64MiB", "512KiB", "1GiB" (also K, M, G, KB, MB, GB: powers of 1024) or plain bytes.
size_t parse_size(const roost::options& o, const char* key, size_t fallback) {
    auto v = o.get(key);
    if (!v) return fallback;
    std::string text(*v);
    char* end = nullptr;
    unsigned long long n = std::strtoull(text.c_str(), &end, 10);
    std::string unit(end);
    unsigned long long scale = unit.empty() || unit == "B"                    ? 1
                               : unit == "K" || unit == "KB" || unit == "KiB" ? 1024ull
                               : unit == "M" || unit == "MB" || unit == "MiB" ? 1024ull * 1024
                               : unit == "G" || unit == "GB" || unit == "GiB" ? 1024ull * 1024 * 1024
                                                                              : 0;
    if (end == text.c_str() || text[0] == '-' || scale == 0)
        throw std::invalid_argument(o.where(key) + "option " + key + " = \"" + text +
                                    "\": not a size (bytes, or with KiB, MiB, GiB)");
    unsigned long long bytes = n * scale;
    if (bytes < (1u << 20) || bytes > (1ull << 40))
        throw std::invalid_argument(o.where(key) + "option " + key + " = \"" + text +
                                    "\": from 1MiB to 1TiB");
    return static_cast<size_t>(bytes);
}

}  // namespace

std::shared_ptr<const Settings> parse_settings(const roost_option* array, size_t count) {
    roost::options o(array, count);
    auto s = std::make_shared<Settings>();
    std::string config_file;
    for (size_t i = 0; i < count; ++i)
        if (array[i].file && *array[i].file) config_file = array[i].file;
    s->config_dir = config_file.empty() ? canonical(".") : canonical(folder_of(config_file));

    auto script = o.get("script");
    if (!script || script->empty())
        throw std::invalid_argument(
            "option script is required: the Lua file to run, e.g. script = \"scripts/acl.lua\"");
    s->script = std::string(*script);
    s->script_path = canonical(resolve(s->config_dir, s->script));
    if (s->script_path.empty())
        throw std::invalid_argument(o.where("script") + "option script = \"" + s->script +
                                    "\": no such file (relative paths start at the config file's folder, " +
                                    s->config_dir + ")");
    // A folder "opens" and reads as an empty script, which then "defines none of on_auth, ...":
    // say what is wrong instead, and the same for a file the broker's user may not read.
    struct stat st {};
    if (stat(s->script_path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        throw std::invalid_argument(
            o.where("script") + "option script = \"" + s->script + "\": " + s->script_path +
            (S_ISDIR(st.st_mode) ? " is a folder" : " is not a regular file") + ", not a Lua file");
    if (int fd = ::open(s->script_path.c_str(), O_RDONLY | O_CLOEXEC); fd < 0) {
        throw std::invalid_argument(o.where("script") + "option script = \"" + s->script +
                                    "\": " + s->script_path + " cannot be read (" + std::strerror(errno) +
                                    "): make it readable by the user roost runs as");
    } else {
        ::close(fd);
    }

    // Scripts may read under their own folder and the config file's folder, and where read_dirs says.
    s->read_dirs = {folder_of(s->script_path), s->config_dir};
    if (auto dirs = o.get("read_dirs")) {
        std::string list(*dirs);
        size_t start = 0;
        while (start <= list.size()) {
            size_t comma = list.find(',', start);
            std::string item =
                list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
            while (!item.empty() && item.front() == ' ')
                item.erase(0, 1);
            while (!item.empty() && item.back() == ' ')
                item.pop_back();
            if (!item.empty()) {
                std::string dir = canonical(resolve(s->config_dir, item));
                if (dir.empty())
                    throw std::invalid_argument(o.where("read_dirs") + "option read_dirs: folder \"" + item +
                                                "\" does not exist");
                s->read_dirs.push_back(dir);
            }
            if (comma == std::string::npos) break;
            start = comma + 1;
        }
    }
    s->instruction_budget =
        static_cast<uint64_t>(o.get_int("instruction_budget", 1000000, 10000, 10000000000LL));
    s->memory_limit = parse_size(o, "memory_limit", 64u << 20);
    s->cache_ttl_ms =
        static_cast<uint64_t>(o.get_duration("cache_ttl", std::chrono::milliseconds(5000)).count());
    s->cache_entries = static_cast<size_t>(o.get_int("cache_entries", 1024, 1, 1000000));
    std::string on_error = o.get_or("on_error", "deny");
    if (on_error == "deny")
        s->on_error = OnError::deny;
    else if (on_error == "allow")
        s->on_error = OnError::allow;
    else if (on_error == "next")
        s->on_error = OnError::next;
    else
        throw std::invalid_argument(o.where("on_error") + "option on_error = \"" + on_error +
                                    "\": must be \"deny\" (fail closed), \"allow\" (fail open) or \"next\"");

    // Every other key is the script's (roost.options), unless it looks like a misspelt one of ours.
    for (auto& [key, value] : o) {
        bool ours = false;
        for (const char* k : known_keys)
            ours = ours || key == k;
        if (ours) continue;
        for (const char* k : known_keys)
            if (distance(key, k) <= 2)
                throw std::invalid_argument(
                    o.where(key) + "option " + key + ": unknown (did you mean '" + k +
                    "'? Options the plugin does not know go to the script as roost.options)");
        s->script_options[key] = value;
    }
    return s;
}

}  // namespace roost_lua
