#!/usr/bin/env bash
# A wallet service's view of the client library: install the project into a scratch prefix,
# build an independent CMake project (and again with c++ and pkg-config) against the installed
# libwallet-events, publish an event to the real broker and read it back. Then build the
# examples/ folder the same way and run its publish and subscribe examples.
#   usage: external_consumer.sh <build dir> <source dir> <daemon>
set -euo pipefail
build="$1"; src="$2"; daemon="$3"
: "${WEP_TEST_BOOTSTRAP:?WEP_TEST_BOOTSTRAP is not set: this test needs the real broker (tests/run-all.sh)}"
work="$(mktemp -d)"
sub_pid=""
# Only ever signal the process we started: an empty pid must not become `kill 0`.
trap 'if [ -n "$sub_pid" ]; then kill -9 "$sub_pid" 2>/dev/null || true; fi; rm -rf "$work"' EXIT
prefix="$work/prefix"
topic_prefix="client$RANDOM$RANDOM"

echo "== install into $prefix"
cmake --install "$build" --prefix "$prefix" >/dev/null
for h in client.h events.h result.h log.h; do test -f "$prefix/include/wallet_eventd/$h"; done
lib=$(find "$prefix" -name 'libwallet-events.so' | head -1)
test -n "$lib"
libdir=$(dirname "$lib")
pcdir=$(dirname "$(find "$prefix" -name wallet-events.pc | head -1)")
test -f "$pcdir/wallet-events.pc"

echo "== build a wallet service with CMake against the installed library"
cp -r "$src/tests/client/consumer" "$work/consumer"
# WEP_EXTERNAL_CXXFLAGS: set by the sanitizer build, whose installed library needs them.
extra="${WEP_EXTERNAL_CXXFLAGS:-}"
cmake -S "$work/consumer" -B "$work/cmake_build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" >/dev/null
cmake --build "$work/cmake_build" >/dev/null
# It must use the installed library, not the build tree's.
deps=$(ldd "$work/cmake_build/roundtrip")
grep -qF "libwallet-events.so.1 => $libdir/libwallet-events.so.1" <<<"$deps" || {
  echo "$deps"; echo "roundtrip does not load $libdir/libwallet-events.so.1"; exit 1; }

echo "== build it again with c++ and pkg-config"
cflags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags wallet-events)
libs=$(PKG_CONFIG_PATH="$pcdir" pkg-config --libs wallet-events)
c++ -Wall -Wextra -Werror $extra $cflags "$work/consumer/roundtrip.cc" -o "$work/roundtrip_pc" $libs \
  -Wl,-rpath,"$libdir"

echo "== publish and read back through the real broker ($WEP_TEST_BOOTSTRAP, prefix $topic_prefix)"
"$work/cmake_build/roundtrip" "$WEP_TEST_BOOTSTRAP" "$topic_prefix" cmake
"$work/roundtrip_pc" "$WEP_TEST_BOOTSTRAP" "$topic_prefix" pkgconfig

echo "== build examples/ against the installed package"
cmake -S "$src/examples" -B "$work/examples" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" >/dev/null
cmake --build "$work/examples" >/dev/null
"$daemon" plugins inspect "$work/examples/issued_stored_logger.so" > "$work/inspect.txt"
grep -q "subscriptions: CredentialIssued,CredentialStored" "$work/inspect.txt" || {
  cat "$work/inspect.txt"; exit 1; }

echo "== run the publish and subscribe examples with a daemon YAML"
cat > "$work/wallet-eventd.yaml" <<YAML
bus:
  bootstrap_servers: "$WEP_TEST_BOOTSTRAP"
topics:
  prefix: $topic_prefix
consumer:
  group_prefix: $topic_prefix.examples
state_dir: $work/state
YAML
"$work/examples/publish_event" "$work/wallet-eventd.yaml" | tee "$work/publish.txt"
grep -q "published CredentialOfferReceived .* to $topic_prefix.credential.offers" "$work/publish.txt"
"$work/examples/subscribe_events" "$work/wallet-eventd.yaml" > "$work/subscribe.txt" 2>&1 &
sub_pid=$!
# The two CredentialStored events of the round trips are there; the offer is not subscribed.
for _ in $(seq 1 120); do
  [ "$(grep -c '^Received event: CredentialStored (wallet wallet-ext' "$work/subscribe.txt" || true)" -ge 2 ] && break
  sleep 0.5
done
kill -INT "$sub_pid"
wait "$sub_pid" && rc=0 || rc=$?
sub_pid=""
cat "$work/subscribe.txt"
n=$(grep -c '^Received event: CredentialStored' "$work/subscribe.txt" || true)
other=$(grep -c '^Received event: CredentialOffer' "$work/subscribe.txt" || true)
echo "subscribe example: $n CredentialStored (want 2), $other offers (want 0), exit $rc (want 0)"
[ "$n" -eq 2 ] && [ "$other" -eq 0 ] && [ "$rc" -eq 0 ]
echo "external consumer: OK"
