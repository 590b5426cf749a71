// The sqlite plugin and a database it cannot use (issue 10, "What it must show" 3): a corrupt
// file, a file another broker holds, a read-only file, a missing directory each stop the start
// with an error naming the file and the fix; a full disk (a size-limited tmpfs when the test may
// mount one, and the plugin's own max_size bound in any case) refuses new QoS 1/2 messages with
// 0x97 while QoS 0 and the broker go on, and writing resumes when space returns.
#include <doctest/doctest.h>

#include <sys/mount.h>
#include <sys/stat.h>

#include <fstream>

#include "restart_harness.hpp"

using namespace roost_pt;

namespace {

Setup sqlite_setup(const std::string& db, std::vector<std::pair<std::string, std::string>> extra = {}) {
    Setup setup;
    PluginSpec p{ROOST_PLUGIN_SQLITE, {{"path", db}}};
    for (auto& o : extra)
        p.options.push_back(o);
    setup.plugins.push_back(std::move(p));
    return setup;
}

// The broker refuses to start; its log names the file and says `fix`.
void refuses_to_start(const Setup& setup, const std::string& db, std::vector<std::string> fix) {
    FailedStart f = start_expecting_failure(setup);
    CHECK_FALSE(f.result.timed_out);
    CHECK(f.result.exit_code != 0);
    fix.push_back(db);
    CHECK_MESSAGE(!lines_with(f.result.err, fix).empty(), f.result.err);
}

// A directory with a tmpfs of `size` on it, if this process may mount one (root); unmounted at
// the end.
class SmallFs {
  public:
    SmallFs(const std::string& name, const std::string& size) : _dir(make_dir(name)) {
        std::string options = "size=" + size + ",mode=0777";
        _mounted = ::mount("tmpfs", _dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
    }
    ~SmallFs() {
        if (_mounted) ::umount2(_dir.c_str(), MNT_DETACH);
    }
    bool mounted() const { return _mounted; }
    const std::string& dir() const { return _dir; }
    bool remount_read_only() {
        return ::mount("tmpfs", _dir.c_str(), "tmpfs", MS_REMOUNT | MS_RDONLY, nullptr) == 0;
    }

  private:
    std::string _dir;
    bool _mounted = false;
};

// Publishes 8 KB QoS 1 messages to an offline persistent session until the broker answers
// 0x97 (at most `limit`); the number accepted before that, or -1 if it never refused.
int fill_until_refused(Mqtt& p, int limit, uint8_t& reason) {
    for (int i = 0; i < limit; i++) {
        std::string payload(8192, char('a' + i % 26));
        if (!p.raw().send(pkt::publish("full/q", payload, 1, uint16_t(i + 1), false, 5))) return -1;
        auto ack = p.raw().read_until(pkt::PUBACK, 5s);
        if (!ack) return -1;
        reason = uint8_t(ack_reason(*ack));
        if (reason >= 0x80) return i;
    }
    return -1;
}

// The full-disk scenario on `db`: refused with 0x97, QoS 0 goes on, `make_room` gives space back,
// accepted again.
template <class MakeRoom>
void full_then_recovers(const std::string& db, std::vector<std::pair<std::string, std::string>> extra,
                        MakeRoom make_room) {
    RestartNode b(sqlite_setup(db, extra));
    {
        Mqtt s(b.port(), 5);
        REQUIRE(s.connect("full-sub", true, 600));
        REQUIRE(s.subscribe(1, "full/#", 1));
        s.disconnect();
    }
    Mqtt online(b.port(), 5);
    REQUIRE(online.connect("full-online", true));
    REQUIRE(online.subscribe(1, "zero/#", 0));
    Mqtt p(b.port(), 5);
    REQUIRE(p.connect("full-pub", true));
    uint8_t reason = 0;
    int accepted = fill_until_refused(p, 400, reason);
    REQUIRE_MESSAGE(accepted > 0, tail(b.log()));
    CHECK(reason == 0x97);
    CHECK(b.wait_line({"sqlite", db, "failed", "free some space"}));
    // QoS 0 and the broker go on.
    REQUIRE(p.publish("zero/x", "qos0 still flows", 0));
    auto got = online.receive(1, 3s);
    REQUIRE(got.size() == 1);
    CHECK(got[0].payload == "qos0 still flows");
    // Space comes back: a new QoS 1 message is stored and acknowledged again.
    make_room(b);
    bool recovered = false;
    for (int i = 0; i < 50 && !recovered; i++) {
        REQUIRE(p.raw().send(pkt::publish("full/q", "small", 1, uint16_t(1000 + i), false, 5)));
        auto ack = p.raw().read_until(pkt::PUBACK, 5s);
        REQUIRE(ack);
        recovered = ack_reason(*ack) < 0x80;
        if (!recovered) std::this_thread::sleep_for(100ms);
    }
    CHECK_MESSAGE(recovered, tail(b.log()));
    CHECK(b.wait_line({"sqlite", "writing again"}));
    p.disconnect();
    online.disconnect();
    CHECK_STOPS_CLEANLY(b);
}

}  // namespace

TEST_CASE("a corrupt file: the error names it and says to move it away") {
    std::string db = temp_path("corrupt.db");
    write_file(db, std::string(8192, 'x') + "this is not a SQLite database");
    refuses_to_start(sqlite_setup(db), db, {"corrupt", "move it away"});
    std::remove(db.c_str());
}

TEST_CASE("a file another broker holds: locked, naming the other one") {
    std::string db = temp_path("locked.db");
    std::remove(db.c_str());
    RestartNode first(sqlite_setup(db));
    refuses_to_start(sqlite_setup(db), db, {"locked", "another roost"});
    CHECK_STOPS_CLEANLY(first);
}

TEST_CASE("a read-only file: says to give write access") {
    if (::geteuid() != 0) {
        std::string db = temp_path("readonly.db");
        std::remove(db.c_str());
        { RestartNode once(sqlite_setup(db)); }
        REQUIRE(::chmod(db.c_str(), 0444) == 0);
        refuses_to_start(sqlite_setup(db), db, {"read-only", "write access"});
        ::chmod(db.c_str(), 0644);
        return;
    }
    // Root writes through file modes: a read-only file system it is.
    SmallFs fs("readonly-fs", "4m");
    if (!fs.mounted()) {
        MESSAGE("skipped: root, but cannot mount a tmpfs to make read-only");
        return;
    }
    std::string db = fs.dir() + "/roost.db";
    { RestartNode once(sqlite_setup(db)); }
    REQUIRE(fs.remount_read_only());
    refuses_to_start(sqlite_setup(db), db, {"read-only", "write access"});
}

TEST_CASE("a missing directory: says to create it, at start and in --check-config, with file:line") {
    std::string db = temp_path("no-such-dir") + "/deeper/roost.db";
    refuses_to_start(sqlite_setup(db), db, {"does not exist", "mkdir -p"});
    // --check-config said OK, and only the start found it: the option's check finds it now, and
    // names the option's place in the config file (exit status 2, a configuration error).
    FailedStart f = start_expecting_failure(sqlite_setup(db));
    CHECK(f.result.exit_code == 2);
    RunResult check = run({ROOST_BINARY, "-c", f.config.path, "--check-config"});
    CHECK(check.exit_code == 2);
    CHECK_MESSAGE(
        !lines_with(check.err, {f.config.path + ":", "option path", "does not exist", "mkdir -p"}).empty(),
        check.err);
}

TEST_CASE("the max_size bound: 0x97 for new QoS 1/2 messages, QoS 0 goes on, delivery frees room") {
    std::string db = temp_path("max-size.db");
    std::remove(db.c_str());
    full_then_recovers(db, {{"max_size", "256KB"}}, [](RestartNode& b) {
        // The offline session takes its messages: delivered rows go, their pages are reused.
        Mqtt s(b.port(), 5);
        REQUIRE(s.connect("full-sub", false, 600));
        auto got = s.receive(400, 2s);
        CHECK(got.size() > 0);
        s.disconnect();
    });
    std::remove(db.c_str());
}

TEST_CASE("a full disk (a small tmpfs): 0x97, QoS 0 goes on, recovery when space returns") {
    SmallFs fs("full-fs", "1m");
    if (!fs.mounted()) {
        MESSAGE(
            "skipped: cannot mount a size-limited tmpfs here (not root); the max_size test covers the path");
        return;
    }
    // Room is taken by a filler file, given back by deleting it.
    std::string filler = fs.dir() + "/filler";
    {
        std::ofstream f(filler, std::ios::binary);
        std::string block(64 * 1024, 'f');
        for (int i = 0; i < 8; i++)
            f << block;
    }
    full_then_recovers(fs.dir() + "/roost.db", {}, [&](RestartNode&) { std::remove(filler.c_str()); });
}
