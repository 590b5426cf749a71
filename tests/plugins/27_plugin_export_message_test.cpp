// A shared object that lacks one required export: the broker (at start and in --check-config)
// names exactly the export that is missing, not both, and says how to see and fix the exports.
// Authors meet this with a misspelt name or a C++ definition inside a namespace (mangled). And
// a failed init names its return code (ROOST_EINVAL), not only its number; an ABI mismatch says
// "rebuild" in --check-config too; a PENDING from on_publish says where waiting belongs.
#include <doctest/doctest.h>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

void check_names_only_init(const std::string& text) {
    INFO("output:\n" << text);
    CHECK(contains_ci(text, "does not export roost_plugin_init"));
    CHECK_FALSE(contains_ci(text, "does not export roost_plugin_version"));
    CHECK(contains_ci(text, "nm -D"));
    CHECK(contains_ci(text, "ROOST_EXPORT"));
}

}  // namespace

TEST_CASE("start: a plugin without roost_plugin_init is refused, naming only that export") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_MISSING_EXPORTS, {}});
    auto f = start_expecting_failure(s);
    CHECK(f.result.exit_code == 2);  // a configuration error, as --check-config says of it
    check_names_only_init(f.result.err);
}

TEST_CASE("--check-config: a plugin without roost_plugin_init is refused, naming only that export") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_MISSING_EXPORTS, {}});
    auto c = write_config(s);
    auto r = run({ROOST_BINARY, "-c", c.path, "--check-config"}, 10s);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code == 2);
    check_names_only_init(r.out + r.err);
}

TEST_CASE("init returning a ROOST_E* code: the loader's line names the code, not only its number") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_INIT_FAILS, {}});  // returns -1, ROOST_EINVAL
    auto f = start_expecting_failure(s);
    INFO("stderr:\n" << f.result.err);
    CHECK(f.result.exit_code == 2);  // ROOST_EINVAL: the configuration is wrong
    CHECK(contains_ci(f.result.err, "initialisation failed (-1 ROOST_EINVAL)"));
}

TEST_CASE("--check-config: a plugin that speaks no offered ABI is told to rebuild, as at start") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_NO_VERSION, {}});
    auto c = write_config(s);
    auto r = run({ROOST_BINARY, "-c", c.path, "--check-config"}, 10s);
    INFO("output:\n" << r.out << r.err);
    CHECK(r.exit_code == 2);
    CHECK(contains_ci(r.out + r.err, "speaks no ABI version this broker offers"));
    CHECK(contains_ci(r.out + r.err, "rebuild it against this release's SDK"));
}

TEST_CASE("on_publish answering PENDING: the message is dropped, and the log says where waiting belongs") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_MESSAGE_PENDING, {}});
    PluginBroker b(s);
    auto r = run(pub(b, {"-t", "p/x", "-m", "hi", "-q", "1", "-V", "mqttv5"}));
    INFO("mosquitto_pub:\n" << r.out << r.err);
    CHECK(contains_ci(r.out + r.err, "Implementation specific error"));
    CHECK_MESSAGE(b.wait_line({"message_pending", "on_publish returned 3", "publish ACL check"}),
                  tail(b.log()));
}
