#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs the build dependencies,
# builds (warnings are errors), fetches and starts a real Kafka broker, runs every test
# (unit, plugin, schema, integration), stops the broker. With --sanitize it runs the suite a
# second time on an ASan+UBSan build. Exit code 0 only if everything passed.
#
#   tests/run-all.sh [--sanitize] [--build-dir DIR] [-- ctest args...]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
sanitize=0
build="$root/build-test"
ctest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --sanitize) sanitize=1 ;;
    --build-dir) build="$2"; shift ;;
    --) shift; ctest_args=("$@"); break ;;
    *) echo "usage: $0 [--sanitize] [--build-dir DIR] [-- ctest args]" >&2; exit 64 ;;
  esac
  shift
done

step() { printf '\n==== %s (%s)\n' "$*" "$(date +%T)"; }

step "dependencies"
bash "$root/packaging/build-deps.sh"

port="${WEP_KAFKA_PORT:-19092}"
export WEP_KAFKA_PORT="$port"
broker_dir="${WEP_KAFKA_DIR:-/tmp/wallet-eventd-kafka-$port}"
stop_broker() { "$root/tests/kafka/broker.sh" stop --port "$port" --dir "$broker_dir" --clean >/dev/null 2>&1 || true; }
trap stop_broker EXIT

step "format (clang-format, .clang-format at the root)"
mapfile -t sources < <(cd "$root" && git ls-files '*.c' '*.cc' '*.h' '*.hpp' | grep -v '^tests/abi/')
(cd "$root" && clang-format --dry-run -Werror "${sources[@]}")

step "kafka broker (fetch + start, in the background of the build)"
"$root/tests/kafka/broker.sh" stop --port "$port" --dir "$broker_dir" --clean >/dev/null 2>&1 || true
( "$root/tests/kafka/broker.sh" start --port "$port" --dir "$broker_dir" > "$build.broker.log" 2>&1 ) &
broker_pid=$!

# ccache across clones: paths under the checkout are hashed relative to it, so a fresh clone in
# another directory reuses the objects of an earlier run.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1

configure_and_build() {
  local dir="$1"; shift
  cmake -S "$root" -B "$dir" -G Ninja -DWEP_WERROR=ON -DCMAKE_C_COMPILER_LAUNCHER=ccache \
    -DCMAKE_CXX_COMPILER_LAUNCHER=ccache "$@" >/dev/null
  cmake --build "$dir" -j2
}

step "build ($build)"
# Prefix /usr: the packaging test builds the .deb/.rpm from this tree (the daemon compiles in
# its plugin directory, and only /usr gets Debian's multiarch library directory).
configure_and_build "$build" -DCMAKE_INSTALL_PREFIX=/usr

step "waiting for the broker"
if ! wait "$broker_pid"; then
  cat "$build.broker.log" >&2
  echo "FATAL: the Kafka broker did not start; integration tests cannot run (see above)" >&2
  exit 1
fi
cat "$build.broker.log"
export WEP_TEST_BOOTSTRAP="127.0.0.1:$port"

run_ctest() {  # run_ctest DIR [extra ctest args]
  local dir="$1"; shift
  (cd "$dir" && ctest -j2 --output-on-failure --timeout 600 "$@" "${ctest_args[@]}")
}

step "tests"
run_ctest "$build"

# ---- fuzz (bounded): the libFuzzer targets (clang, ASan + UBSan), WEP_FUZZ_SECONDS each ----
step "fuzz (bounded): decoder and config loader, ${WEP_FUZZ_SECONDS:-60} s each (docs/fuzzing.md)"
WEP_FUZZ_BUILD_DIR="$build-fuzz" bash "$root/tests/fuzz/run.sh" "${WEP_FUZZ_SECONDS:-60}"
# ---- end fuzz (bounded) ----

if [ "$sanitize" = 1 ]; then
  step "sanitizer build (ASan + UBSan)"
  configure_and_build "$build-asan" -DWEP_SANITIZE=ON -DWEP_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=Debug
  step "tests under ASan + UBSan"
  # The bad-input soak (13k records, RSS ceiling) runs in the main build above; under ASan the
  # corpus goes through the decoder in BadInputCorpus.* and the fuzzer. One ASan run on a just
  # started broker saw 143 of 144 dead letters within 120 s (see the closing note of 2026-12-04);
  # the test now names a missing record when it happens.
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    run_ctest "$build-asan" -E '^BadInput\.EveryBadRecord'
fi
step "all tests passed"
