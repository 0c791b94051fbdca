#!/usr/bin/env bash
# The packages, end to end, on this machine (root, Debian): builds the deb and rpm packages
# with cpack, runs lintian on the debs, checks the rpms' files, metadata and scriptlets,
# installs the debs with apt-get, checks the installed config, runs the installed daemon as
# the service user against the real broker with the installed plugins and a vendor plugin
# built against the installed -dev package, verifies the systemd unit, then removes and
# purges and checks what went and what stayed. Leaves nothing installed, even on failure.
#
#   packages.sh <build dir> <source dir>        (WEP_TEST_BOOTSTRAP=host:port of the broker)
set -euo pipefail
build="$(cd "$1" && pwd)"
src="$(cd "$2" && pwd)"
: "${WEP_TEST_BOOTSTRAP:?WEP_TEST_BOOTSTRAP is not set: this test needs the real broker (tests/run-all.sh)}"

t0=$(date +%s)
step() { printf '\n== [%3ss] %s\n' "$(($(date +%s) - t0))" "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
checks=0
ok() { checks=$((checks + 1)); }
# expect_in <haystack> <needle> <what>: a fixed string must occur.
expect_in() { grep -qF -- "$2" <<<"$1" || fail "$3: '$2' not found in:
$1"; ok; }
expect_not_in() { if grep -qF -- "$2" <<<"$1"; then fail "$3: '$2' must not be in:
$1"; fi; ok; }
expect_file() { [ -e "$1" ] || fail "$2: $1 is missing"; ok; }
expect_gone() { if [ -e "$1" ] || [ -L "$1" ]; then fail "$2: $1 is still there"; fi; ok; }

[ "$(id -u)" -eq 0 ] || fail "needs root: it installs and purges the packages with apt-get"
for tool in cpack cmake lintian rpm dpkg-deb apt-get systemd-analyze runuser setpriv python3 cc \
  pkg-config getent man; do
  command -v "$tool" >/dev/null || fail "$tool is not installed (packaging/build-deps.sh installs it)"
done
if dpkg-query -W -f='${Status}' wallet-eventd 2>/dev/null | grep -q "installed\|config-files"; then
  fail "the package wallet-eventd is already on this machine; this test installs and purges it \
and will not touch an existing installation (dpkg --purge wallet-eventd-dev wallet-eventd first)"
fi

work="$(mktemp -d /tmp/wep-packaging.XXXXXX)"
# The service user must reach the test's config, plugin and state below $work.
chmod 0755 "$work"
pid=""
user_existed=0
getent passwd wallet-eventd >/dev/null && user_existed=1
cleanup() {
  local rc=$?
  # Only ever signal the daemon this script started.
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  local left=()
  for p in wallet-eventd-dev wallet-eventd; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "installed\|config-files" && left+=("$p")
  done
  if [ ${#left[@]} -gt 0 ]; then
    echo "cleanup: purging ${left[*]}"
    DEBIAN_FRONTEND=noninteractive dpkg --purge "${left[@]}" >/dev/null 2>&1 || true
  fi
  # The postinst created the user; it stays on purge (Debian policy), the test takes it away
  # again when it was not there before.
  if [ "$user_existed" = 0 ] && getent passwd wallet-eventd >/dev/null; then
    userdel wallet-eventd 2>/dev/null || true
  fi
  if [ "$user_existed" = 0 ] && getent group wallet-eventd >/dev/null; then
    groupdel wallet-eventd 2>/dev/null || true
  fi
  rm -rf "$work"
  exit $rc
}
trap cleanup EXIT

# ---- 1. the tree to package ---------------------------------------------------------------------
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$build/CMakeCache.txt")
if [ "$prefix" = "/usr" ]; then
  tree="$build"
  step "packaging the tested tree $tree (CMAKE_INSTALL_PREFIX=/usr)"
else
  # Packages need a /usr tree (docs/packaging.md); configure one beside this build.
  tree="$build/packaging-tree"
  step "this tree has CMAKE_INSTALL_PREFIX=$prefix: configuring a /usr tree in $tree"
  cache() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt"; }
  cmake -S "$src" -B "$tree" -G Ninja -DCMAKE_INSTALL_PREFIX=/usr -DWEP_BUILD_TESTS=OFF \
    -DWEP_BUILD_BENCH=OFF -DWEP_WERROR="$(cache WEP_WERROR)" \
    -DCMAKE_BUILD_TYPE="$(cache CMAKE_BUILD_TYPE)" \
    -DCMAKE_C_COMPILER_LAUNCHER="$(cache CMAKE_C_COMPILER_LAUNCHER)" \
    -DCMAKE_CXX_COMPILER_LAUNCHER="$(cache CMAKE_CXX_COMPILER_LAUNCHER)" >"$work/configure.log" \
    || { cat "$work/configure.log"; fail "configuring $tree"; }
fi
if [ "$tree" != "$build" ]; then
  cmake --build "$tree" >"$work/build.log" 2>&1 || { tail -50 "$work/build.log"; fail "building $tree"; }
fi
# (The tested tree is packaged as ctest found it: built, like for every other test.)
libdir=$(sed -n 's/^CMAKE_INSTALL_LIBDIR:PATH=//p' "$tree/CMakeCache.txt")
plugindir="/usr/$libdir/wallet-eventd/plugins"
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$tree/CMakeCache.txt")
release=$(sed -n 's/^WEP_PACKAGE_RELEASE:STRING=//p' "$tree/CMakeCache.txt")
full="$version-$release"
arch=$(dpkg --print-architecture)
echo "version $full, arch $arch, plugins in $plugindir"

# ---- 2. cpack, both formats ---------------------------------------------------------------------
out="$work/out"
for gen in DEB RPM; do
  step "cpack -G $gen"
  (cd "$tree" && cpack -G "$gen" -B "$out" >"$work/cpack-$gen.log" 2>&1) \
    || { cat "$work/cpack-$gen.log"; fail "cpack -G $gen"; }
done
deb="$out/wallet-eventd_${full}_${arch}.deb"
devdeb="$out/wallet-eventd-dev_${full}_${arch}.deb"
rpmarch=$(uname -m)
rpmf="$out/wallet-eventd-${full}.${rpmarch}.rpm"
devrpm="$out/wallet-eventd-dev-${full}.${rpmarch}.rpm"
for f in "$deb" "$devdeb" "$rpmf" "$devrpm"; do expect_file "$f" "cpack output"; done
ls -l "$out"/*.deb "$out"/*.rpm

# ---- 3. the debs: control data, contents, lintian -----------------------------------------------
step "deb control data and contents"
info=$(dpkg-deb -I "$deb")
expect_in "$info" "Package: wallet-eventd" "deb name"
expect_in "$info" "Version: $full" "deb version"
expect_in "$info" "Section: net" "deb section"
for dep in "libc6 (>=" "librdkafka1" "libyaml-cpp" "libssl3" "libcurl4" "libsystemd0" \
  "libstdc++6" "adduser" "init-system-helpers"; do
  expect_in "$(dpkg-deb -f "$deb" Depends)" "$dep" "wallet-eventd Depends"
done
expect_not_in "$(dpkg-deb -f "$deb" Depends)" "wallet-eventd" "wallet-eventd must not depend on itself"
for ctl in conffiles postinst prerm postrm triggers shlibs md5sums; do
  expect_in "$info" " $ctl" "deb control member"
done
expect_in "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./conffiles)" \
  "/etc/wallet-eventd/wallet-eventd.yaml" "conffiles"
expect_in "$(dpkg-deb --ctrl-tarfile "$deb" | tar -xOf - ./shlibs)" \
  "libwallet-events 1 wallet-eventd (>= $full)" "shlibs"
devinfo=$(dpkg-deb -I "$devdeb")
expect_in "$devinfo" "Section: libdevel" "dev section"
expect_in "$(dpkg-deb -f "$devdeb" Depends)" "wallet-eventd (= $full)" "dev depends on the exact version"
contents=$(dpkg-deb -c "$deb")
for f in ./usr/bin/wallet-eventd "./usr/$libdir/libwallet-events.so.1" \
  ".$plugindir/audit.so" ".$plugindir/metrics.so" ".$plugindir/notification.so" \
  ".$plugindir/security.so" ./usr/share/wallet-eventd/schemas/ \
  ./etc/wallet-eventd/wallet-eventd.yaml ./usr/lib/systemd/system/wallet-eventd.service \
  ./usr/share/man/man1/wallet-eventd.1.gz ./usr/share/doc/wallet-eventd/copyright \
  ./usr/share/doc/wallet-eventd/changelog.Debian.gz ./usr/share/lintian/overrides/wallet-eventd; do
  expect_in "$contents" " $f" "wallet-eventd contents"
done
expect_not_in "$contents" "./usr/include" "headers belong to -dev"
if grep -q "libwallet-events.so -> \|libwallet-events.so$" <<<"$contents"; then
  fail "the link name libwallet-events.so belongs to -dev"
fi
ok
expect_not_in "$contents" "./var/" "state is created by the postinst, not shipped"
# Everything root-owned and not writable by group or others (the plugin loader insists).
bad=$(awk '$2 != "root/root" || (substr($1,1,1) != "l" && (substr($1,6,1) == "w" || substr($1,9,1) == "w"))' <<<"$contents")
[ -z "$bad" ] || fail "files not root/root or writable by group/others:
$bad"
ok
devcontents=$(dpkg-deb -c "$devdeb")
for f in ./usr/include/wallet_event_plugin.h ./usr/include/wallet_eventd/client.h \
  "./usr/$libdir/libwallet-events.so" "./usr/$libdir/cmake/WalletEventPlugin/WalletEventPluginConfig.cmake" \
  "./usr/$libdir/pkgconfig/wallet-event-plugin.pc" "./usr/$libdir/pkgconfig/wallet-events.pc" \
  ./usr/share/doc/wallet-eventd/examples/c_plugin/event_logger.c \
  ./usr/share/doc/wallet-eventd-dev/copyright; do
  expect_in "$devcontents" " $f" "wallet-eventd-dev contents"
done

step "lintian (errors fail; warnings and the overrides are shown)"
lintian --fail-on error --no-tag-display-limit --show-overrides "$deb" "$devdeb" \
  >"$work/lintian.log" 2>&1 && lrc=0 || lrc=$?
cat "$work/lintian.log"
[ "$lrc" -eq 0 ] || fail "lintian reported errors (exit $lrc)"
if grep -q "^E: " "$work/lintian.log"; then fail "lintian reported errors"; fi
ok
echo "lintian: $(grep -c '^E: ' "$work/lintian.log" || true) errors, $(grep -c '^W: ' "$work/lintian.log" || true) warnings, $(grep -c '^I: ' "$work/lintian.log" || true) info, $(grep -c '^O: ' "$work/lintian.log" || true) overridden"

# ---- 4. the rpms ---------------------------------------------------------------------------------
step "rpm -qpi / -qpl / requires / scriptlets"
rq() { rpm -qp --nosignature "$@" 2>/dev/null; }
ri=$(rq -i "$rpmf")
expect_in "$ri" "Name        : wallet-eventd" "rpm name"
expect_in "$ri" "Version     : $version" "rpm version"
expect_in "$ri" "Release     : $release" "rpm release"
expect_in "$ri" "Architecture: $rpmarch" "rpm arch"
expect_in "$ri" "License     :" "rpm license"
expect_in "$ri" "Kafka event bus host for identity wallets" "rpm summary"
rl=$(rq -l "$rpmf")
for f in /usr/bin/wallet-eventd "/usr/$libdir/libwallet-events.so.1" "$plugindir/audit.so" \
  "$plugindir/metrics.so" "$plugindir/notification.so" "$plugindir/security.so" \
  /etc/wallet-eventd/wallet-eventd.yaml /usr/lib/systemd/system/wallet-eventd.service \
  /usr/share/man/man1/wallet-eventd.1.gz /usr/share/wallet-eventd/schemas /var/lib/wallet-eventd; do
  expect_in "$rl" "$f" "rpm -qpl wallet-eventd"
done
expect_not_in "$rl" "lintian" "no Debian files in the rpm"
expect_not_in "$rl" "changelog.Debian" "no Debian files in the rpm"
for d in /usr /usr/bin /etc "/usr/$libdir" /usr/lib/systemd/system /var/lib; do
  if grep -qx -- "$d" <<<"$rl"; then fail "the rpm must not own the system directory $d"; fi
done
ok
expect_in "$(rq --configfiles "$rpmf")" "/etc/wallet-eventd/wallet-eventd.yaml" "rpm config file"
flags=$(rq --qf '[%{FILEFLAGS:fflags} %{FILEMODES:perms} %{FILEUSERNAME}:%{FILEGROUPNAME} %{FILENAMES}\n]' "$rpmf")
expect_in "$flags" "cn -rw-r--r-- root:root /etc/wallet-eventd/wallet-eventd.yaml" "%config(noreplace)"
expect_in "$flags" "drwxr-x--- wallet-eventd:wallet-eventd /var/lib/wallet-eventd" "state dir %attr"
req=$(rq --requires "$rpmf")
for r in "librdkafka.so.1()(64bit)" "libyaml-cpp.so" "libcrypto.so.3()(64bit)" "libsystemd.so.0()(64bit)" \
  "shadow-utils" "systemd"; do
  expect_in "$req" "$r" "rpm requires"
done
expect_not_in "$(rq --provides "$rpmf")" "audit.so" "plugins provide nothing"
expect_in "$(rq --provides "$rpmf")" "libwallet-events.so.1()(64bit)" "rpm provides the library"
scripts=$(rq --scripts "$rpmf")
for s in "preinstall scriptlet" "useradd -r" "postinstall scriptlet" "enable wallet-eventd.service" \
  "preuninstall scriptlet" "disable --now" "postuninstall scriptlet" "try-restart"; do
  expect_in "$scripts" "$s" "rpm scriptlets"
done
dri=$(rq -i "$devrpm")
expect_in "$dri" "Name        : wallet-eventd-dev" "dev rpm name"
expect_in "$(rq --requires "$devrpm")" "wallet-eventd = $full" "dev rpm requires the exact version"
drl=$(rq -l "$devrpm")
for f in /usr/include/wallet_event_plugin.h "/usr/$libdir/libwallet-events.so" \
  "/usr/$libdir/cmake/WalletEventPlugin/WalletEventPluginConfig.cmake" \
  "/usr/$libdir/pkgconfig/wallet-event-plugin.pc" /usr/share/doc/wallet-eventd/examples/c_plugin/CMakeLists.txt; do
  expect_in "$drl" "$f" "rpm -qpl wallet-eventd-dev"
done

# ---- 5. install the debs -------------------------------------------------------------------------
step "apt-get install ./wallet-eventd_*.deb ./wallet-eventd-dev_*.deb"
cp "$deb" "$devdeb" "$work/"
(cd "$work" && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
  "./$(basename "$deb")" "./$(basename "$devdeb")") >"$work/apt-install.log" 2>&1 \
  || { cat "$work/apt-install.log"; fail "apt-get install"; }
tail -5 "$work/apt-install.log"
expect_in "$(dpkg-query -W -f='${Status} ${Version}' wallet-eventd)" "install ok installed $full" "dpkg status"
expect_in "$(/usr/bin/wallet-eventd --version)" "$version" "installed --version"
pw=$(getent passwd wallet-eventd) || fail "the postinst did not create the user wallet-eventd"
expect_in "$pw" ":/var/lib/wallet-eventd:/usr/sbin/nologin" "service user home and shell"
uid=$(cut -d: -f3 <<<"$pw")
[ "$uid" -lt 1000 ] || fail "wallet-eventd is not a system user (uid $uid)"
ok
expect_in "$(stat -c '%U:%G %a' /var/lib/wallet-eventd)" "wallet-eventd:wallet-eventd 750" "state dir"
expect_in "$(stat -c '%U:%G %a' /etc/wallet-eventd/wallet-eventd.yaml)" "root:root 644" "conffile"
# Enabled, not started: the wants link exists (deb-systemd-helper) and nothing runs as the user.
expect_file /etc/systemd/system/multi-user.target.wants/wallet-eventd.service "enabled on install"
if pgrep -u wallet-eventd >/dev/null; then fail "the service was started on install"; fi
ok
expect_file /usr/share/man/man1/wallet-eventd.1.gz "man page"
man=$(MANWIDTH=100 man -P cat wallet-eventd 2>/dev/null)
for s in "SYNOPSIS" "wallet-eventd check-config" "wallet-eventd audit verify" "FILES" "EXIT STATUS"; do
  expect_in "$man" "$s" "man wallet-eventd"
done

step "check-config on the installed config"
cc_out=$(wallet-eventd check-config --config /etc/wallet-eventd/wallet-eventd.yaml 2>&1) \
  || fail "installed check-config failed: $cc_out"
echo "$cc_out"
expect_in "$cc_out" "/etc/wallet-eventd/wallet-eventd.yaml: OK" "check-config"
expect_in "$cc_out" "instances: 4 enabled of 4" "check-config instances"
expect_in "$(wallet-eventd plugins list --config /etc/wallet-eventd/wallet-eventd.yaml)" \
  "$plugindir/audit.so" "built-in plugins found in the installed plugin dir"
expect_gone /var/lib/wallet-eventd/audit "check-config must not touch the live audit log"
for p in audit metrics notification security; do
  expect_in "$(wallet-eventd plugins inspect "$p")" "$p" "plugins inspect $p"
done

step "systemd-analyze verify / security"
verify=$(systemd-analyze verify /usr/lib/systemd/system/wallet-eventd.service 2>&1) \
  || fail "systemd-analyze verify: $verify"
# Complaints about other units of this machine are not ours; none may name our unit.
expect_not_in "$verify" "wallet-eventd.service" "systemd-analyze verify"
sec=$(systemd-analyze security --offline=true /usr/lib/systemd/system/wallet-eventd.service 2>&1) || true
overall=$(grep -o "Overall exposure level for wallet-eventd.service: .*" <<<"$sec" || true)
echo "$overall"
[ -n "$overall" ] || fail "systemd-analyze security gave no rating: $sec"
score=$(grep -o '[0-9]*\.[0-9]' <<<"$overall" | head -1)
python3 -c "import sys; sys.exit(0 if float('$score') <= 2.5 else 1)" \
  || fail "exposure $score > 2.5: the hardening regressed"
ok

# ---- 6. a vendor plugin against the installed -dev package ---------------------------------------
step "build the C example against the installed -dev (CMake and pkg-config)"
cp -r /usr/share/doc/wallet-eventd/examples/c_plugin "$work/c_plugin"
cmake -S "$work/c_plugin" -B "$work/c_build" >"$work/c_cmake.log" 2>&1 \
  || { cat "$work/c_cmake.log"; fail "find_package(WalletEventPlugin) against /usr"; }
expect_in "$(cat "$work/c_build/CMakeCache.txt")" "WalletEventPlugin_DIR:PATH=/usr/$libdir/cmake/WalletEventPlugin" \
  "find_package found the installed package"
cmake --build "$work/c_build" >"$work/c_build.log" 2>&1 || { cat "$work/c_build.log"; fail "building c_plugin"; }
plugin="$work/c_build/event_logger.so"
expect_file "$plugin" "c_plugin built"
expect_in "$(pkg-config --modversion wallet-event-plugin)" "$version" "pkg-config wallet-event-plugin"
expect_in "$(pkg-config --modversion wallet-events)" "$version" "pkg-config wallet-events"
expect_in "$(pkg-config --libs wallet-events)" "-lwallet-events" "pkg-config wallet-events libs"
# shellcheck disable=SC2046
cc -std=c99 -Wall -Wextra -pedantic -Werror -shared -fPIC $(pkg-config --cflags wallet-event-plugin) \
  "$work/c_plugin/event_logger.c" -o "$work/event_logger_pc.so"
inspect=$(wallet-eventd plugins inspect "$plugin") || fail "plugins inspect $plugin"
echo "$inspect"
expect_in "$inspect" "event_logger" "inspect the vendor plugin"

# ---- 7. the installed daemon as the service user against the real broker -----------------------
step "run the installed daemon as wallet-eventd against $WEP_TEST_BOOTSTRAP"
state="$work/state"
install -d -o wallet-eventd -g wallet-eventd -m 0750 "$state"
topic_prefix="pkg$RANDOM$RANDOM"
cfg="$work/wallet-eventd.yaml"
cat >"$cfg" <<YAML
bus:
  bootstrap_servers: "$WEP_TEST_BOOTSTRAP"
topics:
  prefix: $topic_prefix
consumer:
  group_prefix: $topic_prefix
  batch_timeout_ms: 20
admin:
  listen: "127.0.0.1:0"
state_dir: $state
plugins:
  - name: audit
    path: audit
    config:
      directory: audit
  - name: metrics
    path: metrics
  - name: security
    path: security
  - name: vendor
    path: $plugin
    config:
      prefix: pkgseen
  - name: vendor_pc
    path: $work/event_logger_pc.so
    events: [KeyCreated, KeyRotated, KeyRevoked]
    config:
      prefix: pcseen
YAML
chmod 0644 "$cfg"
runuser -u wallet-eventd -- wallet-eventd check-config --config "$cfg" >/dev/null \
  || fail "check-config as wallet-eventd"
# setpriv execs (runuser would fork and keep a session process between us and the daemon), so
# $pid is the daemon and SIGTERM reaches it directly.
setpriv --reuid=wallet-eventd --regid=wallet-eventd --init-groups --reset-env \
  wallet-eventd run --config "$cfg" >"$work/daemon.log" 2>&1 &
pid=$!
golden=("$src"/tests/golden/wire/valid/*.json)
n_golden=${#golden[@]}
[ "$n_golden" -gt 0 ] || fail "no golden events in $src/tests/golden/wire/valid"
for f in "${golden[@]}"; do python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))))' "$f"; done \
  >"$work/events.ndjson"
wallet-eventd publish --config "$cfg" "$work/events.ndjson" || fail "publish of $n_golden golden events"
# The audit instance's state directory is <state_dir>/audit; its log is in "audit" below it.
log="$state/audit/audit"
audited() { cat "$log"/audit-*.jsonl 2>/dev/null | wc -l; }
for _ in $(seq 1 240); do
  v=$(grep -c "\[vendor\] pkgseen" "$work/daemon.log" || true)
  p=$(grep -c "\[vendor_pc\] pcseen" "$work/daemon.log" || true)
  [ "$(audited)" -ge "$n_golden" ] && [ "$v" -ge "$n_golden" ] && [ "$p" -ge 3 ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/daemon.log"; fail "the daemon exited early"; }
  sleep 0.25
done
kill -TERM "$pid"
wait "$pid" && drc=0 || drc=$?
pid=""
tail -20 "$work/daemon.log"
[ "$drc" -eq 0 ] || { cat "$work/daemon.log"; fail "the daemon exited $drc on SIGTERM"; }
ok
v=$(grep -c "\[vendor\] pkgseen" "$work/daemon.log" || true)
p=$(grep -c "\[vendor_pc\] pcseen" "$work/daemon.log" || true)
a=$(audited)
echo "audit log: $a records; vendor plugin (CMake build): $v events; vendor plugin (pkg-config build): $p key events; of $n_golden published"
[ "$a" -eq "$n_golden" ] || fail "the installed audit plugin logged $a events, want $n_golden"
[ "$v" -eq "$n_golden" ] || fail "the vendor plugin saw $v events, want $n_golden"
[ "$p" -eq 3 ] || fail "the pkg-config vendor plugin saw $p key events, want 3"
ok
expect_in "$(stat -c '%U' "$log"/audit-*.jsonl | sort -u)" "wallet-eventd" "audit files owned by the service user"
verify_out=$(wallet-eventd audit verify "$log" 2>&1) || fail "audit verify: $verify_out"
echo "$verify_out"
ok

# ---- 8. remove, then purge -----------------------------------------------------------------------
step "apt-get remove"
mkdir -p /var/lib/wallet-eventd/audit && echo keep >/var/lib/wallet-eventd/audit/marker
DEBIAN_FRONTEND=noninteractive apt-get remove -y wallet-eventd-dev wallet-eventd >"$work/apt-remove.log" 2>&1 \
  || { cat "$work/apt-remove.log"; fail "apt-get remove"; }
expect_in "$(dpkg-query -W -f='${Status}' wallet-eventd)" "deinstall ok config-files" "removed, config kept"
for f in /usr/bin/wallet-eventd "$plugindir" "/usr/$libdir/libwallet-events.so.1" \
  /usr/share/wallet-eventd /usr/lib/systemd/system/wallet-eventd.service /usr/include/wallet_event_plugin.h \
  "/usr/$libdir/cmake/WalletEventPlugin" /usr/share/man/man1/wallet-eventd.1.gz; do
  expect_gone "$f" "apt-get remove"
done
expect_file /etc/wallet-eventd/wallet-eventd.yaml "the conffile stays on remove"
expect_file /var/lib/wallet-eventd/audit/marker "the state stays on remove"

step "apt-get purge"
# wallet-eventd-dev has no conffiles: remove took all of it, so only wallet-eventd is left to purge.
if dpkg-query -W -f='${Status}' wallet-eventd-dev 2>/dev/null | grep -q "installed\|config-files"; then
  fail "wallet-eventd-dev is still known to dpkg after remove"
fi
ok
DEBIAN_FRONTEND=noninteractive apt-get purge -y wallet-eventd >"$work/apt-purge.log" 2>&1 \
  || { cat "$work/apt-purge.log"; fail "apt-get purge"; }
if dpkg-query -W -f='${Status}' wallet-eventd 2>/dev/null | grep -q "installed\|config-files"; then
  fail "wallet-eventd is still known to dpkg after purge"
fi
ok
for f in /etc/wallet-eventd /var/lib/wallet-eventd \
  /etc/systemd/system/multi-user.target.wants/wallet-eventd.service \
  /etc/systemd/system/wallet-eventd.service /var/lib/systemd/deb-systemd-helper-enabled/wallet-eventd.service \
  /var/lib/systemd/deb-systemd-helper-masked/wallet-eventd.service; do
  expect_gone "$f" "apt-get purge"
done
# Debian policy: the system user and group stay after purge.
getent passwd wallet-eventd >/dev/null || fail "the system user went with the purge; policy keeps it"
ok

step "done"
echo "packaging: $checks checks passed in $(($(date +%s) - t0)) s"
