#!/usr/bin/env bash
# Runs SecureBroker.ScramSha256WorksOrFailsClearlyWithThisLibrdkafka with librdkafka 2.10.0
# (tests/kafka/newer-librdkafka.sh) loaded in place of Debian's 2.0.2 through LD_LIBRARY_PATH,
# which the daemon processes the test starts inherit. Fails unless the test binary and the
# daemon both resolve librdkafka.so.1 to the newer library, the test reports that version and
# takes its "SCRAM expected to work" branch, and the test passes: it can never silently take
# the "old librdkafka" branch.
#
# Usage: tests/kafka/scram-with-newer-librdkafka.sh INTEGRATION_TESTS_BINARY DAEMON_BINARY
# (ctest: SecureBroker.ScramWithLibrdkafka2_10; needs WEP_TEST_BOOTSTRAP like every
# integration test, the TLS/SASL broker goes to its port + 500.)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "scram-with-newer-librdkafka.sh: FAIL: $*" >&2; exit 1; }

[ $# -eq 2 ] || die "usage: $0 INTEGRATION_TESTS_BINARY DAEMON_BINARY"
tests_bin="$1"
daemon_bin="$2"
test_name="SecureBroker.ScramSha256WorksOrFailsClearlyWithThisLibrdkafka"
expected_line="librdkafka 2.10.0: SCRAM against Kafka 4.x expected to work"

libdir="$("$here/newer-librdkafka.sh")" || die "librdkafka 2.10.0 is not available (see above)"
[ -f "$libdir/librdkafka.so.1" ] || die "newer-librdkafka.sh printed $libdir, no librdkafka.so.1 there"
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"

# Both binaries must pick the newer library (a DT_RPATH would win over LD_LIBRARY_PATH).
for bin in "$tests_bin" "$daemon_bin"; do
  deps="$(ldd "$bin" 2>&1)" || die "ldd $bin failed with LD_LIBRARY_PATH=$LD_LIBRARY_PATH: $deps"
  resolved="$(sed -n 's/^[[:space:]]*librdkafka\.so\.1 => \([^ ]*\).*/\1/p' <<<"$deps")"
  [ "$resolved" = "$libdir/librdkafka.so.1" ] \
    || die "$bin loads librdkafka.so.1 from '${resolved:-nowhere}', not from $libdir"
done
echo "librdkafka.so.1 for the test and the daemon: $libdir/librdkafka.so.1"

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
status=0
"$tests_bin" --gtest_filter="$test_name" --gtest_color=no 2>&1 | tee "$out" || status=$?
[ "$status" -eq 0 ] || die "$test_name exited $status with librdkafka 2.10.0 loaded"
grep -qF "$expected_line" "$out" \
  || die "the test did not print '$expected_line': the newer librdkafka was not the one loaded"
grep -q '^\[  PASSED  \] 1 test' "$out" || die "$test_name did not run and pass exactly once"
echo "OK: $test_name passed with librdkafka 2.10.0 (SCRAM-SHA-256 over SASL_PLAINTEXT and SASL_SSL)"
