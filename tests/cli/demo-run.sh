#!/usr/bin/env bash
# The README's main job: `wallet-eventd run --config config/demo.yaml`. Runs config/demo.yaml as
# it ships (only state_dir and the two local ports moved, so that it runs beside anything else)
# and checks that every part of the demo works and that Ctrl-C stops it at once:
#   - the generator publishes on the embedded broker, the local issuer receives the
#     notification plugin's requests, security raises alerts, the demo reports the audit log's
#     hash chain intact, /metrics counts the wallet's events;
#   - SIGINT right after a round was published (notifications about to be sent), with a client
#     holding an idle keep-alive connection to the issuer, stops the daemon with exit 0 within
#     4 s (about 2 s: the issuer's 1 s keep-alive, the embedded broker's 1 s teardown), and
#     `audit verify` then accepts the log.
#   usage: demo-run.sh <wallet-eventd binary> <source dir>
set -uo pipefail
daemon="$1"; src="$2"
work="$(mktemp -d)"
pid=""; client=""
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
  [ -n "$client" ] && kill "$client" 2>/dev/null
  if [ -n "${KEEP_WORK:-}" ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
failed=0
fail() { echo "FAIL $1"; failed=$((failed + 1)); }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
issuer_port="$(free_port)"; admin_port="$(free_port)"
sed -e "s|^state_dir: .*|state_dir: $work/state|" \
    -e "s|127.0.0.1:8089|127.0.0.1:$issuer_port|g" \
    -e "s|127.0.0.1:9464|127.0.0.1:$admin_port|g" \
    "$src/config/demo.yaml" >"$work/demo.yaml"
grep -q "state_dir: $work/state" "$work/demo.yaml" || { echo "FAIL could not move state_dir"; exit 1; }

"$daemon" run --config "$work/demo.yaml" >"$work/log" 2>&1 &
pid=$!

# waits up to $1 s for a line matching $2 in the log
wait_for() {
  local deadline=$((SECONDS + $1))
  while [ $SECONDS -lt $deadline ]; do
    grep -qE "$2" "$work/log" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

wait_for 30 '\[demo\] published round' || fail "the generator published nothing"
wait_for 30 '\[demo issuer\] notification received' || fail "the issuer received no notification"
wait_for 30 'security alert' || fail "no security alert"
wait_for 30 'audit log .*records in .* hash chain intact' || fail "no intact audit log reported"

metrics="$(python3 - "$admin_port" <<'EOF'
import sys, urllib.request
print(urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/metrics", timeout=5).read().decode())
EOF
)" || fail "/metrics did not answer"
total="$(printf '%s\n' "$metrics" | awk '/^wallet_events_total[{ ]/ {s += $NF} END {print s + 0}')"
[ "${total%.*}" -gt 0 ] 2>/dev/null || fail "/metrics counts no wallet events (wallet_events_total $total)"

# A client of the issuer that keeps its connection open after a request, as the notification
# plugin's libcurl cache does: the issuer's stop must not wait out the idle connection.
python3 - "$issuer_port" >"$work/client" 2>&1 <<'CLIENT' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
body = b'{"notification_id":"held-connection","event":"credential_accepted"}'
s.sendall(b"POST /notification HTTP/1.1\r\nHost: issuer\r\nAuthorization: Bearer t\r\n"
          b"Content-Type: application/json\r\nConnection: keep-alive\r\n"
          b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
print(s.recv(4096).split(b"\r\n", 1)[0].decode(), flush=True)
time.sleep(60)
CLIENT
client=$!
for _ in $(seq 1 100); do grep -q "HTTP/1.1" "$work/client" && break; sleep 0.05; done
grep -q "HTTP/1.1 204" "$work/client" || fail "the issuer did not answer a held connection: $(cat "$work/client")"

# Stop right after the generator published a round: the notification instance is then about to
# send that round's notifications, which should still find the issuer answering.
seen="$(grep -c '\[demo\] published round' "$work/log")"
deadline=$((SECONDS + 20))
while [ "$(grep -c '\[demo\] published round' "$work/log")" -le "$seen" ] &&
      [ $SECONDS -lt $deadline ]; do sleep 0.01; done
kill -0 "$pid" 2>/dev/null || fail "the daemon had exited before SIGINT: $(tail -3 "$work/log")"
start_ns=$(date +%s%N)
kill -INT "$pid"
rc=""
for _ in $(seq 1 200); do  # up to 20 s, so that a slow stop is measured, not killed
  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid"; rc=$?; break; fi
  sleep 0.1
done
stop_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
kill "$client" 2>/dev/null
if [ -z "$rc" ]; then
  fail "the daemon did not stop within 20 s of SIGINT"
else
  pid=""
  [ "$rc" -eq 0 ] || fail "SIGINT: exit $rc, want 0: $(tail -3 "$work/log")"
  [ "$stop_ms" -le 4000 ] || fail "SIGINT: stopped after $stop_ms ms, want at most 4000 ($(grep -o 'stopped in [0-9]* ms' "$work/log"))"
fi

"$daemon" audit verify "$work/state/audit/audit" >"$work/verify" 2>&1 ||
  fail "audit verify of the demo's log: $(head -3 "$work/verify")"

if [ "$failed" -ne 0 ]; then
  echo "--- daemon log (last 40 lines)"; tail -40 "$work/log"
  exit 1
fi
echo "demo: published, notified, alerted, audited ($(grep -o '[0-9]* records in [0-9]* file(s), hash chain intact' "$work/log" | tail -1)), wallet_events_total $total; SIGINT: exit 0 in $stop_ms ms"
