#!/usr/bin/env bash
# Builds the example plugins the way users do and shows them working in the installed broker.
#
#   tests/sdk/build_examples.sh BUILD_DIR
#
# 1. installs Roost from BUILD_DIR into a temporary prefix (cmake --install --prefix);
# 2. builds each example in examples/plugins/ out of tree, twice: with CMake and
#    find_package(RoostPlugin) (CMAKE_PREFIX_PATH=prefix), and with the pkg-config build line
#    (PKG_CONFIG_PATH=prefix/lib/pkgconfig); checks each .so exports the plugin entry points;
#    compiles roost/plugin.hpp as installed with -std=c++17 -pedantic;
# 3. runs each plugin (the CMake build) in the installed broker, loaded with `path =` from a
#    generated roost.toml, on a free loopback port, and checks it with mosquitto_pub/sub:
#    size_limit drops a big message and passes a small one, topic_rewrite rewrites,
#    async_http_auth accepts good credentials and refuses bad ones, snapshot_store keeps a
#    stored session's queued QoS 1 message over a restart (SIGTERM, start again), and
#    message_copy copies in/... to out/... (the original first: host->publish is queued), drops
#    in/private/... with 0x87 for MQTT 5, and refuses a `to` under `from`, and tap (a
#    pass-through transport, on a listener of its own with two workers) carries a publish,
#    publishes its counters from a timer and closes a connection that says nothing.
# Exits non-zero on the first failure, saying what failed (and the broker's log).
set -euo pipefail

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
    echo "usage: $0 BUILD_DIR (a configured and built Roost build tree)" >&2
    exit 2
fi
build="$(cd "$1" && pwd)"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
jobs="${JOBS:-2}"

tmp="$(mktemp -d "${TMPDIR:-/tmp}/roost-sdk.XXXXXX")"
broker_pid=""
cleanup() {
    if [ -n "$broker_pid" ] && kill -0 "$broker_pid" 2>/dev/null; then kill -KILL "$broker_pid" 2>/dev/null || true; fi
    if [ -z "${KEEP_TMP:-}" ]; then rm -rf "$tmp"; else echo "kept $tmp"; fi
}
trap cleanup EXIT

step() { echo "---- $*"; }
fail() {
    echo "FAIL: $*" >&2
    if [ -n "${log:-}" ] && [ -f "$log" ]; then
        echo "---- broker log ($log):" >&2
        tail -n 40 "$log" >&2
    fi
    exit 1
}
need() { command -v "$1" >/dev/null 2>&1 || fail "$1 is not installed (${2:-})"; }
need cmake
need pkg-config
need nm "binutils"
need cc "a C compiler"
need c++ "a C++ compiler"
need mosquitto_pub "mosquitto-clients"
need mosquitto_sub "mosquitto-clients"

