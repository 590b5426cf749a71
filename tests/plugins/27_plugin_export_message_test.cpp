// A shared object that lacks one required export: the broker (at start and in --check-config)
// names exactly the export that is missing, not both, and says how to see and fix the exports.
// Authors meet this with a misspelt name or a C++ definition inside a namespace (mangled). And
// a failed init names its return code (ROOST_EINVAL), not only its number.
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
    CHECK(f.result.exit_code > 0);
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
