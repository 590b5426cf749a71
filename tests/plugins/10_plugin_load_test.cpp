// Loading plugins: one that loads runs; one that refuses (init < 0), speaks no common ABI
// (roost_plugin_version 0), lacks an export or does not exist stops the broker at start with an
// exit code != 0 and a message that names the plugin, the config file:line and the reason.
#include <doctest/doctest.h>

#include <filesystem>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

// "file:line" of the i-th [[plugin]] table, as a full path and as the file name alone (the
// loader may print either).
std::vector<std::string> where(const WrittenConfig& c, size_t i) {
    std::string line(":");
    line += std::to_string(c.plugin_lines.at(i));  // (not ":" + ...: GCC 12 -O3 -Wrestrict)
    return {c.path + line, std::filesystem::path(c.path).filename().string() + line};
}

bool names_place(const std::string& text, const WrittenConfig& c, size_t i) {
    for (auto& w : where(c, i))
        if (text.find(w) != std::string::npos) return true;
    return false;
}

// The broker stopped by itself, with a failure exit code, without crashing (a signal would be
// 128+N) and within the time limit.
void check_failed_cleanly(const FailedStart& f) {
    INFO("stderr:\n" << f.result.err << "\nconfig:\n" << f.config.text);
    CHECK_FALSE(f.result.timed_out);
    CHECK(f.result.exit_code != 0);
    CHECK(f.result.exit_code > 0);
    CHECK(f.result.exit_code < 128);
}

}  // namespace

TEST_CASE("a plugin that loads: init runs with ABI 1, and clients are served") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_LIFECYCLE_COUNTER, {}});
    PluginBroker b(s);
    CHECK_MESSAGE(b.wait_line({"lifecycle_counter", "fixture: init, abi 1"}), tail(b.log()));
    auto r = run(pub(b, {"-t", "load/x", "-m", "hi"}));
    CHECK_MESSAGE(r.exit_code == 0, r.err);
}

TEST_CASE("init returning < 0 stops the broker, naming the plugin, config file:line and its reason") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_LIFECYCLE_COUNTER, {}});
    s.plugins.push_back({ROOST_PLUGIN_INIT_FAILS, {{"reason", "the database at db.example is unreachable"}}});
    auto f = start_expecting_failure(s);
    check_failed_cleanly(f);
    INFO("stderr:\n" << f.result.err);
    CHECK(contains_ci(f.result.err, "init_fails"));
    CHECK(names_place(f.result.err, f.config, 1));
    CHECK(contains_ci(f.result.err, "the database at db.example is unreachable"));
    // The plugin's reason and the loader's verdict on it: one message line names both the
    // plugin and the place (the loader prefixes every init failure with them).
    bool one_line = false;
    for (auto& line : lines_with(f.result.err, {"init_fails"}))
        for (auto& w : where(f.config, 1))
            one_line = one_line || line.find(w) != std::string::npos;
    CHECK(one_line);
}

TEST_CASE("a plugin that speaks no ABI the broker offers (version 0) stops the broker") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_NO_VERSION, {}});
    auto f = start_expecting_failure(s);
    check_failed_cleanly(f);
    INFO("stderr:\n" << f.result.err);
    CHECK(contains_ci(f.result.err, "no_version"));
    CHECK(names_place(f.result.err, f.config, 0));
    // roost_plugin_init must not run once the version was refused.
    CHECK_FALSE(contains_ci(f.result.err, "INIT CALLED"));
}

TEST_CASE("a shared object without roost_plugin_init stops the broker and names the missing export") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_MISSING_EXPORTS, {}});
    auto f = start_expecting_failure(s);
    check_failed_cleanly(f);
    INFO("stderr:\n" << f.result.err);
    CHECK(contains_ci(f.result.err, "missing_exports"));
    CHECK(names_place(f.result.err, f.config, 0));
    CHECK(contains_ci(f.result.err, "roost_plugin_init"));
}

TEST_CASE("a plugin path that does not exist stops the broker and names the path") {
    Setup s;
    std::string missing = temp_path("no_such_plugin.so");
    s.plugins.push_back({missing, {}});
    auto f = start_expecting_failure(s);
    check_failed_cleanly(f);
    INFO("stderr:\n" << f.result.err);
    CHECK(contains_ci(f.result.err, missing));
    CHECK(names_place(f.result.err, f.config, 0));
}

TEST_CASE("--check-config on a config with a failing plugin does not crash") {
    // --check-config may or may not load plugins (not required); either way it ends by itself,
    // without a signal, and says OK or names the plugin.
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_INIT_FAILS, {}});
    auto c = write_config(s);
    auto r = run({ROOST_BINARY, "-c", c.path, "--check-config"}, 10s);
    INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code >= 0);
    CHECK(r.exit_code < 128);
    if (r.exit_code == 0)
        CHECK(contains_ci(r.out, "OK"));
    else
        CHECK(contains_ci(r.out + r.err, "init_fails"));
}

TEST_CASE("--check-config accepts a config with plugins, transports and default decisions") {
    Setup s;
    s.broker.push_back("plugin_timeout_ms = 500");
    s.listeners[0].auth_default = "allow";
    s.listeners[0].acl_default = "deny";
    s.listeners.push_back(ListenerSpec{"xor", "deny", "allow", 0});
    s.plugins.push_back({ROOST_PLUGIN_TRANSPORT_XOR, {{"key", "0x5a"}}});
    s.plugins.push_back({ROOST_PLUGIN_AUTH_TABLE, {{"users", "alice:secret"}}});
    auto c = write_config(s);
    auto r = run({ROOST_BINARY, "-c", c.path, "--check-config"}, 10s);
    CHECK_MESSAGE(r.exit_code == 0, "stdout:\n"
                                        << r.out << "\nstderr:\n"
                                        << r.err << "\nconfig:\n"
                                        << c.text);
}
