#!/usr/bin/env bash
# librdkafka 2.10.0 (the C library, librdkafka.so.1) built from source into a cache outside the
# clone, for tests that load it with LD_LIBRARY_PATH in place of Debian 12's librdkafka 2.0.2.
# wallet-eventd itself is built, linked and packaged against Debian's librdkafka; this library
# is only for the test that proves SASL/SCRAM works through the same configuration with a
# librdkafka >= 2.6.1 (docs/security.md, "SCRAM and librdkafka older than 2.6.1").
#
# The source is the librdkafka tree bundled in the crates.io crate rdkafka-sys 4.9.0+2.10.0
# (crates.io is reachable where GitHub downloads are not), checked against a pinned sha256.
# Built with mklove's ./configure without downloads: OpenSSL (libssl-dev) for SSL and
# SASL/SCRAM, built-in LZ4 and Snappy, no zlib/zstd/GSSAPI/curl. Needs cc, make, flock,
# curl, libssl-dev (all in packaging/build-deps.sh). A cold build takes about 35 s on 2 cores.
#
# Usage: tests/kafka/newer-librdkafka.sh
#   Builds once (skipped when the cached library is there and loads as 2.10.0 with ssl and
#   sasl_scram), then prints the directory holding librdkafka.so.1 on stdout (progress on
#   stderr). Exit non-zero with a message if it cannot fetch or build.
# Environment: WEP_LIBRDKAFKA_CACHE (default ${XDG_CACHE_HOME:-$HOME/.cache}/wallet-eventd/
#   librdkafka-2.10.0), WEP_LIBRDKAFKA_BUILD_TIMEOUT (seconds for the compile, default 900),
#   WEP_LIBRDKAFKA_JOBS (default 2).
set -euo pipefail

VERSION="2.10.0"
VERSION_HEX="0x020a00ff"
CRATE_VERSION="4.9.0+2.10.0"
CRATE_URL="https://static.crates.io/crates/rdkafka-sys/rdkafka-sys-$CRATE_VERSION.crate"
# sha256 of the .crate, equal to the "cksum" of 4.9.0+2.10.0 in the crates.io index
# (https://index.crates.io/rd/ka/rdkafka-sys).
CRATE_SHA256="5230dca48bc354d718269f3e4353280e188b610f7af7e2fcf54b7a79d5802872"
CONFIGURE_OPTS=(--no-download --no-cache --enable-ssl --disable-gssapi --disable-curl
  --disable-zlib --disable-zstd --disable-lz4-ext)
RECIPE=1  # bump when the build steps below change, so cached builds are redone

CACHE="${WEP_LIBRDKAFKA_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/wallet-eventd/librdkafka-$VERSION}"
BUILD_TIMEOUT="${WEP_LIBRDKAFKA_BUILD_TIMEOUT:-900}"
JOBS="${WEP_LIBRDKAFKA_JOBS:-2}"
LIBDIR="$CACHE/lib"
PROBE="$CACHE/bin/rdkafka-probe"
STAMP_FILE="$CACHE/.built"
LOG="$CACHE/build.log"

log() { echo "newer-librdkafka.sh: $*" >&2; }
die() { echo "newer-librdkafka.sh: FATAL: $*" >&2; exit 1; }

stamp() { echo "librdkafka $VERSION crate $CRATE_SHA256 recipe $RECIPE ${CONFIGURE_OPTS[*]}"; }

# The probe loads librdkafka.so.1 through LD_LIBRARY_PATH, as the tests do, and prints
# "<rd_kafka_version() hex> <rd_kafka_version_str()> <builtin.features>".
probe_ok() {
  local out
  [ -f "$STAMP_FILE" ] && [ "$(cat "$STAMP_FILE")" = "$(stamp)" ] || return 1
  [ -f "$LIBDIR/librdkafka.so.1" ] && [ -x "$PROBE" ] || return 1
  out="$(LD_LIBRARY_PATH="$LIBDIR" "$PROBE" 2>/dev/null)" || return 1
  case " $out " in *" $VERSION_HEX $VERSION "*) ;; *) return 1 ;; esac
  case ",${out##* }," in *,ssl,*) ;; *) return 1 ;; esac
  case ",${out##* }," in *,sasl_scram,*) ;; *) return 1 ;; esac
}

if probe_ok; then
  echo "$LIBDIR"
  exit 0
fi

for tool in curl sha256sum tar cc make timeout flock; do
  command -v "$tool" >/dev/null 2>&1 \
    || die "$tool not found (Debian 12: packaging/build-deps.sh installs what is needed)"
