#!/usr/bin/env bash
# wallet-eventd benchmarks against kcat, in one run, on a Kafka broker of their own.
#   bench/run.sh            full run (3-5 minutes here): writes docs/BENCHMARKS.md
#   bench/run.sh --quick    small counts (2-3 minutes, CI): writes <build-dir>/bench/BENCHMARKS-quick.md
# Builds <repo>/build-bench (Release, target bench_all) unless --no-build; see --help.
set -euo pipefail
exec python3 "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/driver.py" "$@"
