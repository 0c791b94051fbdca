#!/usr/bin/env bash
# Installs every Debian package wallet-eventd needs to build, test, benchmark and package itself.
# Idempotent: a second run installs nothing. Needs root (or sudo) and apt.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ccache
  librdkafka-dev libyaml-cpp-dev nlohmann-json3-dev libspdlog-dev libcli11-dev
  libcurl4-openssl-dev libcpp-httplib-dev libssl-dev libsystemd-dev libsimdjson-dev
  libboost-dev libboost-filesystem-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  clang clang-format libclang-rt-dev
  kcat prometheus
  openjdk-17-jre-headless maven
  python3 python3-jsonschema
  lintian rpm dpkg-dev file
  help2man systemd adduser man-db
  debootstrap systemd-container strace curl procps
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "build-deps: all ${#packages[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "build-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
