#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs each one for a
# bounded time. Exit 0 when no target found anything; otherwise 1, naming the input that made
# a target fail (crash, sanitizer report, leak, timeout or out-of-memory).
#
#   tests/fuzz/run.sh [SECONDS] [TARGET...]    # default: 60 s each, targets decode and config
#
# Environment: WEP_FUZZ_BUILD_DIR (default <repo>/build-fuzz), WEP_FUZZ_JOBS (parallel fuzzing
# processes per target, default 1), WEP_FUZZ_ARGS (extra libFuzzer flags).
# New inputs that reach new code are kept in $build/fuzz-corpus/<target>/ (not committed), so a
# second run continues where the first stopped. See docs/fuzzing.md.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(decode config)
case "$seconds" in '' | *[!0-9]*) echo "usage: $0 [SECONDS] [decode|config ...]" >&2; exit 64 ;; esac
build="${WEP_FUZZ_BUILD_DIR:-$root/build-fuzz}"
jobs="${WEP_FUZZ_JOBS:-1}"

launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -G Ninja -DWEP_FUZZ=ON -DWEP_WERROR=ON \
  -DWEP_BUILD_BENCH=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo "${launcher[@]}" >/dev/null
cmake --build "$build" -j2 --target "${targets[@]/%/_fuzz}"

seeds() {  # the seed directories of a target (must match tests/fuzz/CMakeLists.txt)
  case "$1" in
    decode) echo "$here/corpus/decode $root/tests/golden/wire/valid $root/tests/bad-input/records" ;;
    config) echo "$here/corpus/config $root/tests/bad-config $root/config" ;;
    *) echo "unknown fuzz target: $1" >&2; exit 64 ;;
  esac
}

# -jobs makes libFuzzer write one fuzz-<n>.log per process into the current directory.
parallel=()
[ "$jobs" -le 1 ] || parallel=(-jobs="$jobs" -workers="$jobs")
failed=0
for t in "${targets[@]}"; do
  work="$build/fuzz-corpus/$t"
  artifacts="$build/fuzz-artifacts/$t"
  mkdir -p "$work" "$artifacts"
  log="$build/fuzz-$t.log"
  printf '\n==== fuzz %s for %s s (log: %s)\n' "$t" "$seconds" "$log"
  # shellcheck disable=SC2046
  set +e
  ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
  UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}" \
  "$build/fuzz/${t}_fuzz" -max_total_time="$seconds" -max_len=8192 -timeout=10 \
    -rss_limit_mb=2048 -dict="$here/$t.dict" -artifact_prefix="$artifacts/" \
    -print_final_stats=1 "${parallel[@]}" ${WEP_FUZZ_ARGS:-} \
    "$work" $(seeds "$t") >"$log" 2>&1
  rc=$?
  set -e
  grep -E '^(stat::number_of_executed_units|stat::new_units_added|stat::peak_rss_mb)|^Done|INITED|cov: ' \
    "$log" | tail -n 6 || true
  if [ "$rc" -ne 0 ]; then
    failed=1
    crash="$(grep -oE "(Test unit|artifact_prefix).*written to [^ ]+" "$log" | awk '{print $NF}' | tail -n 1)"
    [ -n "$crash" ] || crash="$(ls -t "$artifacts" 2>/dev/null | head -n 1 | sed "s|^|$artifacts/|")"
    grep -E 'ERROR: |SUMMARY: |runtime error|decode_fuzz:|config_fuzz:' "$log" | head -n 5 >&2 || true
    echo "FUZZ FAILURE: $t exited $rc; input: ${crash:-<none written>}" >&2
    echo "  reproduce: $build/fuzz/${t}_fuzz ${crash:-<input>}" >&2
  else
    echo "fuzz $t: no failure in $seconds s"
  fi
done
exit "$failed"