done

mkdir -p "$CACHE"
# One build per cache dir at a time; a second caller waits, then finds the result.
exec 9>"$CACHE/.lock"
flock 9
if probe_ok; then
  echo "$LIBDIR"
  exit 0
fi

start=$SECONDS
work="$CACHE/build.tmp"
rm -rf "$work" "$LIBDIR" "${CACHE:?}/lib.tmp" "${CACHE:?}/bin" "$STAMP_FILE"
mkdir -p "$work"
: >"$LOG"

fail() {  # fail MESSAGE: the end of the build log, then the message
  if [ -s "$LOG" ]; then
    echo "---- last 40 lines of $LOG" >&2
    tail -n 40 "$LOG" >&2
    echo "----" >&2
  fi
  die "$1 (librdkafka $VERSION from rdkafka-sys $CRATE_VERSION; full log in $LOG)"
}

log "fetching $CRATE_URL"
crate="$work/rdkafka-sys.crate"
curl -fsSL --retry 3 --connect-timeout 20 --max-time 300 -o "$crate" "$CRATE_URL" 2>>"$LOG" \
  || fail "could not download $CRATE_URL"
got="$(sha256sum "$crate" | cut -d' ' -f1)"
[ "$got" = "$CRATE_SHA256" ] \
  || fail "sha256 of $CRATE_URL is $got, expected $CRATE_SHA256 (refusing to build it)"
tar -xzf "$crate" -C "$work" "rdkafka-sys-$CRATE_VERSION/librdkafka" 2>>"$LOG" \
  || fail "could not unpack librdkafka/ from the crate"
src="$work/rdkafka-sys-$CRATE_VERSION/librdkafka"
grep -q "^#define RD_KAFKA_VERSION  *$VERSION_HEX" "$src/src/rdkafka.h" \
  || fail "the crate's librdkafka is not $VERSION ($src/src/rdkafka.h)"

log "building librdkafka $VERSION (C library only, -j$JOBS; about a minute, once per machine) in $work"
(cd "$src" && timeout -k 10 300 ./configure --prefix="$CACHE" "${CONFIGURE_OPTS[@]}") >>"$LOG" 2>&1 \
  || fail "./configure failed (is libssl-dev installed?)"
if ! grep -Eq '^WITH_SSL=[[:space:]]*y$' "$src/Makefile.config" \
    || ! grep -Eq '^WITH_SASL_SCRAM=[[:space:]]*y$' "$src/Makefile.config"; then
  fail "./configure did not enable SSL and SASL/SCRAM (is libssl-dev installed?)"
fi
timeout -k 10 "$BUILD_TIMEOUT" make -C "$src/src" -j"$JOBS" librdkafka.so.1 >>"$LOG" 2>&1 \
  || fail "make failed or took longer than ${BUILD_TIMEOUT}s (WEP_LIBRDKAFKA_BUILD_TIMEOUT)"

cat >"$work/probe.c" <<'EOF'
#include <stdio.h>
#include <librdkafka/rdkafka.h>
int main(void) {
  char features[512];
  size_t size = sizeof features;
  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  if (rd_kafka_conf_get(conf, "builtin.features", features, &size) != RD_KAFKA_CONF_OK) return 1;
  rd_kafka_conf_destroy(conf);
  printf("0x%08x %s %s\n", (unsigned)rd_kafka_version(), rd_kafka_version_str(), features);
  return 0;
}
EOF
mkdir -p "$work/include/librdkafka"
cp "$src/src/rdkafka.h" "$work/include/librdkafka/"
cc -O1 -I"$work/include" -o "$work/rdkafka-probe" "$work/probe.c" "$src/src/librdkafka.so.1" \
  >>"$LOG" 2>&1 || fail "the probe program does not link against the new librdkafka.so.1"

mkdir -p "$CACHE/lib.tmp" "$CACHE/bin"
cp "$src/src/librdkafka.so.1" "$CACHE/lib.tmp/"
mv "$CACHE/lib.tmp" "$LIBDIR"
mv "$work/rdkafka-probe" "$PROBE"
stamp >"$STAMP_FILE"
probe_ok || fail "the built library does not load as $VERSION with ssl and sasl_scram: \
$(LD_LIBRARY_PATH="$LIBDIR" "$PROBE" 2>&1 || true)"
rm -rf "$work"
log "built librdkafka $VERSION in $((SECONDS - start))s: $LIBDIR/librdkafka.so.1" \
  "($(LD_LIBRARY_PATH="$LIBDIR" "$PROBE"))"
echo "$LIBDIR"
