// 00 cli: the `roost` command as a new user meets it: --help and --version, usage errors, a
// config given as a folder or as an empty name, and the warnings at start that name a setting
// which does less than it seems to. Each runs the real binary; nothing here needs a client.
#include <doctest/doctest.h>

#include <filesystem>

#include "harness.hpp"

using namespace roost_it;

TEST_CASE("--help names every option and exits 0; --version prints the version") {
    ROOST_ONLY();
    RunResult help = run({ROOST_BINARY, "--help"});
    CHECK(help.exit_code == 0);
    for (const char* option : {"-c,--config", "-p,--port", "--listen", "-w,--workers", "-v,--verbose",
                               "--check-config", "--version", "Exit status"}) {
        CHECK_MESSAGE(help.out.find(option) != std::string::npos, option, " missing from:\n", help.out);
    }
    // What a bare PORT after --listen means: every interface, unlike -p.
    CHECK_MESSAGE(help.out.find("PORT alone is 0.0.0.0:PORT") != std::string::npos, help.out);
    RunResult version = run({ROOST_BINARY, "--version"});
    CHECK(version.exit_code == 0);
    CHECK_MESSAGE(version.out.rfind("roost ", 0) == 0, version.out);
}

TEST_CASE("usage errors exit 2 and say what is wrong") {
    ROOST_ONLY();
    RunResult unknown = run({ROOST_BINARY, "--prot", "1883"});
    CHECK(unknown.exit_code == 2);
    RunResult port = run({ROOST_BINARY, "-p", "0"});
    CHECK(port.exit_code == 2);
    RunResult listen = run({ROOST_BINARY, "--listen", "localhost:1883"});
    CHECK(listen.exit_code == 2);
    CHECK_MESSAGE(contains_ci(listen.err, "host names are not resolved"), listen.err);
    RunResult missing = run({ROOST_BINARY, "-c", temp_path("nowhere.toml"), "--check-config"});
    CHECK(missing.exit_code == 2);
    CHECK_MESSAGE(contains_ci(missing.err, "nowhere.toml: cannot open: No such file"), missing.err);
}

TEST_CASE("-c with an empty name or a folder is an error, not a run with the defaults") {
    ROOST_ONLY();
    // Both ran the broker with the built-in defaults and said nothing (`-c "$UNSET_VARIABLE"`,
    // `-c /etc/roost`): --check-config printed "OK".
    RunResult empty = run({ROOST_BINARY, "-c", "", "--check-config"});
    CHECK(empty.exit_code == 2);
    CHECK_MESSAGE(contains_ci(empty.err, "the file name is empty"), empty.err);
    std::string folder = temp_path("etc-roost");
    std::filesystem::create_directories(folder);
    RunResult dir = run({ROOST_BINARY, "-c", folder, "--check-config"});
    CHECK(dir.exit_code == 2);
    CHECK_MESSAGE(contains_ci(dir.err, "is a folder, not a configuration file"), dir.err);
    CHECK_MESSAGE(dir.out.find("OK") == std::string::npos, dir.out);
}

TEST_CASE("a quoted number in the file: the error says to drop the quotes") {
    ROOST_ONLY();
    std::string path = temp_path("quoted.toml");
    write_file(path, "[[listener]]\nbind = \"127.0.0.1\"\nport = \"1883\"\n");
    RunResult r = run({ROOST_BINARY, "-c", path, "--check-config"});
    CHECK(r.exit_code == 2);
    CHECK_MESSAGE(contains_ci(r.err, "quoted.toml:3:8: 'port' in [[listener]]"), r.err);
    CHECK_MESSAGE(contains_ci(r.err, "(write port = 1883, without quotes)"), r.err);
}

TEST_CASE("allow_anonymous = false without an auth plugin: a warning, and a user name still gets in") {
    ROOST_ONLY();
    BrokerOptions o;
    o.broker = {"allow_anonymous = false"};
    Broker b(o);
    CHECK_MESSAGE(
        b.wait_log({"allow_anonymous = false, but no authentication plugin is loaded to check user names"}),
        b.log());
    // What the warning says: no user name is refused, any user name is accepted.
    RunResult anonymous = run(pub_args(b, {"-t", "cli/x", "-m", "1"}));
    CHECK(anonymous.exit_code != 0);
    RunResult named = run(pub_args(b, {"-u", "anyone", "-P", "anything", "-t", "cli/x", "-m", "1"}));
    CHECK_MESSAGE(named.exit_code == 0, named.err);
}

TEST_CASE("allow_anonymous = true (the default): no such warning") {
    ROOST_ONLY();
    Broker b;
    RunResult r = run(pub_args(b, {"-t", "cli/x", "-m", "1"}));
    CHECK(r.exit_code == 0);
    CHECK_FALSE(b.log_contains("allow_anonymous = false"));
}

