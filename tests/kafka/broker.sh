#!/usr/bin/env bash
# Real single-node Apache Kafka 4.x broker (KRaft combined mode) on 127.0.0.1,
# for wallet-eventd's integration and fault tests.
#
# The broker jars come from Maven Central through Maven (tests/kafka/pom.xml)
# and are cached outside the repository. Needs: java >= 17, mvn, kcat
# (Debian 12: openjdk-17-jre-headless maven kcat), plus coreutils/util-linux.
#
# Usage: tests/kafka/broker.sh <command> [options]     (see `help`)
# --tls also needs openssl (a dependency of Debian's ca-certificates, which Java pulls in).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
POM="$SCRIPT_DIR/pom.xml"

KAFKA_VERSION="${WEP_KAFKA_VERSION:-4.4.0}"
KAFKA_HOME="${WEP_KAFKA_HOME:-${HOME:-/tmp}/.cache/wallet-eventd/kafka-$KAFKA_VERSION}"
LIBS="$KAFKA_HOME/libs"
HEAP_OPTS="${WEP_KAFKA_HEAP_OPTS:--Xms128m -Xmx512m}"
START_TIMEOUT="${WEP_KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${WEP_KAFKA_STOP_TIMEOUT:-30}"

SCRAM_MECHANISM="SCRAM-SHA-256"
SCRAM_USER="wep"
SCRAM_PASSWORD="wep-secret"
TLS_STORE_PASSWORD="wep-test-store"

PORT=""
DIR=""
SASL=""      # "", "1" (on) or "0" (explicitly off)
TLS=""       # the same for --tls
CLEAN=0

log() { echo "broker.sh: $*" >&2; }
die() { echo "broker.sh: error: $*" >&2; exit 1; }

usage() {
  cat <<EOF
Usage: $(basename "$0") <command> [options]

Commands:
  fetch                 fetch the Kafka $KAFKA_VERSION jars into $KAFKA_HOME/libs (once)
  start [--port P] [--dir D] [--sasl-scram] [--tls]
                        start the broker in the background (fetches and formats
                        storage if needed), wait until it answers, print
                        bootstrap=127.0.0.1:P (and sasl_bootstrap=... with --sasl-scram,
                        ssl_bootstrap=... and ca=... with --tls, sasl_ssl_bootstrap=... with both)
  stop [--port P] [--dir D] [--clean]
                        SIGTERM, wait up to ${STOP_TIMEOUT}s, then SIGKILL; --clean deletes the data dir
  kill [--port P] [--dir D]
                        SIGKILL the broker at once (fault tests); data is kept
  restart [--port P] [--dir D] [--sasl-scram|--no-sasl-scram] [--tls|--no-tls]
                        stop (keeping data) and start again with the same data and cluster id
  status [--port P] [--dir D]
                        print state; exit 0 if running, 3 if not
  run-class CLASS [ARGS...]
                        run a Java class with the Kafka classpath, e.g.
                        org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:19092 --list

Ports: PLAINTEXT P (default \$WEP_KAFKA_PORT or 19092), CONTROLLER P+1, SASL_PLAINTEXT P+2
       (--sasl-scram), SSL P+3 (--tls), SASL_SSL P+4 (--tls and --sasl-scram).
Data dir: D (default \$WEP_KAFKA_DIR or /tmp/wallet-eventd-kafka-P): server.properties,
          broker.log, broker.pid, kraft-logs/.
SASL: user '$SCRAM_USER', password '$SCRAM_PASSWORD', mechanism $SCRAM_MECHANISM (always
      created at format time; the listener is only opened with --sasl-scram).
TLS:  --tls creates a throwaway CA and a broker certificate for 127.0.0.1/localhost in D/tls/
      (once; kept across restarts): ca.pem (trust this), other-ca.pem (a CA that did NOT sign
      the broker's certificate, for negative tests), broker.p12 (the broker's key store).
Environment: WEP_KAFKA_VERSION, WEP_KAFKA_HOME, WEP_KAFKA_PORT, WEP_KAFKA_DIR,
             WEP_KAFKA_HEAP_OPTS, WEP_KAFKA_START_TIMEOUT, WEP_KAFKA_STOP_TIMEOUT, JAVA_HOME.
EOF
}

