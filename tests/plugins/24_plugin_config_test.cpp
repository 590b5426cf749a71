// A plugin's options: roost --check-config runs roost_plugin_check and names the option's
// file:line; a bad option exits 2 (a configuration error) at check and at start; SIGHUP re-reads
// the file and hands the plugin its options (reload), after checking them.
#include <doctest/doctest.h>

#include <algorithm>
#include <csignal>
#include <string>

#include "plugin_harness.hpp"

using namespace roost_pt;

namespace {

// The 1-based line of `needle` in `text`.
int line_of(const std::string& text, const std::string& needle) {
    size_t at = text.find(needle);
    if (at == std::string::npos) return -1;
    return 1 + int(std::count(text.begin(), text.begin() + long(at), '\n'));
}

}  // namespace

TEST_CASE("--check-config refuses a bad option of the size_limit example, naming file:line, exit 2") {
    Setup s;
    s.plugins.push_back({ROOST_EXAMPLE_SIZE_LIMIT, {{"\"sensors/\"", "256"}, {"max_bytes", "abc"}}});
    auto c = write_config(s);
    auto r = run({ROOST_BINARY, "-c", c.path, "--check-config"}, 10s);
    INFO("stdout:\n" << r.out << "\nstderr:\n" << r.err << "\nconfig:\n" << c.text);
    CHECK(r.exit_code == 2);
    int line = line_of(c.text, "max_bytes = ");
    REQUIRE(line > 0);
    CHECK(contains_ci(r.err, cat({c.path, ":", std::to_string(line), ": option max_bytes = \"abc\""})));
    CHECK_FALSE(contains_ci(r.out, "OK"));

    // The same config does not start either: exit 2, the same line named.
    auto f = start_expecting_failure(s);
    CHECK(f.result.exit_code == 2);
    CHECK(contains_ci(f.result.err, cat({":", std::to_string(line), ": option max_bytes = \"abc\""})));

    // A good value passes, and the summary says the options were checked.
    Setup good;
    good.plugins.push_back({ROOST_EXAMPLE_SIZE_LIMIT, {{"max_bytes", "1024"}}});
    auto g = write_config(good);
    auto ok = run({ROOST_BINARY, "-c", g.path, "--check-config"}, 10s);
    CHECK_MESSAGE(ok.exit_code == 0, ok.err);
    CHECK(contains_ci(ok.out, "1 with options checked"));
}

TEST_CASE("SIGHUP: the config is read again and reload gets the plugin's new options") {
    Setup s;
    s.plugins.push_back({ROOST_PLUGIN_RELOAD_OPTIONS, {{"level", "1"}}});
    PluginBroker b(s);
    REQUIRE_MESSAGE(b.wait_line({"fixture: init level=1 at", b.config().path}), tail(b.log()));
    std::string text = b.config().text;
    int line = line_of(text, "level = ");

    // A changed option: check, then reload (once, on the main thread).
    size_t from = b.log_size();
    std::string edited = text;
    edited.replace(edited.find("level = \"1\""), 11, "level = \"2\"");
    write_file(b.config().path, edited);
    b.signal(SIGHUP);
    CHECK_MESSAGE(
        b.wait_line({cat({"fixture: reload level=2 at ", b.config().path, ":", std::to_string(line)})}, 3s,
                    from),
        tail(b.log()));
    CHECK(b.wait_line({"fixture: check rc=0"}, 1s, from));

    // A bad option: the check refuses it, reload is not called, the broker goes on.
    from = b.log_size();
    std::string bad = text;
    bad.replace(bad.find("level = \"1\""), 11, "level = \"x\"");
    write_file(b.config().path, bad);
    b.signal(SIGHUP);
    CHECK_MESSAGE(b.wait_line({cat({"fixture: ", b.config().path, ":", std::to_string(line),
                                    ": option level = \"x\": not an integer"})},
                              3s, from),
                  tail(b.log()));
    settle(200ms);
    CHECK(lines_with(b.log().substr(from), {"fixture: reload level="}).empty());
    CHECK(b.running());
    auto r = run(pub(b, {"-t", "still/here", "-m", "1"}));
    CHECK(r.exit_code == 0);

    // A config that does not parse: logged, nothing reloaded.
    from = b.log_size();
    write_file(b.config().path, text + "\n[broker\n");
    b.signal(SIGHUP);
    CHECK_MESSAGE(b.wait_line({"SIGHUP"}, 3s, from), tail(b.log()));
    settle(200ms);
    CHECK(lines_with(b.log().substr(from), {"fixture: reload level="}).empty());

    // reload itself may refuse: the plugin keeps its old settings, the broker says so.
    from = b.log_size();
    std::string thirteen = text;
    thirteen.replace(thirteen.find("level = \"1\""), 11, "level = \"13\"");
    write_file(b.config().path, thirteen);
    b.signal(SIGHUP);
    CHECK_MESSAGE(b.wait_line({"fixture: reload refuses 13"}, 3s, from), tail(b.log()));
    CHECK(b.running());
}