TEST_CASE("a plugin file that is not there: exit 2 at start as in --check-config, before any port opens") {
    ROOST_ONLY();
    // It was exit status 1 at start (a run-time failure) but 2 in --check-config, and the broker
    // logged its start-up lines first.
    std::string path = temp_path("missing-plugin.toml");
    write_file(path, "[[listener]]\nport = " + std::to_string(free_port()) +
                         "\n\n[[plugin]]\npath = \"nowhere/auth.so\"\n");
    RunResult start = run({ROOST_BINARY, "-c", path});
    CHECK(start.exit_code == 2);
    CHECK_MESSAGE(contains_ci(start.err, "plugin 'auth' (" + path + ":4): "), start.err);
    CHECK_MESSAGE(contains_ci(start.err, "nowhere/auth.so does not exist"), start.err);
    CHECK_MESSAGE(!contains_ci(start.err, "listening"), start.err);
    write_file(path, "[[plugin]]\nname = \"no_such_plugin\"\n");
    RunResult named = run({ROOST_BINARY, "-c", path});
    CHECK(named.exit_code == 2);
    CHECK_MESSAGE(contains_ci(named.err, "no_such_plugin.so not found in"), named.err);
    RunResult check = run({ROOST_BINARY, "-c", path, "--check-config"});
    CHECK(check.exit_code == 2);
}

#ifdef ROOST_BENCH_BINARY
TEST_CASE("roost-bench: an unknown scenario is named in one sentence; --help shows FILE, not FILE:FILE") {
    // It printed "Check nope value in {conn->3,fan-in->1,...} OR {3,1,2,...} FAILED".
    RunResult bad = run({ROOST_BENCH_BINARY, "--scenario", "nope"});
    CHECK(bad.exit_code == 2);
    CHECK_MESSAGE(contains_ci(bad.err, "--scenario: must be pairs, fan-in, fan-out or conn, not 'nope'"),
                  bad.err);
    CHECK_MESSAGE(!contains_ci(bad.err, "->"), bad.err);
    RunResult help = run({ROOST_BENCH_BINARY, "--help"});
    CHECK(help.exit_code == 0);
    CHECK_MESSAGE(help.out.find("--cafile FILE ") != std::string::npos, help.out);
    CHECK_MESSAGE(help.out.find("FILE:FILE") == std::string::npos, help.out);
}
#endif

TEST_CASE("a TLS certificate file that is not there: one line naming the listener and the key, exit 2") {
    ROOST_ONLY();
    // OpenSSL's message for it was three "system library" errors, after the plugins had started.
    std::string path = temp_path("no-cert.toml");
    write_file(path, "[[listener]]\nport = " + std::to_string(free_port()) +
                         "\ntls_cert_file = \"certs/server.crt\"\ntls_key_file = \"certs/server.key\"\n");
    for (bool check : {false, true}) {
        CAPTURE(check);
        std::vector<std::string> argv{ROOST_BINARY, "-c", path};
        if (check) argv.push_back("--check-config");
        RunResult r = run(argv);
        CHECK(r.exit_code == 2);
        std::string dir = std::filesystem::path(path).parent_path().string();
        CHECK_MESSAGE(contains_ci(r.err, "(" + path + ":1): tls_cert_file '" + dir +
                                             "/certs/server.crt' does not exist"),
                      r.err);
        CHECK_MESSAGE(contains_ci(r.err, "tls_key_file '" + dir + "/certs/server.key' does not exist"),
                      r.err);
        CHECK_MESSAGE(!contains_ci(r.err, "system library"), r.err);
        CHECK_MESSAGE(!contains_ci(r.err, "listening"), r.err);
    }
}

TEST_CASE("a port another process holds: the error names the listener and how to find the other process") {
    ROOST_ONLY();
    Broker first;  // holds its port
    RunResult second = run({ROOST_BINARY, "-p", std::to_string(first.port())}, 10s);
    CHECK(second.exit_code == 1);
    CHECK_MESSAGE(contains_ci(second.err, "cannot listen: address already in use"), second.err);
    CHECK_MESSAGE(contains_ci(second.err, "ss -ltnp 'sport = :" + std::to_string(first.port()) + "'"),
                  second.err);
    // A broker that never started says so, not that it is "stopping ... disconnecting 0 clients".
    CHECK_MESSAGE(!contains_ci(second.err, "stopping"), second.err);
    CHECK_MESSAGE(contains_ci(second.err, "not starting (see above)"), second.err);
}

TEST_CASE("a clean stop: \"stopped\" is the broker's last line, after the plugins' own") {
    ROOST_ONLY();
    Broker b;
    CHECK(b.stop() == 0);
    std::string log = b.log();
    while (!log.empty() && log.back() == '\n')
        log.pop_back();
    const std::string last = log.substr(log.rfind('\n') + 1);
    CHECK_MESSAGE(contains_ci(last, "stopped ("), log);
}
