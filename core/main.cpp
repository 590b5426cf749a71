// The `roost` command: reads the configuration (file, then command-line overrides), sets up logging
// and runs the broker. Exit codes: 0 clean stop, 1 runtime failure, 2 usage or configuration error.
#include <fmt/format.h>
#include <malloc.h>
#include <CLI/CLI.hpp>

#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "broker/retained_store.hpp"
#include "config/config.hpp"
#include "net/connection.hpp"
#include "net/tls_listeners.hpp"
#include "plugin/plugin_check.hpp"
#include "plugin/plugin_host.hpp"
#include "server/server.hpp"
#include "util/log.hpp"

namespace {

constexpr int kExitRuntimeError = 1;
constexpr int kExitUsageError = 2;

constexpr const char* kDescription =
    "Roost is an MQTT broker for MQTT 3.1.1 and 5.0 clients. It reads its settings from a TOML\n"
    "file (-c FILE; examples/configs/roost.toml documents every key and its default) and runs with\n"
    "the built-in defaults without one: a TCP listener on 127.0.0.1:1883 (this machine only),\n"
    "anonymous clients allowed. --listen 0.0.0.0:1883 (or a [[listener]]) opens it to the network.\n"
    "-p and --listen replace the file's listeners. Roost runs until SIGINT or SIGTERM.\n";

constexpr const char* kFooter =
    "Examples:\n"
    "  roost                                  listen on 127.0.0.1:1883 with the defaults\n"
    "  roost -c /etc/roost/roost.toml         run with a configuration file\n"
    "  roost -c roost.toml --check-config     validate the file and exit\n"
    "  roost --listen 127.0.0.1:1883 --listen [::1]:1883 -v\n"
    "  roost -c roost.toml --workers 1        one event loop, whatever the file says\n"
    "\n"
    "Exit status: 0 after a clean stop, 1 when the broker fails at run time,\n"
    "2 for a usage or configuration error.";

std::string plural(size_t n, const char* word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

// The first [[plugin]] whose shared object cannot be found, as an error line; empty when all are.
std::string find_plugin_files(const roost::Config& config) {
    for (const roost::PluginConfig& plugin : config.plugins) {
        std::string path;
        try {
            path = roost::find_plugin(plugin);  // by name: searched; by path: as written
        } catch (const roost::PluginError& e) {
            return e.what();
        }
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) {
            return fmt::format(
                "plugin '{}' ({}): {} does not exist (a relative `path` starts at the config file's folder; "
                "without `path`, `name` is looked up in the plugin folders)",
                plugin.name, plugin.source, path);
        }
    }
    return {};
}

// Each TLS file a listener names that is not there, one error line each: OpenSSL's own message
// for it is three lines of "system library" errors, and comes after the plugins started.
std::vector<std::string> missing_tls_files(const roost::Config& config) {
    std::vector<std::string> errors;
    for (const roost::ListenerConfig& l : config.listeners) {
        const std::pair<const char*, const std::string*> files[] = {{"tls_cert_file", &l.tls.cert_file},
                                                                    {"tls_key_file", &l.tls.key_file},
                                                                    {"tls_ca_file", &l.tls.ca_file},
                                                                    {"tls_ca_dir", &l.tls.ca_dir}};
        for (const auto& [key, path] : files) {
            std::error_code ec;
            if (path->empty() || std::filesystem::exists(*path, ec)) continue;
            errors.push_back(
                fmt::format("listener {}:{} ({}): {} '{}' does not exist (a relative path starts at "
                            "the config file's folder)",
                            l.bind, l.port, l.source, key, *path));
        }
    }
    return errors;
}

// Writes each line to stderr; true when there was any.
bool print_errors(const std::vector<std::string>& errors) {
    for (const std::string& e : errors)
        std::cerr << e << "\n";
    return !errors.empty();
}

}  // namespace