# ---- 1. install --------------------------------------------------------------------------------
prefix="$tmp/prefix"
step "installing $build into $prefix"
cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log" >&2
    fail "cmake --install $build failed"
}
roost="$prefix/bin/roost"
[ -x "$roost" ] || fail "no $roost after the install"
pcdir="$(dirname "$(find "$prefix" -name roost-plugin.pc -print -quit)")"
[ -f "$pcdir/roost-plugin.pc" ] || fail "roost-plugin.pc was not installed"
[ -n "$(find "$prefix" -name RoostPluginConfig.cmake -print -quit)" ] || fail "RoostPluginConfig.cmake was not installed"
export PKG_CONFIG_PATH="$pcdir"
plugindir="$(pkg-config --variable=plugindir roost-plugin)"
[ -n "$plugindir" ] || fail "roost-plugin.pc has no plugindir variable"
case "$(cd "$plugindir/.." 2>/dev/null && pwd || true)" in
"$prefix"/*) ;;
*) fail "plugindir '$plugindir' is not under the install prefix" ;;
esac

# ---- 2. build out of tree ----------------------------------------------------------------------
# folder:plugin:language
examples=(hello_c:size_limit:c hello_cpp:topic_rewrite:cpp async_http_auth:async_http_auth:c
    snapshot_store:snapshot_store:cpp message_copy:message_copy:c tap_transport:tap:c)

check_exports() {  # file
    local syms
    syms="$(nm -D --defined-only "$1")" || fail "nm -D $1"
    for sym in roost_plugin_version roost_plugin_init; do
        grep -qw "$sym" <<<"$syms" || fail "$1 does not export $sym"
    done
    echo "   $1: exports roost_plugin_version, roost_plugin_init"
}

for e in "${examples[@]}"; do
    IFS=: read -r folder name lang <<<"$e"
    src="$root/examples/plugins/$folder"

    step "$folder: CMake, find_package(RoostPlugin)"
    out="$tmp/cmake-$folder"
    # A copy, so no build file lands in the source tree and nothing from the Roost tree is seen.
    cp -r "$src" "$tmp/src-$folder"
    cmake -S "$tmp/src-$folder" -B "$out" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
        >"$tmp/$folder-cmake.log" 2>&1 || { cat "$tmp/$folder-cmake.log" >&2; fail "$folder: cmake configure"; }
    cmake --build "$out" -j"$jobs" >>"$tmp/$folder-cmake.log" 2>&1 ||
        { cat "$tmp/$folder-cmake.log" >&2; fail "$folder: cmake build"; }
    [ -f "$out/$name.so" ] || fail "$folder: no $name.so in $out"
    check_exports "$out/$name.so"

    step "$folder: pkg-config build line"
    pcout="$tmp/pc-$folder"
    mkdir -p "$pcout"
    if [ "$lang" = c ]; then
        # The line in the example's Makefile and README.
        cc -std=c99 -Wall -Wextra -Werror -pedantic -fPIC -shared -fvisibility=hidden -pthread \
            $(pkg-config --cflags roost-plugin) -O2 -o "$pcout/$name.so" "$src/$name.c" ||
            fail "$folder: the pkg-config build line failed"
    else
        c++ -std=c++17 -Wall -Wextra -Werror -pedantic -fPIC -shared -fvisibility=hidden \
            $(pkg-config --cflags roost-plugin) -O2 -o "$pcout/$name.so" "$src/$name.cpp" ||
            fail "$folder: the pkg-config build line failed"
    fi
    check_exports "$pcout/$name.so"
done

step "roost/plugin.hpp as installed: C++17 -pedantic, every wrapped hook"
c++ -std=c++17 -Wall -Wextra -Werror -pedantic -fPIC -shared -fvisibility=hidden \
    $(pkg-config --cflags roost-plugin) -o "$tmp/plugin_hpp_check.so" "$root/tests/sdk/plugin_hpp_check.cpp" ||
    fail "tests/sdk/plugin_hpp_check.cpp does not build against the installed plugin.hpp"
cc -std=c99 -Wall -Wextra -Werror -pedantic -c $(pkg-config --cflags roost-plugin) \
    -o "$tmp/plugin_h_check.o" "$root/tests/sdk/plugin_h_check.c" ||
    fail "tests/sdk/plugin_h_check.c does not build against the installed plugin.h"

# ---- 3. run them in the installed broker -------------------------------------------------------
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
need python3 "to pick a free port"

# start_broker NAME TOML [PORT]: runs the installed roost on a free port (--listen), or with
# the listeners of TOML when PORT (the one TOML listens on) is given; sets port, log, broker_pid.
start_broker() {
    local name="$1" toml="$2"
    local listen=()
    if [ -n "${3:-}" ]; then
        port="$3"
    else
        port="$(free_port)"
        listen=(--listen "127.0.0.1:$port")
    fi
    log="$tmp/$name-broker.log"
    "$roost" -c "$toml" --check-config >"$log" 2>&1 || fail "$name: roost --check-config refused $toml"
    "$roost" -c "$toml" "${listen[@]}" -v >"$log" 2>&1 &
    broker_pid=$!
    for _ in $(seq 1 100); do
        if ! kill -0 "$broker_pid" 2>/dev/null; then
            broker_pid=""
            fail "$name: roost exited at start (did it load the plugin?)"
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    fail "$name: roost does not listen on 127.0.0.1:$port after 10 s"
}

# stop_broker NAME: SIGTERM, and a clean exit (0) within 5 s: cleanup ran and joined its threads.
stop_broker() {
    local name="$1" status=0
    kill -TERM "$broker_pid"
    for _ in $(seq 1 50); do
        kill -0 "$broker_pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$broker_pid" 2>/dev/null; then fail "$name: roost still runs 5 s after SIGTERM"; fi
    wait "$broker_pid" || status=$?
    broker_pid=""
    [ "$status" -eq 0 ] || fail "$name: roost exited with $status after SIGTERM"
}

# subscribe NAME FILTER OUTFILE: one message (-C 1), printed with its topic; returns once subscribed.
subscribe() {
    mosquitto_sub -h 127.0.0.1 -p "$port" -i "sdk-sub-$1" -t "$2" -C 1 -W 10 -v >"$3" 2>&1 &
    sub_pid=$!
    # No way to ask mosquitto_sub whether SUBACK came: give it a moment on loopback.
    sleep 0.5
}

wait_sub() {  # NAME: the subscriber has had its one message (or timed out)
    local status=0
    wait "$sub_pid" || status=$?
    [ "$status" -eq 0 ] || fail "$1: mosquitto_sub got nothing within 10 s (exit $status): $(cat "$2")"
}

plugin_so() { echo "$tmp/cmake-$1/$2.so"; }

# expect_loaded NAME TEXT: the plugin's init logged TEXT, so the broker really loaded it.
expect_loaded() {
    for _ in $(seq 1 20); do
        grep -qF "$2" "$log" && return 0
        sleep 0.1
    done
    fail "$1: the broker started but did not load the plugin (no '$2' in its log)"
}

# -- size_limit
step "size_limit: a big publish is dropped, a small one passes"
cat >"$tmp/size_limit.toml" <<EOF
[[plugin]]
path = "$(plugin_so hello_c size_limit)"
[plugin.options]
max_bytes = 100000
"limited/" = 100
EOF
start_broker size_limit "$tmp/size_limit.toml"
expect_loaded size_limit "max_bytes 100000, 1 topic prefix limit(s)"
subscribe size_limit 'limited/#' "$tmp/size_limit.out"
big="$(head -c 200 /dev/zero | tr '\0' x)"
mosquitto_pub -h 127.0.0.1 -p "$port" -t limited/a -m "$big" || fail "size_limit: mosquitto_pub (big, 3.1.1)"
mqtt5_out="$(mosquitto_pub -h 127.0.0.1 -p "$port" -V 5 -q 1 -t limited/a -m "$big" 2>&1)" || true
mosquitto_pub -h 127.0.0.1 -p "$port" -t limited/a -m small || fail "size_limit: mosquitto_pub (small)"
wait_sub size_limit "$tmp/size_limit.out"
got="$(cat "$tmp/size_limit.out")"
[ "$got" = "limited/a small" ] || fail "size_limit: the subscriber's first message is '${got:0:60}', not 'limited/a small'"
grep -qi "quota exceeded" <<<"$mqtt5_out" ||
    fail "size_limit: an MQTT 5 QoS 1 publisher was not told Quota exceeded (mosquitto_pub said: '$mqtt5_out')"
grep -q "dropped 200-byte publish to 'limited/a'" "$log" || fail "size_limit: no log line for the dropped publish"
stop_broker size_limit
echo "   big dropped (MQTT 5: '$mqtt5_out'), small delivered"

# -- topic_rewrite
step "topic_rewrite: legacy/... arrives as v2/..."
cat >"$tmp/topic_rewrite.toml" <<EOF
[[plugin]]
path = "$(plugin_so hello_cpp topic_rewrite)"
[plugin.options]
"legacy/" = "v2/"
"legacy/old/" = "v2/archive/"
EOF
start_broker topic_rewrite "$tmp/topic_rewrite.toml"
expect_loaded topic_rewrite "rewrites 'legacy/...' to 'v2/...'"
subscribe topic_rewrite 'v2/#' "$tmp/topic_rewrite.out"
mosquitto_pub -h 127.0.0.1 -p "$port" -t legacy/kitchen/temp -m 21.5 || fail "topic_rewrite: mosquitto_pub"
wait_sub topic_rewrite "$tmp/topic_rewrite.out"
got="$(cat "$tmp/topic_rewrite.out")"
[ "$got" = "v2/kitchen/temp 21.5" ] || fail "topic_rewrite: got '$got', not 'v2/kitchen/temp 21.5'"
subscribe topic_rewrite2 'v2/archive/#' "$tmp/topic_rewrite2.out"
mosquitto_pub -h 127.0.0.1 -p "$port" -t legacy/old/x -m 1 || fail "topic_rewrite: mosquitto_pub"
wait_sub topic_rewrite "$tmp/topic_rewrite2.out"
got="$(cat "$tmp/topic_rewrite2.out")"
[ "$got" = "v2/archive/x 1" ] || fail "topic_rewrite: the longest prefix did not win: got '$got'"
stop_broker topic_rewrite
echo "   legacy/kitchen/temp -> v2/kitchen/temp, legacy/old/x -> v2/archive/x"

# -- async_http_auth
step "async_http_auth: good credentials accepted, bad refused, answered from the plugin's thread"
cat >"$tmp/async_http_auth.toml" <<EOF
[[plugin]]
path = "$(plugin_so async_http_auth async_http_auth)"
[plugin.options]
users = "alice:secret bob:hunter2"
delay_ms = 300
EOF
start_broker async_http_auth "$tmp/async_http_auth.toml"
expect_loaded async_http_auth "2 user(s), simulated check delay 300 ms"
t0=$(date +%s%N)
out="$(mosquitto_pub -h 127.0.0.1 -p "$port" -u alice -P secret -t t -m hi 2>&1)" ||
    fail "async_http_auth: alice with the right password was refused: $out"
elapsed_ms=$((($(date +%s%N) - t0) / 1000000))
[ "$elapsed_ms" -ge 300 ] || fail "async_http_auth: accepted after ${elapsed_ms} ms, before the 300 ms check could answer"
out="$(mosquitto_pub -h 127.0.0.1 -p "$port" -V 5 -u bob -P hunter2 -t t -m hi 2>&1)" ||
    fail "async_http_auth: bob (MQTT 5) was refused: $out"
status=0
out="$(mosquitto_pub -h 127.0.0.1 -p "$port" -u alice -P wrong -t t -m hi 2>&1)" || status=$?
[ "$status" -ne 0 ] || fail "async_http_auth: alice with a wrong password was accepted"
grep -qi "not authori[sz]ed" <<<"$out" || fail "async_http_auth: refused, but not with 'not authorised': $out"
status=0
out="$(mosquitto_pub -h 127.0.0.1 -p "$port" -u mallory -P x -t t -m hi 2>&1)" || status=$?
[ "$status" -ne 0 ] || fail "async_http_auth: an unknown user was accepted"
grep -q "'alice': accepted" "$log" || fail "async_http_auth: no log line from the checking thread"
stop_broker async_http_auth
echo "   alice/secret accepted after ${elapsed_ms} ms, alice/wrong refused ('$out')"

# -- snapshot_store
step "snapshot_store: a stored session's queued QoS 1 message survives SIGTERM and a restart"
cat >"$tmp/snapshot_store.toml" <<EOF
[[plugin]]
path = "$(plugin_so snapshot_store snapshot_store)"
[plugin.options]
file = "$tmp/snapshot.bin"
EOF
start_broker snapshot_store "$tmp/snapshot_store.toml"
expect_loaded snapshot_store "keeps its snapshot in $tmp/snapshot.bin"
mosquitto_sub -h 127.0.0.1 -p "$port" -V 5 -c -i sdk-dev1 -x 3600 -q 1 -t 'cmd/#' -E ||
    fail "snapshot_store: mosquitto_sub (the stored session)"
mosquitto_pub -h 127.0.0.1 -p "$port" -q 1 -t cmd/dev1 -m reboot || fail "snapshot_store: mosquitto_pub"
stop_broker snapshot_store
grep -q "saved 1 sessions, 1 subscriptions, 1 deliveries" "$log" || fail "snapshot_store: no 'saved' line at the stop"
start_broker snapshot_store "$tmp/snapshot_store.toml"
expect_loaded snapshot_store "restored 1 sessions, 1 subscriptions, 1 queued or in-flight messages"
got="$(mosquitto_sub -h 127.0.0.1 -p "$port" -V 5 -c -i sdk-dev1 -x 3600 -q 1 -t 'cmd/#' -C 1 -W 10 -v 2>&1)" ||
    fail "snapshot_store: the restarted broker did not deliver the queued message: $got"
[ "$got" = "cmd/dev1 reboot" ] || fail "snapshot_store: got '$got', not 'cmd/dev1 reboot'"
stop_broker snapshot_store
echo "   cmd/dev1 reboot queued, kept over a restart and delivered"

# -- message_copy
step "message_copy: in/... copied to out/... after the original, in/private/... dropped"
cat >"$tmp/message_copy.toml" <<EOF
[[plugin]]
path = "$(plugin_so message_copy message_copy)"
[plugin.options]
from = "in/"
to = "out/"
drop = "in/private/"
EOF
start_broker message_copy "$tmp/message_copy.toml"
expect_loaded message_copy "copies 'in/...' to 'out/...', drops in/private/"
mosquitto_sub -h 127.0.0.1 -p "$port" -i sdk-sub-copy -t '#' -C 2 -W 10 -v >"$tmp/message_copy.out" 2>&1 &
sub_pid=$!
sleep 0.5
mqtt5_out="$(mosquitto_pub -h 127.0.0.1 -p "$port" -V 5 -q 1 -t in/private/x -m secret 2>&1)" || true
mosquitto_pub -h 127.0.0.1 -p "$port" -t in/kitchen/temp -m 21.5 || fail "message_copy: mosquitto_pub"
wait_sub message_copy "$tmp/message_copy.out"
got="$(tr '\n' '|' <"$tmp/message_copy.out")"
[ "$got" = "in/kitchen/temp 21.5|out/kitchen/temp 21.5|" ] ||
    fail "message_copy: the subscriber got '$got', not the original then its copy (and nothing private)"
grep -qi "not authori[sz]ed" <<<"$mqtt5_out" ||
    fail "message_copy: an MQTT 5 QoS 1 publisher to in/private/ was not told Not authorized: '$mqtt5_out'"
stop_broker message_copy
# A copy goes through the message hooks again: a `to` under `from` would loop, so init refuses it.
cat >"$tmp/message_copy_loop.toml" <<EOF
[[plugin]]
path = "$(plugin_so message_copy message_copy)"
[plugin.options]
from = "a/"
to = "a/copy/"
EOF
status=0
timeout 10 "$roost" -c "$tmp/message_copy_loop.toml" --listen "127.0.0.1:$(free_port)" >"$tmp/message_copy_loop.log" 2>&1 ||
    status=$?
[ "$status" -eq 2 ] || fail "message_copy: a to under from: roost exited with $status, not 2 (refused options)"
grep -q "copies would be copied forever" "$tmp/message_copy_loop.log" ||
    fail "message_copy: no log line saying why a to under from is refused"
echo "   in/kitchen/temp then out/kitchen/temp, in/private/x refused ('$mqtt5_out'), loop refused"

# -- tap
step "tap: a transport plugin carries MQTT, publishes its counters from a timer, closes silent connections"
tap_port="$(free_port)"
cat >"$tmp/tap.toml" <<EOF
[broker]
workers = 2

[[listener]]
bind = "127.0.0.1"
port = $tap_port
transport = "tap"

[[plugin]]
path = "$(plugin_so tap_transport tap)"
[plugin.options]
silent_ms = 500
stats_ms = 200
EOF
start_broker tap "$tmp/tap.toml" "$tap_port"
expect_loaded tap "transport 'tap': closes connections silent for 500 ms"
grep -q "transport 'tap' over TCP" "$log" || fail "tap: the listener does not use the transport"
subscribe tap tap/echo "$tmp/tap.out"
mosquitto_pub -h 127.0.0.1 -p "$port" -V 5 -q 1 -t tap/echo -m through-tap || fail "tap: mosquitto_pub"
wait_sub tap "$tmp/tap.out"
got="$(cat "$tmp/tap.out")"
[ "$got" = "tap/echo through-tap" ] || fail "tap: got '$got', not 'tap/echo through-tap'"
got="$(mosquitto_sub -h 127.0.0.1 -p "$port" -t 'tap/stats/#' -C 1 -W 5 -v 2>&1)" || fail "tap: no counters published: $got"
grep -Eq '^tap/stats/[01] connections=[0-9]+ open=[0-9]+ bytes_in=[0-9]+ bytes_out=[0-9]+$' <<<"$got" ||
    fail "tap: the counters read '$got'"
grep -q "connected [0-9]* ms after its socket was accepted" "$log" ||
    fail "tap: on_connect did not read the transport's attribute tap.accepted_ms"
silent="$(python3 -c "
import socket, time
s = socket.create_connection(('127.0.0.1', $port)); s.settimeout(5); t = time.time()
closed, waited = s.recv(1) == b'', time.time() - t
print('closed' if closed and 0.4 <= waited < 3 else 'not closed in time:', round(waited, 1))" 2>&1)" || true
[[ "$silent" == closed* ]] || fail "tap: a connection that sent nothing was not closed after about 500 ms: $silent"
grep -q "closed a connection that sent nothing for 500 ms" "$log" || fail "tap: no log line for the silent connection"
stop_broker tap
echo "   tap/echo carried, counters '$got', a silent connection $silent s"

echo "OK: 6 examples built out of tree (find_package and pkg-config) and working in the installed broker"
