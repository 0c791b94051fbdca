#!/usr/bin/env bash
# Every broken config under tests/bad-config/ (loader-stage ones in loader/) given to the real
# binary: `check-config` and `run` both exit 78, the first line of stderr is
# `<file>:<line>:<column>: ...` (the `# at:` line of the file when it has one) and holds the
# file's `# expect:` text, and `run` never gets as far as the bus or a consumer.
#   usage: run_corpus.sh <wallet-eventd binary> <corpus dir>
set -uo pipefail
daemon="$1"; corpus="$2"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
total=0; failed=0
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }
for f in "$corpus"/*.yaml "$corpus"/loader/*.yaml; do
  total=$((total + 1))
  expect="$(sed -n '1s/^# expect: //p' "$f")"
  at="$(sed -n '2s/^# at: //p' "$f")"
  [ -n "$expect" ] || { fail "$f" "no '# expect:' first line"; continue; }
  for cmd in check-config run; do
    timeout 30 "$daemon" "$cmd" --config "$f" >"$work/out" 2>"$work/err"
    rc=$?
    first="$(head -1 "$work/err")"
    [ "$rc" -eq 78 ] || { fail "$f" "$cmd exited $rc, want 78: $(cat "$work/err" | head -3)"; continue; }
    if [ -n "$at" ]; then
      [[ "$first" == "$f:$at: "* ]] || { fail "$f" "$cmd: first line is not '$f:$at: ...': $first"; continue; }
    else
      [[ "$first" =~ ^"$f":[0-9]+:[0-9]+:\  ]] || { fail "$f" "$cmd: no file:line:column: $first"; continue; }
    fi
    grep -qF -- "$expect" "$work/err" || { fail "$f" "$cmd: message lacks '$expect': $first"; continue; }
    if [ "$cmd" = run ] && grep -qE "consuming as group|embedded broker|running:|admin endpoint on" "$work/out" "$work/err"; then
      fail "$f" "run started something before refusing the config"
    fi
  done
done
echo "bad-config corpus: $total files, $((total - failed > 0 ? total - failed : 0)) answered right, $failed failure(s)"
[ "$total" -ge 30 ] || { echo "FAIL: fewer than 30 files"; exit 1; }
[ "$failed" -eq 0 ]
