#!/usr/bin/env bash
# A vendor's view of the SDK: install the project into a scratch prefix, build the C example
# plugin with an independent CMake project (and again with plain cc + pkg-config, and the C++
# example), list it in a YAML file, and watch the already-built daemon hand it events from the
# real broker.   usage: external_plugin.sh <build dir> <source dir> <daemon> <golden dir>
set -euo pipefail
build="$1"; src="$2"; daemon="$3"; golden="$4"
: "${WEP_TEST_BOOTSTRAP:?WEP_TEST_BOOTSTRAP is not set: this test needs the real broker (tests/run-all.sh)}"
work="$(mktemp -d)"
pid=""
# Only ever signal the daemon we started: an empty pid must not become `kill 0` (our process group).
trap 'if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
prefix="$work/prefix"

echo "== install into $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
test -f "$prefix/include/wallet_event_plugin.h"
test -f "$prefix/lib/cmake/WalletEventPlugin/WalletEventPluginConfig.cmake" || \
  test -f "$prefix/lib/x86_64-linux-gnu/cmake/WalletEventPlugin/WalletEventPluginConfig.cmake"

echo "== build the C example with CMake against the installed SDK"
cp -r "$src/plugin_api/examples/c_plugin" "$work/c_plugin"
cmake -S "$work/c_plugin" -B "$work/c_build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/c_build" >/dev/null
plugin="$work/c_build/event_logger.so"
test -f "$plugin"

echo "== build it again with cc and pkg-config"
pcdir=$(dirname "$(find "$prefix" -name wallet-event-plugin.pc | head -1)")
cflags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags wallet-event-plugin)
cc -std=c99 -Wall -Wextra -pedantic -Werror -shared -fPIC $cflags \
  "$work/c_plugin/event_logger.c" -o "$work/event_logger_pc.so"

echo "== build the C++ example"
cp -r "$src/plugin_api/examples/cpp_plugin" "$work/cpp_plugin"
cmake -S "$work/cpp_plugin" -B "$work/cpp_build" -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/cpp_build" >/dev/null
test -f "$work/cpp_build/wallet_counter.so"
"$daemon" plugins inspect "$work/cpp_build/wallet_counter.so" | grep -q "thread-safe:   yes"

topic_prefix="sdk$RANDOM$RANDOM"
cat > "$work/wallet-eventd.yaml" <<YAML
bus:
  bootstrap_servers: "$WEP_TEST_BOOTSTRAP"
topics:
  prefix: $topic_prefix
consumer:
  group_prefix: $topic_prefix
admin:
  enabled: false
state_dir: $work/state
plugins:
  - name: vendor
    path: $plugin
    config:
      prefix: extseen
  - name: vendor_pc
    path: $work/event_logger_pc.so
    events: [KeyCreated, KeyRotated, KeyRevoked]
    config:
      prefix: pcseen
YAML
"$daemon" check-config --config "$work/wallet-eventd.yaml"
"$daemon" plugins inspect "$plugin"

echo "== run the daemon with the vendor plugin"
"$daemon" run --config "$work/wallet-eventd.yaml" > "$work/daemon.log" 2>&1 &
pid=$!
for f in "$golden"/wire/valid/*.json; do python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$f"; done \
  | "$daemon" publish --config "$work/wallet-eventd.yaml"
for _ in $(seq 1 120); do
  n=$(grep -c "\[vendor\] extseen" "$work/daemon.log" || true)
  m=$(grep -c "\[vendor_pc\] pcseen" "$work/daemon.log" || true)
  [ "$n" -ge 14 ] && [ "$m" -ge 3 ] && break
  sleep 0.5
done
kill -TERM "$pid"
wait "$pid" && rc=0 || rc=$?
cat "$work/daemon.log"
n=$(grep -c "\[vendor\] extseen" "$work/daemon.log" || true)
m=$(grep -c "\[vendor_pc\] pcseen" "$work/daemon.log" || true)
echo "vendor plugin saw $n events (want 14); pkg-config build saw $m key events (want 3); daemon exit $rc"
[ "$n" -eq 14 ] && [ "$m" -eq 3 ] && [ "$rc" -eq 0 ]
