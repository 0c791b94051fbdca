#!/usr/bin/env bash
# Each command's --help lists its exit codes, and the codes a command gives without a broker are
# among the ones its --help lists: every case below runs the real binary, checks the exit code it
# expects and looks that code up in the command's "Exit codes:" section. (The codes that need a
# broker, 75 and the delivery ones, are asserted by the integration tests.)
#   usage: exit-codes.sh <wallet-eventd binary> <source dir>
set -uo pipefail
daemon="$1"; src="$2"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
demo="$src/config/demo.yaml"
bad="$src/tests/bad-config/duplicate-key.yaml"
golden="$(ls "$src"/tests/golden/wire/valid/*.json | head -1)"
total=0; failed=0
fail() { echo "FAIL $1"; failed=$((failed + 1)); }

# case <want> <stdin file> <command words...> -- <arguments...>
case_() {
  local want="$1" input="$2"; shift 2
  local words=() args=()
  while [ "$1" != "--" ]; do words+=("$1"); shift; done
  shift; args=("$@")
  total=$((total + 1))
  local what="${words[*]} ${args[*]}"
  timeout 60 "$daemon" "${words[@]}" "${args[@]}" <"$input" >"$work/out" 2>"$work/err"
  local rc=$?
  [ "$rc" -eq "$want" ] || { fail "$what: exited $rc, want $want: $(head -3 "$work/err")"; return; }
  "$daemon" "${words[@]}" --help >"$work/help" 2>&1 ||
    { fail "${words[*]} --help exited non-zero"; return; }
  sed -n '/^Exit codes:/,$p' "$work/help" >"$work/codes"
  [ -s "$work/codes" ] || { fail "${words[*]} --help has no 'Exit codes:' section"; return; }
  grep -qE "^  $want +[^ ]" "$work/codes" ||
    { fail "${words[*]} --help does not list $want, which '$what' returned"; return; }
}

tr -d '\n' <"$golden" >"$work/valid.ndjson"; echo >>"$work/valid.ndjson"
echo '{"event_type": "KeyCreated"' >"$work/invalid.ndjson"
mkdir "$work/a-directory" "$work/empty-audit"
: >"$work/empty"

case_ 78 /dev/null run -- --config "$bad"
case_ 64 /dev/null run -- --no-such-option
case_ 0 /dev/null check-config -- --config "$demo"
case_ 78 /dev/null check-config -- --config "$bad"
case_ 0 "$work/valid.ndjson" publish -- --config "$demo" --dry-run
case_ 65 "$work/invalid.ndjson" publish -- --config "$demo" --dry-run
case_ 74 /dev/null publish -- --config "$demo" --dry-run "$work/a-directory"
case_ 64 /dev/null publish -- --config "$demo" --dry-run "$work/no-such-file"
case_ 78 /dev/null publish -- --config "$bad" --dry-run
case_ 64 /dev/null tail -- --config "$demo" --type KeyCreatd
case_ 78 /dev/null tail -- --config "$bad"
case_ 0 /dev/null plugins list -- --config "$demo"
case_ 78 /dev/null plugins list -- --config "$bad"
case_ 1 /dev/null plugins inspect -- "$work/no-such-plugin.so"
case_ 64 /dev/null plugins inspect --
case_ 1 /dev/null audit verify -- "$work/no-such-dir"
case_ 64 /dev/null dlq replay -- --config "$demo" --instance no-such-instance
case_ 64 /dev/null dlq replay -- --config "$demo" --since yesterday-ish
case_ 78 /dev/null dlq replay -- --config "$bad"

# The top level points at the commands' own lists.
"$daemon" --help 2>&1 | grep -q "exit codes" || fail "wallet-eventd --help does not mention exit codes"
echo "exit codes: $total cases, $failed failure(s)"
[ "$failed" -eq 0 ]
