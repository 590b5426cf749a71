#include "plugin/plugin_check.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include "plugin/handles.hpp"
#include "plugin/plugin_host.hpp"
#include "util/log.hpp"

namespace roost {
namespace {
// What the check-mode table knows: the plugin being checked (checks run one at a time, on the
// main thread) and how many workers the config asks for.
thread_local const PluginConfig* t_checking = nullptr;
unsigned g_check_workers = 1;

void check_log(roost_plugin*, int level, const char* fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    plugin_log_v(t_checking ? t_checking->name.c_str() : "?", level, fmt, ap);
    va_end(ap);
}

const char* check_strerror(int code) {
    return host_strerror(code);
}

const roost_host* check_table() {
    static const roost_host table = {
        sizeof(roost_host),
        ROOST_ABI_V1,
        ROOST_VERSION,
        [](roost_plugin*, roost_hook_kind, const void*) { return int(ROOST_EINVAL); },
        check_log,
        [](roost_call*, roost_verdict, uint8_t, const roost_bytes*) { return int(ROOST_EINVAL); },
        [](roost_plugin*, uint32_t, void (*)(void*), void*) { return int(ROOST_EINVAL); },
        [](roost_plugin*, roost_bytes, roost_bytes, uint8_t, uint8_t) { return int(ROOST_EINVAL); },
        [](const roost_client*, roost_client_field, roost_bytes*) { return int(ROOST_EINVAL); },
        [](const roost_client*) { return int(ROOST_EINVAL); },
        [](const roost_client*, const char*, roost_bytes*) { return int(ROOST_EINVAL); },
        [](roost_client*, uint8_t) { return int(ROOST_EINVAL); },
        [](roost_conn*, roost_bytes) { return int(ROOST_EINVAL); },
        [](roost_conn*, roost_bytes) { return int(ROOST_EINVAL); },
        [](roost_conn*, const char*, roost_bytes) { return int(ROOST_EINVAL); },
        [](roost_conn*) { return int(ROOST_EINVAL); },
        [](roost_plugin*, uint64_t, uint64_t, void (*)(void*), void*, roost_timer*) {
            return int(ROOST_EINVAL);
        },
        []() { return static_cast<uint32_t>(-1); },
        []() { return static_cast<uint32_t>(g_check_workers); },
        check_strerror,
        [](roost_timer) { return int(ROOST_EINVAL); },
        [](roost_conn*, uint64_t, uint64_t, void (*)(void*), void*, roost_timer*) {
            return int(ROOST_EINVAL);
        },
        [](const roost_conn*) { return size_t{0}; },
        [](roost_conn*) { return int(ROOST_EINVAL); },
        [](roost_conn*) { return int(ROOST_EINVAL); },
        [](const roost_conn*, roost_client_field, roost_bytes*) { return int(ROOST_EINVAL); },
        [](roost_plugin*, roost_client*, void*) { return int(ROOST_EINVAL); },
        [](roost_plugin*, const roost_client*) -> void* { return nullptr; },
        [](const roost_client*) { return roost_client_ref{0}; },
        [](roost_client_ref, roost_client**) { return int(ROOST_EINVAL); },
        [](roost_client_ref, uint8_t) { return int(ROOST_EINVAL); },
        [](roost_call* const*, size_t, roost_verdict, uint8_t, int*) { return int(ROOST_EINVAL); },
        [](roost_conn*, roost_bytes) { return int(ROOST_EINVAL); },
        [](roost_plugin*, roost_client*) { return int(ROOST_EINVAL); },
    };
    return &table;
}
}  // namespace

std::vector<roost_option> option_array(const PluginConfig& pc) {
    std::vector<roost_option> out;
    out.reserve(pc.options.size());
    for (size_t i = 0; i < pc.options.size(); ++i) {
        uint32_t line = i < pc.option_lines.size() ? pc.option_lines[i] : 0;
        out.push_back({pc.options[i].first.c_str(), pc.options[i].second.c_str(), pc.file.c_str(), line});
    }
    return out;
}

int run_plugin_check(PluginCheckFn check, const PluginConfig& pc, const std::vector<roost_option>& options) {
    roost_plugin self{nullptr};
    t_checking = &pc;
    int rc = check(check_table(), &self, options.data(), options.size());
    t_checking = nullptr;
    return rc;
}

std::string missing_exports_message(const std::string& path, const void* version, const void* init) {
    if (version && init) return "";
    const char* missing = !version && !init ? "roost_plugin_version and roost_plugin_init"
                          : !version        ? "roost_plugin_version"
                                            : "roost_plugin_init";
    // The usual causes, in the order authors meet them: a misspelt name, an export left out of
    // the build, or a C++ definition the compiler mangled (in a namespace, or without plugin.h).
    return fmt::format(
        "{} does not export {} (is it a Roost plugin? `nm -D --defined-only {}` lists what it "
        "exports: define the function with exactly that name, marked ROOST_EXPORT, "
        "after #include <roost/plugin.h> and outside any C++ namespace)",
        path, missing, path);
}

std::string abi_mismatch_message(uint32_t chosen) {
    return fmt::format(
        "speaks no ABI version this broker offers (offered 1, it chose {}); rebuild it against "
        "this release's SDK",
        chosen);
}

std::string return_code_text(int rc) {
    switch (rc) {
        case ROOST_EINVAL:
            return "-1 ROOST_EINVAL";
        case ROOST_ENOMEM:
            return "-2 ROOST_ENOMEM";
        case ROOST_EGONE:
            return "-3 ROOST_EGONE";
        case ROOST_ENOTSUP:
            return "-4 ROOST_ENOTSUP";
    }
    return std::to_string(rc);
}

std::string check_plugin(const PluginConfig& pc, unsigned workers, bool& checked) {
    checked = false;
    g_check_workers = std::max(1u, workers);
    std::string path;
    try {
        path = find_plugin(pc);
    } catch (const PluginError& e) {
        return e.what();
    }
    auto fail = [&](const std::string& why) {
        return fmt::format("plugin '{}' ({}): {}", pc.name, pc.source, why);
    };
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) return fail(fmt::format("cannot load {}: {}", path, dlerror()));
    std::string error;
    auto version =
        reinterpret_cast<uint32_t (*)(const uint32_t*, size_t)>(dlsym(handle, "roost_plugin_version"));
    auto init = dlsym(handle, "roost_plugin_init");
    auto check = reinterpret_cast<PluginCheckFn>(dlsym(handle, "roost_plugin_check"));
    const uint32_t offered[] = {ROOST_ABI_V1};
    if (!version || !init) {
        error = fail(missing_exports_message(path, reinterpret_cast<const void*>(version), init));
    } else if (uint32_t chosen = version(offered, 1); chosen != ROOST_ABI_V1) {
        error = fail(abi_mismatch_message(chosen));
    } else if (check) {
        checked = true;
        std::vector<roost_option> options = option_array(pc);
        if (int rc = run_plugin_check(check, pc, options); rc < 0)
            error = fail(fmt::format("its options are refused ({}); its log lines above say why",
                                     return_code_text(rc)));
    }
#if !defined(__SANITIZE_ADDRESS__)
    dlclose(handle);
#endif
    return error;
}

}  // namespace roost