int main(int argc, char** argv) {
    CLI::App app(kDescription, "roost");
    app.footer(kFooter);
    app.set_version_flag("--version", "roost " ROOST_VERSION " (MQTT 3.1.1, 5.0)");

    std::string config_file;
    int port = 0;
    std::vector<std::string> listen;
    int workers = -1;  // -1: as the file says
    bool verbose = false;
    bool check_config = false;
    app.add_option("-c,--config", config_file, "Configuration file (TOML); without it the defaults apply")
        ->type_name("FILE");
    app.add_option("-p,--port", port,
                   "Listen on 127.0.0.1:PORT (1-65535) instead of the configured listeners")
        ->type_name("PORT")
        ->check(CLI::Range(1, 65535).description(""));
    app.add_option("--listen", listen,
                   "Listen on ADDR:PORT, [IPv6]:PORT or PORT (repeatable) instead of the configured "
                   "listeners; PORT alone is 0.0.0.0:PORT (every IPv4 interface); combines with -p")
        ->type_name("ADDR:PORT");
    app.add_option("-w,--workers", workers,
                   "Worker threads, each an event loop with its own connections (0-256; 0 = one per "
                   "core); replaces [broker] workers")
        ->type_name("N")
        ->check(CLI::Range(0, 256).description(""));
    app.add_flag("-v,--verbose", verbose, "Log at debug level, whatever [log] level says");
    app.add_flag("--check-config", check_config,
                 "Validate the configuration (file and options), print a summary and exit");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // --help and --version arrive here too, with exit code 0.
        int code = app.exit(e);
        return code == 0 ? 0 : kExitUsageError;
    }

    if (app.count("--config") && config_file.empty()) {  // `-c "$UNSET"`: not the defaults, silently
        std::cerr << "roost: -c/--config: the file name is empty\n";
        return kExitUsageError;
    }
    roost::Config config;
    if (!config_file.empty()) {
        try {
            config = roost::load_config_file(config_file);
        } catch (const roost::ConfigError& e) {
            std::cerr << e.what() << "\n";  // already "file:line:column: ..." lines
            return kExitUsageError;
        }
    }
    if (port != 0 || !listen.empty()) {
        std::vector<roost::ListenerConfig> listeners;
        if (port != 0) {
            roost::ListenerConfig listener;
            listener.port = static_cast<uint16_t>(port);
            listener.source = "command line";
            listeners.push_back(listener);
        }
        for (const std::string& address : listen) {
            roost::ListenerConfig listener;
            try {
                listener = roost::parse_listen_address(address);
            } catch (const roost::ConfigError& e) {
                std::cerr << "roost: --listen: " << e.what() << "\n";
                return kExitUsageError;
            }
            bool duplicate = false;
            for (const auto& other : listeners) {
                duplicate = duplicate || (other.bind == listener.bind && other.port == listener.port);
            }
            if (!duplicate) listeners.push_back(std::move(listener));
        }
        config.listeners = std::move(listeners);
    }
    if (config.listeners.empty()) {  // no file: the same default a file without [[listener]] gets
        roost::ListenerConfig listener;
        listener.source = "default";
        config.listeners.push_back(listener);
    }
    if (workers >= 0) config.broker.workers = static_cast<unsigned>(workers);
    if (verbose) config.log.level = roost::LogLevel::Debug;

    if (check_config) {
        // Each plugin is loaded (dlopen: no init, no threads) and, if it exports
        // roost_plugin_check, asked about its options; its own error lines name file:line.
        size_t checked = 0;
        for (const roost::PluginConfig& plugin : config.plugins) {
            bool had_check = false;
            std::string error = roost::check_plugin(plugin, config.broker.workers, had_check);
            if (!error.empty()) {
                std::cerr << error << "\n";
                return kExitUsageError;
            }
            if (had_check) ++checked;
        }
        // Each TLS listener's certificate, key and CA files, loaded as at start.
        if (print_errors(missing_tls_files(config))) return kExitUsageError;
        {
            roost::net::TlsListeners tls;
            std::vector<std::string> errors = tls.load(config.listeners);
            for (const std::string& e : errors)
                std::cerr << e << "\n";
            if (!errors.empty()) return kExitUsageError;
        }
        std::string name = config_file.empty() ? "built-in defaults" : config_file;
        std::cout << name << ": OK (" << plural(config.listeners.size(), "listener")
                  << (config.plugins.empty() ? ""
                                             : ", " + plural(config.plugins.size(), "plugin") + " loaded, " +
                                                   std::to_string(checked) + " with options checked")
                  << ")\n";
        return 0;
    }

    // A plugin or certificate file that is not there is a configuration error (exit status 2, as
    // --check-config says), found before the broker logs anything or opens a port.
    if (std::string error = find_plugin_files(config); !error.empty()) {
        std::cerr << error << "\n";
        return kExitUsageError;
    }
    if (print_errors(missing_tls_files(config))) return kExitUsageError;

    // From here on the broker logs; a SIGTERM sent on its first line must stop it cleanly.
    roost::hold_stop_signals();
    roost::log::set_level(config.log.level);
    if (!config.log.file.empty() && !roost::log::set_file(config.log.file)) {
        std::cerr << "roost: cannot open log file '" << config.log.file << "' ([log] file)\n";
        return kExitRuntimeError;
    }
    // Large buffers (a big message, a client's backlog) come from mmap and go back to the system
    // when freed. glibc would otherwise raise this threshold after the first such free, and keep
    // later ones in its heap for good (issue 12, item 8: idle connections must not keep MBs).
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
    // And the heap's free top goes back to the system only past 64 MiB: at glibc's 128 KiB the
    // per-turn churn of output and inbox buffers made a brk() shrink, with its TLB flush on every
    // core, most turns (15 % of the broker's time in a QoS 1 fan-out, perf); at 4 MiB a backlog of
    // TLS records of large messages (tens of MB in flight) was handed back and page-faulted in
    // again on every write (TLS pairs with 16 KiB payloads: 81 -> 57 µs per delivery at 64 MiB).
    // What stays is heap the broker used a moment ago; buffers of 256 KiB and more still go.
    mallopt(M_TRIM_THRESHOLD, 64 * 1024 * 1024);
    if (std::string note = roost::net::configure(config.limits); !note.empty()) roost::log::info("{}", note);
    roost::RetainedStore::set_limits(config.limits.max_retained_messages, config.limits.max_retained_payload);
    try {
        return roost::run_server(config);
    } catch (const std::exception& e) {
        roost::log::error("broker stopped: {}", e.what());
        return kExitRuntimeError;
    }
}