parse_opts() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) [ $# -ge 2 ] || die "--port needs a value"; PORT="$2"; shift 2 ;;
      --port=*) PORT="${1#--port=}"; shift ;;
      --dir) [ $# -ge 2 ] || die "--dir needs a value"; DIR="$2"; shift 2 ;;
      --dir=*) DIR="${1#--dir=}"; shift ;;
      --sasl-scram) SASL=1; shift ;;
      --no-sasl-scram) SASL=0; shift ;;
      --tls) TLS=1; shift ;;
      --no-tls) TLS=0; shift ;;
      --clean) CLEAN=1; shift ;;
      -h|--help) usage; exit 0 ;;
      *) die "unknown option: $1 (see '$(basename "$0") help')" ;;
    esac
  done
  # With only --dir (or WEP_KAFKA_DIR) given, reuse the port that dir was started with.
  if [ -z "$PORT" ] && [ -z "${WEP_KAFKA_PORT:-}" ] && [ -n "${DIR:-${WEP_KAFKA_DIR:-}}" ] \
      && [ -f "${DIR:-$WEP_KAFKA_DIR}/broker.env" ]; then
    PORT="$(sed -n 's/^PORT=//p' "${DIR:-$WEP_KAFKA_DIR}/broker.env")"
  fi
  PORT="${PORT:-${WEP_KAFKA_PORT:-19092}}"
  case "$PORT" in
    ''|*[!0-9]*) die "invalid port: $PORT" ;;
  esac
  [ "$PORT" -ge 1 ] && [ "$PORT" -le 65533 ] || die "port out of range: $PORT"
  DIR="${DIR:-${WEP_KAFKA_DIR:-/tmp/wallet-eventd-kafka-$PORT}}"
  case "$DIR" in /*) ;; *) DIR="$(pwd)/$DIR" ;; esac
  CONTROLLER_PORT=$((PORT + 1))
  SASL_PORT=$((PORT + 2))
  SSL_PORT=$((PORT + 3))
  SASL_SSL_PORT=$((PORT + 4))
  TLS_DIR="$DIR/tls"
  PID_FILE="$DIR/broker.pid"
  LOG_FILE="$DIR/broker.log"
  PROPS="$DIR/server.properties"
  ENV_FILE="$DIR/broker.env"
  LOG_DIRS="$DIR/kraft-logs"
}

java_bin() {
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    echo "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    command -v java
  else
    die "java not found (Debian: apt-get install openjdk-17-jre-headless)"
  fi
}

check_java() {
  local j v
  j="$(java_bin)"
  v="$("$j" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n1)"
  if [ -n "$v" ] && [ "$v" -lt 17 ]; then
    die "Kafka $KAFKA_VERSION needs Java 17 or newer, $j is Java $v (set JAVA_HOME)"
  fi
}

# ---------------------------------------------------------------- fetch

pom_stamp() {
  { echo "$KAFKA_VERSION"; cat "$POM"; } | sha256sum | cut -d' ' -f1
}

fetched() {
  [ -f "$KAFKA_HOME/.fetched" ] && [ "$(cat "$KAFKA_HOME/.fetched")" = "$(pom_stamp)" ] \
    && [ -f "$LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]
}

cmd_fetch() {
  fetched && return 0
  command -v mvn >/dev/null 2>&1 || die "mvn not found (Debian: apt-get install maven)"
  mkdir -p "$KAFKA_HOME"
  # Serialise concurrent fetches into the same cache dir.
  exec 9>"$KAFKA_HOME/.lock"
  if command -v flock >/dev/null 2>&1; then flock 9; fi
  if fetched; then exec 9>&-; return 0; fi
  log "fetching Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS ..."
  local tmp="$KAFKA_HOME/libs.tmp.$$" start=$SECONDS
  rm -rf "$tmp"
  if ! mvn -q -B -Dstyle.color=never -f "$POM" -Dkafka.version="$KAFKA_VERSION" \
      dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$tmp" \
      >"$KAFKA_HOME/fetch.log" 2>&1; then
    cat "$KAFKA_HOME/fetch.log" >&2
    rm -rf "$tmp"
    die "mvn could not fetch Kafka $KAFKA_VERSION (Maven output above, also in $KAFKA_HOME/fetch.log)"
  fi
  [ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ] || { rm -rf "$tmp"; die "kafka_2.13-$KAFKA_VERSION.jar missing after fetch"; }
  rm -rf "$LIBS"
  mv "$tmp" "$LIBS"
  pom_stamp > "$KAFKA_HOME/.fetched"
  log "fetched $(ls "$LIBS" | wc -l) jars in $((SECONDS - start))s"
  exec 9>&-
}

# ---------------------------------------------------------------- helpers

# PID of our broker for $DIR, if alive (and really a Kafka of that dir).
running_pid() {
  local pid
  [ -f "$PID_FILE" ] || return 1
  pid="$(cat "$PID_FILE" 2>/dev/null || true)"
  case "$pid" in ''|*[!0-9]*) return 1 ;; esac
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/cmdline" ]; then
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -qF "$PROPS" || return 1
  fi
  echo "$pid"
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

broker_answers() {
  if command -v kcat >/dev/null 2>&1; then
    timeout 10 kcat -b "127.0.0.1:$PORT" -L -m 3 2>/dev/null | grep -q "broker 1 at 127.0.0.1:$PORT"
  else
    port_in_use "$PORT"
  fi
}

random_cluster_id() {
  # Kafka Uuid: 16 random bytes, base64url without padding, not starting with '-'.
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    case "$id" in -*) ;; *) echo "$id"; return ;; esac
  done
}

# Throwaway CA and broker certificate for --tls, created once per data dir (kept across
# restarts). other-ca.pem is a second CA that signed nothing the broker presents.
make_tls_material() {
  [ -f "$TLS_DIR/broker.p12" ] && [ -f "$TLS_DIR/ca.pem" ] && [ -f "$TLS_DIR/other-ca.pem" ] && return 0
  command -v openssl >/dev/null 2>&1 || die "--tls needs openssl (Debian: apt-get install openssl)"
  log "creating a throwaway CA and broker certificate in $TLS_DIR"
  local tmp="$TLS_DIR.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  if ! (
    set -e
    cd "$tmp"
    ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
    openssl req -x509 "${ec[@]}" -keyout ca.key -out ca.pem -days 825 -sha256 \
      -subj "/CN=wallet-eventd test CA $PORT" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -x509 "${ec[@]}" -keyout other-ca.key -out other-ca.pem -days 825 -sha256 \
      -subj "/CN=wallet-eventd untrusted test CA $PORT" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
    openssl req -new "${ec[@]}" -keyout broker.key -out broker.csr -subj "/CN=localhost"
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" > broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -sha256 \
      -extfile broker.ext -out broker.pem
    openssl pkcs12 -export -in broker.pem -inkey broker.key -certfile ca.pem -name broker \
      -passout "pass:$TLS_STORE_PASSWORD" -out broker.p12
    rm -f broker.csr broker.ext ca.srl
  ) >"$tmp/openssl.log" 2>&1; then
    cat "$tmp/openssl.log" >&2
    rm -rf "$tmp"
    die "creating the TLS material with openssl failed (output above)"
  fi
  rm -f "$tmp/openssl.log"
  chmod 600 "$tmp"/*.key "$tmp/broker.p12"
  chmod 644 "$tmp"/*.pem
  rm -rf "$TLS_DIR"
  mv "$tmp" "$TLS_DIR"
}

# With --tls: the SSL listener completes a handshake verified against $TLS_DIR/ca.pem.
tls_answers() {
  if command -v kcat >/dev/null 2>&1; then
    timeout 10 kcat -b "127.0.0.1:$SSL_PORT" -X security.protocol=ssl \
      -X ssl.ca.location="$TLS_DIR/ca.pem" -L -m 3 2>/dev/null \
      | grep -q "broker 1 at 127.0.0.1:$SSL_PORT"
  else
    port_in_use "$SSL_PORT"
  fi
}

write_configs() {
  local listeners="PLAINTEXT://127.0.0.1:$PORT,CONTROLLER://127.0.0.1:$CONTROLLER_PORT"
  local advertised="PLAINTEXT://127.0.0.1:$PORT"
  local protocol_map="CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT"
  if [ "$SASL" = 1 ]; then
    listeners="$listeners,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT"
    advertised="$advertised,SASL_PLAINTEXT://127.0.0.1:$SASL_PORT"
  fi
  if [ "$TLS" = 1 ]; then
    listeners="$listeners,SSL://127.0.0.1:$SSL_PORT"
    advertised="$advertised,SSL://127.0.0.1:$SSL_PORT"
    protocol_map="$protocol_map,SSL:SSL"
    if [ "$SASL" = 1 ]; then
      listeners="$listeners,SASL_SSL://127.0.0.1:$SASL_SSL_PORT"
      advertised="$advertised,SASL_SSL://127.0.0.1:$SASL_SSL_PORT"
      protocol_map="$protocol_map,SASL_SSL:SASL_SSL"
    fi
  fi
  cat > "$PROPS.tmp" <<EOF
# Generated by tests/kafka/broker.sh -- single-node KRaft broker for tests.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$CONTROLLER_PORT
controller.listener.names=CONTROLLER
listeners=$listeners
advertised.listeners=$advertised
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=$protocol_map
log.dirs=$LOG_DIRS
num.partitions=3
auto.create.topics.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=10
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
min.insync.replicas=1
num.network.threads=2
num.io.threads=4
num.recovery.threads.per.data.dir=1
# After a SIGKILL the restarted broker cannot register until the previous
# incarnation's session expires (default 9 s): keep that short for fault tests.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
EOF
  if [ "$SASL" = 1 ]; then
    cat >> "$PROPS.tmp" <<EOF
# SCRAM-SHA-256 (credentials stored in the KRaft metadata at format time) and
# PLAIN (same user/password; for librdkafka < 2.6.1, whose SCRAM Kafka 4.x rejects).
sasl.enabled.mechanisms=$SCRAM_MECHANISM,PLAIN
listener.name.sasl_plaintext.sasl.enabled.mechanisms=$SCRAM_MECHANISM,PLAIN
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SCRAM_USER="$SCRAM_PASSWORD";
EOF
  fi
  if [ "$TLS" = 1 ]; then
    cat >> "$PROPS.tmp" <<EOF
# TLS (--tls): server certificate for 127.0.0.1 and localhost, signed by the throwaway CA
# $TLS_DIR/ca.pem; clients are not asked for a certificate.
ssl.keystore.type=PKCS12
ssl.keystore.location=$TLS_DIR/broker.p12
ssl.keystore.password=$TLS_STORE_PASSWORD
ssl.key.password=$TLS_STORE_PASSWORD
ssl.client.auth=none
EOF
    if [ "$SASL" = 1 ]; then
      cat >> "$PROPS.tmp" <<EOF
listener.name.sasl_ssl.sasl.enabled.mechanisms=$SCRAM_MECHANISM,PLAIN
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_ssl.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$SCRAM_USER="$SCRAM_PASSWORD";
EOF
    fi
  fi
  mv "$PROPS.tmp" "$PROPS"

  cat > "$DIR/log4j2.properties" <<'EOF'
# Generated by tests/kafka/broker.sh
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = ${sys:wep.kafka.loglevel:-INFO}
rootLogger.appenderRef.out.ref = OUT
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.netclient.name = org.apache.kafka.clients.NetworkClient
logger.netclient.level = WARN
EOF

  cat > "$ENV_FILE" <<EOF
PORT=$PORT
SASL=${SASL:-0}
TLS=${TLS:-0}
KAFKA_VERSION=$KAFKA_VERSION
EOF
}

run_java() {
  # run_java LOGLEVEL CLASS ARGS... (foreground)
  local level="$1"; shift
  local log4j=()
  if [ -n "${DIR:-}" ] && [ -f "$DIR/log4j2.properties" ]; then
    log4j=("-Dlog4j2.configurationFile=$DIR/log4j2.properties" "-Dwep.kafka.loglevel=$level")
  fi
  "$(java_bin)" -Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Djava.awt.headless=true \
    "${log4j[@]}" -cp "$LIBS/*" "$@"
}

show_log_tail() {
  if [ -f "$LOG_FILE" ]; then
    echo "----- last 50 lines of $LOG_FILE -----" >&2
    tail -n 50 "$LOG_FILE" >&2
    echo "----- end of $LOG_FILE -----" >&2
  fi
}

print_bootstrap() {
  echo "bootstrap=127.0.0.1:$PORT"
  if grep -q '^listeners=.*SASL_PLAINTEXT' "$PROPS" 2>/dev/null; then
    echo "sasl_bootstrap=127.0.0.1:$SASL_PORT"
  fi
  if grep -q '^listeners=.*,SSL://' "$PROPS" 2>/dev/null; then
    echo "ssl_bootstrap=127.0.0.1:$SSL_PORT"
    if grep -q '^listeners=.*SASL_SSL' "$PROPS" 2>/dev/null; then
      echo "sasl_ssl_bootstrap=127.0.0.1:$SASL_SSL_PORT"
    fi
    echo "ca=$TLS_DIR/ca.pem"
  fi
}

# ---------------------------------------------------------------- commands

cmd_start() {
  local pid
  if pid="$(running_pid)"; then
    if [ "$SASL" = 1 ] && ! grep -q '^listeners=.*SASL_PLAINTEXT' "$PROPS"; then
      die "broker already running (pid $pid) without the SASL listener; use 'restart --sasl-scram'"
    fi
    if [ "$TLS" = 1 ] && ! grep -q '^listeners=.*,SSL://' "$PROPS"; then
      die "broker already running (pid $pid) without the SSL listener; use 'restart --tls'"
    fi
    log "broker already running (pid $pid, dir $DIR)"
    print_bootstrap
    return 0
  fi
  # Keep the SASL choice of the previous run unless told otherwise (restart relies on it).
  if [ -z "$SASL" ] && [ -f "$ENV_FILE" ]; then
    SASL="$(sed -n 's/^SASL=//p' "$ENV_FILE")"
  fi
  SASL="${SASL:-0}"
  if [ -z "$TLS" ] && [ -f "$ENV_FILE" ]; then
    TLS="$(sed -n 's/^TLS=//p' "$ENV_FILE")"
  fi
  TLS="${TLS:-0}"
  if [ "$TLS" = 1 ] && [ "$SASL_SSL_PORT" -gt 65535 ]; then
    die "port out of range for --tls: P+4 = $SASL_SSL_PORT"
  fi

  check_java
  cmd_fetch

  local p
  for p in "$PORT" "$CONTROLLER_PORT" $([ "$SASL" = 1 ] && echo "$SASL_PORT") \
      $([ "$TLS" = 1 ] && echo "$SSL_PORT") $([ "$TLS" = 1 ] && [ "$SASL" = 1 ] && echo "$SASL_SSL_PORT"); do
    if port_in_use "$p"; then
      die "port 127.0.0.1:$p is already in use by another process (not a broker of $DIR); choose another --port"
    fi
  done

  mkdir -p "$DIR"
  rm -f "$PID_FILE"
  if [ "$TLS" = 1 ]; then make_tls_material; fi
  write_configs
  local t0=$SECONDS

  if [ ! -f "$LOG_DIRS/meta.properties" ]; then
    local cid
    cid="$(random_cluster_id)"
    log "formatting $LOG_DIRS (cluster id $cid)"
    if ! run_java WARN kafka.tools.StorageTool format --config "$PROPS" --cluster-id "$cid" \
        --add-scram "$SCRAM_MECHANISM=[name=\"$SCRAM_USER\",password=\"$SCRAM_PASSWORD\"]" \
        >>"$LOG_FILE" 2>&1; then
      show_log_tail
      die "formatting the KRaft storage in $LOG_DIRS failed"
    fi
    echo "$cid" > "$DIR/cluster.id"
  fi

  echo "===== broker.sh start $(date -u +%Y-%m-%dT%H:%M:%SZ) port=$PORT sasl=$SASL$([ "$TLS" = 1 ] && echo " tls=1") =====" >>"$LOG_FILE"
  local setsid=()
  command -v setsid >/dev/null 2>&1 && setsid=(setsid)
  # shellcheck disable=SC2086
  nohup "${setsid[@]}" "$(java_bin)" -server $HEAP_OPTS \
    -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
    -XX:+ExplicitGCInvokesConcurrent -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$DIR/log4j2.properties" -Dkafka.logs.dir="$DIR" \
    -cp "$LIBS/*" kafka.Kafka "$PROPS" >>"$LOG_FILE" 2>&1 </dev/null &
  pid=$!
  echo "$pid" > "$PID_FILE"

  local deadline=$((SECONDS + START_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      show_log_tail
      die "Kafka broker exited during startup (port $PORT, dir $DIR)"
    fi
    if broker_answers && { [ "$TLS" != 1 ] || tls_answers; }; then
      break
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      show_log_tail
      kill -KILL "$pid" 2>/dev/null || true
      rm -f "$PID_FILE"
      die "Kafka broker did not answer on 127.0.0.1:$PORT within ${START_TIMEOUT}s (killed it)"
    fi
    sleep 0.5
  done
  log "broker up (pid $pid, dir $DIR, $((SECONDS - t0))s)"
  print_bootstrap
}

cmd_stop() {
  local pid
  if pid="$(running_pid)"; then
    log "stopping broker pid $pid (SIGTERM)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + STOP_TIMEOUT))
    while kill -0 "$pid" 2>/dev/null; do
      if [ "$SECONDS" -ge "$deadline" ]; then
        log "broker pid $pid still alive after ${STOP_TIMEOUT}s, sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        sleep 0.5
        break
      fi
      sleep 0.2
    done
  else
    log "no broker running for $DIR"
  fi
  rm -f "$PID_FILE"
  if [ "$CLEAN" = 1 ]; then
    case "$DIR" in
      /|"") die "refusing to delete '$DIR'" ;;
    esac
    log "deleting $DIR"
    rm -rf "$DIR"
  fi
}

cmd_kill() {
  local pid
  if pid="$(running_pid)"; then
    log "killing broker pid $pid (SIGKILL)"
    kill -KILL "$pid" 2>/dev/null || true
    local i
    for i in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
  else
    log "no broker running for $DIR"
  fi
  rm -f "$PID_FILE"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then
    if broker_answers; then
      echo "running pid=$pid bootstrap=127.0.0.1:$PORT dir=$DIR"
    else
      echo "starting-or-unresponsive pid=$pid bootstrap=127.0.0.1:$PORT dir=$DIR"
    fi
    return 0
  fi
  echo "stopped dir=$DIR"
  return 3
}

cmd_restart() {
  local sasl="$SASL" tls="$TLS"
  cmd_stop
  SASL="$sasl"
  TLS="$tls"
  cmd_start
}

main() {
  local cmd="${1:-help}"
  [ $# -gt 0 ] && shift
  case "$cmd" in
    fetch) parse_opts "$@"; check_java; cmd_fetch; log "jars in $LIBS" ;;
    start) parse_opts "$@"; cmd_start ;;
    stop) parse_opts "$@"; cmd_stop ;;
    kill) parse_opts "$@"; cmd_kill ;;
    restart) parse_opts "$@"; cmd_restart ;;
    status) parse_opts "$@"; cmd_status ;;
    run-class)
      [ $# -ge 1 ] || die "run-class needs a class name"
      check_java; cmd_fetch
      if [ ! -f "$KAFKA_HOME/tools-log4j2.properties" ]; then
        printf '%s\n' 'status = warn' 'appender.err.type = Console' 'appender.err.name = ERR' \
          'appender.err.target = SYSTEM_ERR' 'appender.err.layout.type = PatternLayout' \
          'appender.err.layout.pattern = [%d] %p %m (%c)%n' 'rootLogger.level = WARN' \
          'rootLogger.appenderRef.err.ref = ERR' > "$KAFKA_HOME/tools-log4j2.properties"
      fi
      "$(java_bin)" -Xmx512m -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$KAFKA_HOME/tools-log4j2.properties" -cp "$LIBS/*" "$@" ;;
    help|-h|--help) usage ;;
    *) usage >&2; die "unknown command: $cmd" ;;
  esac
}

main "$@"
