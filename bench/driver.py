#!/usr/bin/env python3
"""wallet-eventd benchmark driver (bench/run.sh runs it).

Starts a Kafka broker of its own (tests/kafka/broker.sh), pre-loads realistic events and
measures the daemon, the publisher and the ABI, each beside a kcat baseline measured in the same
run, then prints a table and writes a Markdown report (docs/BENCHMARKS.md in full mode).

    bench/run.sh [--quick] [--build-dir DIR] [--no-build] [--port P] [--out FILE]

Standard library only. Every figure is measured here, in this run; nothing is copied in.
"""
import argparse
import atexit
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOLDEN = os.path.join(REPO, "tests", "golden", "wire", "valid")
BROKER_SH = os.path.join(REPO, "tests", "kafka", "broker.sh")
SUFFIXES = ["credential.offers", "credential.issuance", "credential.storage",
            "presentation.requests", "presentation.submissions", "key.operations"]
KCAT_PRODUCER = ["-X", "acks=all", "-X", "enable.idempotence=true", "-X", "linger.ms=5"]

# Targets (issue 7 / PRODUCT.md quality bar).
TARGET_NOOP = 0.8
TARGET_BUILTIN = 0.5
TARGET_PUBLISH = 0.9
TARGET_MEMORY = 1.1
TARGET_ABI = 1.1
NEWER_LIBRDKAFKA = os.path.join(REPO, "tests", "kafka", "newer-librdkafka.sh")


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def now_ns():
    return time.time_ns()


class Bench:
    def __init__(self, args):
        self.args = args
        self.quick = args.quick
        self.build = os.path.abspath(args.build_dir)
        self.port = args.port
        self.bootstrap = f"127.0.0.1:{self.port}"
        # Quick runs (CI's bench_quick) keep their own scratch directory, so that they never
        # replace the results.json of a full run that --render may be asked for later.
        kind = "wep-bench-quick" if args.quick else "wep-bench"
        self.work = os.path.abspath(args.work_dir or f"/tmp/{kind}-{self.port}")
        self.daemon_bin = os.path.join(self.build, "wallet-eventd")
        self.tool = os.path.join(self.build, "bench", "bench_tool")
        self.micro = os.path.join(self.build, "bench", "micro_bench")
        self.noop = os.path.join(self.build, "bench-plugins", "noop.so")
        self.plugin_dir = os.path.join(self.build, "plugins")
        self.procs = []
        self.broker_started = False
        self.seq = 0
        self.run_id = time.strftime("%H%M%S")
        q = self.quick
        self.n = args.events or (50_000 if q else 1_000_000)
        self.n_small = 10_000 if q else 100_000          # the small backlog for memory
        self.n_scale = 20_000 if q else 200_000          # per instance, scaling runs
        self.lat_rate = 5000
        self.lat_count = 15_000 if q else 100_000         # 3 s / 20 s at 5,000/s
        self.lat_warmup = 500
        self.results = {}
        self.notes = []
        self.kafka_dir, self.kafka_storage = self.broker_dir()

    def broker_dir(self):
        """The broker's log directory. The publish phase writes some 11 records per pre-loaded
        event within a minute; on this shared VM's disk the kernel's write-back throttled every
        producer by turns (the same kcat -P did 98k/s and 328k/s in one run), so the publish
        rates measured the disk. On tmpfs (/dev/shm), when it and the memory have room for all
        of it, they measure the clients and the broker; else the work directory."""
        disk = (os.path.join(self.work, "kafka"), "disk (the work directory)")
        need = self.n * 11 * 800 + 2**30  # records written x bytes with Kafka's overhead
        try:
            st = os.statvfs("/dev/shm")
            with open("/proc/meminfo") as f:
                avail = int(re.search(r"MemAvailable:\s+(\d+) kB", f.read()).group(1)) * 1024
        except (OSError, AttributeError):
            return disk
        if st.f_bavail * st.f_frsize < 1.5 * need or avail < need + 8 * 2**30:
            return disk
        return f"/dev/shm/wep-bench-{self.port}/kafka", "tmpfs (/dev/shm)"

    # ---- processes -------------------------------------------------------------------------
    def run(self, cmd, check=True, **kw):
        r = subprocess.run(cmd, capture_output=True, text=True, **kw)
        if check and r.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}")
        return r

    def popen(self, cmd, **kw):
        p = subprocess.Popen(cmd, **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    p.kill()
                    p.wait(timeout=10)
                except Exception:
                    pass
        if self.broker_started and not self.args.keep_broker:
            subprocess.run([BROKER_SH, "stop", "--port", str(self.port), "--dir", self.kafka_dir,
                            "--clean"], capture_output=True)
            self.broker_started = False
            if self.kafka_dir.startswith("/dev/shm/"):  # tmpfs holds memory until removed
                shutil.rmtree(os.path.dirname(self.kafka_dir), ignore_errors=True)

    # ---- setup -------------------------------------------------------------------------------
    def build_all(self):
        if self.args.no_build:
            return
        if not os.path.exists(os.path.join(self.build, "CMakeCache.txt")):
            log(f"configuring a Release build in {self.build}")
            subprocess.run(["cmake", "-S", REPO, "-B", self.build, "-G", "Ninja",
                            "-DCMAKE_BUILD_TYPE=Release", "-DWEP_BUILD_BENCH=ON"], check=True)
        log("building (target bench_all)")
        subprocess.run(["cmake", "--build", self.build, "--target", "bench_all"], check=True)

    def check_binaries(self):
        for f in [self.daemon_bin, self.tool, self.micro, self.noop]:
            if not os.path.exists(f):
                raise RuntimeError(f"{f} is missing: build target bench_all in {self.build}")
        for p in ["audit", "metrics", "notification", "security"]:
            if not os.path.exists(os.path.join(self.plugin_dir, p + ".so")):
                raise RuntimeError(f"built-in plugin {p}.so missing in {self.plugin_dir}")
        if shutil.which("kcat") is None:
            raise RuntimeError("kcat is not installed (Debian: apt-get install kcat)")

    def start_broker(self):
        subprocess.run([BROKER_SH, "stop", "--port", str(self.port), "--dir", self.kafka_dir,
                        "--clean"], capture_output=True)
        log(f"starting Kafka on {self.bootstrap} ({self.kafka_dir})")
        self.broker_started = True
        r = self.run([BROKER_SH, "start", "--port", str(self.port), "--dir", self.kafka_dir])
        if "bootstrap=" not in r.stdout:
            raise RuntimeError("broker did not start:\n" + r.stderr)

    def topics(self, prefix):
        return [f"{prefix}.{s}" for s in SUFFIXES]

    def create_topics(self, *prefixes, extra=()):
        names = []
        for p in prefixes:
            names += self.topics(p) + [f"{p}.dlq", f"{p}.security.alerts"]
        names += list(extra)
        self.run([self.tool, "topics", "--bootstrap", self.bootstrap, "--partitions", "3"] + names)

    # ---- daemon ------------------------------------------------------------------------------
    def write_config(self, name, prefix, group, plugins, batch_size=None, consumer_props=None):
        path = os.path.join(self.work, f"{name}.yaml")
        state = os.path.join(self.work, "state", name)
        os.makedirs(state, exist_ok=True)
        lines = [
            "bus:",
            f"  bootstrap_servers: \"{self.bootstrap}\"",
            "  consumer_properties: " + json.dumps(consumer_props or {}),
            "topics:",
            f"  prefix: {prefix}",
            "  create: false",
            "consumer:",
            f"  group_prefix: {group}",
        ]
        if batch_size:
            lines.append(f"  batch_size: {batch_size}")
        lines += [
            "admin:",
            "  listen: \"127.0.0.1:0\"",
            "logging:",
            "  level: info",
            f"state_dir: {state}",
            f"plugin_dir: {self.plugin_dir}",
            "plugins:",
        ]
        for p in plugins:
            lines.append(f"  - name: {p['name']}")
            lines.append(f"    path: {p['path']}")
            if "retry" in p:
                lines.append("    retry: " + json.dumps(p["retry"]))
            lines.append(f"    config: {json.dumps(p.get('config', {}))}")
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        return path

    def noop_plugin(self, name, out, expect=0, latency=False, skip=0):
        cfg = {"output": out, "expect": expect}
        if latency:
            cfg.update({"latency": True, "latency_skip": skip})
        return {"name": name, "path": self.noop, "config": cfg}

    def start_daemon(self, config, tag, env=None):
        logf = open(os.path.join(self.work, f"daemon-{tag}.log"), "w")
        t0 = now_ns()
        p = self.popen([self.daemon_bin, "run", "--config", config], stdout=logf,
                       stderr=subprocess.STDOUT, env=env)
        p.bench_log = logf.name
        p.bench_t0 = t0
        return p

    def stop_daemon(self, p):
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if p in self.procs:
            self.procs.remove(p)

    def admin_port(self, p, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if p.poll() is not None:
                raise RuntimeError(f"daemon exited {p.returncode}; see {p.bench_log}")
            with open(p.bench_log) as f:
                m = re.search(r"admin endpoint on .*\(port (\d+)\)", f.read())
            if m:
                return int(m.group(1))
            time.sleep(0.05)
        raise RuntimeError(f"no admin endpoint in {p.bench_log}")

    @staticmethod
    def proc_status(pid):
        out = {}
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if k in ("VmRSS", "VmHWM"):
                        out[k] = int(v.split()[0]) * 1024
        except OSError:
            pass
        return out

    @staticmethod
    def read_figures(path):
        out = {}
        try:
            with open(path) as f:
                for line in f:
                    k, _, v = line.strip().partition(" ")
                    if k:
                        out[k] = int(v)
        except (OSError, ValueError):
            pass
        return out

    def wait_files(self, procs, files, want, timeout, each=True):
        """Polls noop output files until every file (each=True) or their sum reaches `want`."""
        deadline = time.time() + timeout
        while True:
            figs = [self.read_figures(f) for f in files]
            counts = [g.get("count", 0) for g in figs]
            if (each and all(c >= want for c in counts)) or (not each and sum(counts) >= want):
                return figs
            for p in procs:
                if p.poll() is not None:
                    raise RuntimeError(f"daemon exited {p.returncode}; see {p.bench_log}")
            if time.time() > deadline:
                raise RuntimeError(f"timeout: counts {counts}, want {want}")
            time.sleep(0.02)

    def metrics(self, port):
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
            text = r.read().decode()
        series = {}
        for line in text.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
            if not m:
                continue
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            series.setdefault(m.group(1), []).append((labels, float(m.group(3))))
        return series

    @staticmethod
    def by_instance(series, name, **match):
        out = {}
        for labels, v in series.get(name, []):
            if all(labels.get(k) == want for k, want in match.items()):
                inst = labels.get("instance", "")
                out[inst] = out.get(inst, 0) + v
        return out

    # ---- kcat baselines ----------------------------------------------------------------------
    def kcat_consume(self, prefix, n, tag):
        """kcat -C (balanced consumer, -e) over the six topics; rate from first to last."""
        group = f"kcat-{tag}-{self.run_id}-{self.next_seq()}"
        t0 = now_ns()
        # fetch.wait.max.ms=10: without it the last ~600 lines sit in kcat's stdout buffer
        # until -e has seen EOF on every partition, which waits the broker's 500 ms fetch wait.
        kc = self.popen(["kcat", "-b", self.bootstrap, "-G", group, "-o", "beginning", "-e", "-q",
                         "-X", "fetch.wait.max.ms=10", "-f", "%o\n"]
                        + self.topics(prefix), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        cnt = self.run([self.tool, "count", "--expect", str(n), "--idle-timeout", "120"],
                       stdin=kc.stdout)
        kc.stdout.close()
        kc.wait(timeout=60)
        self.procs.remove(kc)
        f = {}
        for line in cnt.stdout.splitlines():
            k, _, v = line.partition(" ")
            f[k] = int(v)
        if f.get("count", 0) < n:
            raise RuntimeError(f"kcat read {f.get('count')} of {n} records")
        steady = n / max(1e-9, (f["last_ns"] - f["first_ns"]) / 1e9)
        wall = n / max(1e-9, (f["last_ns"] - t0) / 1e9)
        return {"steady": steady, "wall": wall, "seconds": (f["last_ns"] - f["first_ns"]) / 1e9}

    def newer_librdkafka(self):
        """librdkafka 2.10.0 built once per machine (tests/kafka/newer-librdkafka.sh), loaded
        with LD_LIBRARY_PATH in place of Debian's 2.0.2; None (and a note) if it cannot be."""
        r = self.run([NEWER_LIBRDKAFKA], check=False)
        lib = r.stdout.strip().splitlines()[-1] if r.returncode == 0 and r.stdout.strip() else ""
        if not lib or not os.path.exists(os.path.join(lib, "librdkafka.so.1")):
            self.notes.append("the librdkafka 2.10.0 runs were skipped: "
                              f"{NEWER_LIBRDKAFKA} failed: {r.stderr.strip()[-300:]}")
            return None
        env = dict(os.environ)
        env["LD_LIBRARY_PATH"] = lib + (":" + env["LD_LIBRARY_PATH"]
                                        if env.get("LD_LIBRARY_PATH") else "")
        ldd = self.run(["ldd", self.daemon_bin], check=False, env=env).stdout
        if os.path.join(lib, "librdkafka.so.1") not in ldd:
            self.notes.append(f"the librdkafka 2.10.0 runs were skipped: the daemon does not "
                              f"load {lib}/librdkafka.so.1 with LD_LIBRARY_PATH")
            return None
        return {"env": env, "lib": lib, "version": "librdkafka 2.10.0"}

    def next_seq(self):
        self.seq += 1
        return self.seq

    # ---- 1. consume -> validate -> dispatch --------------------------------------------------
    def consume_noop(self, prefix, n, tag, consumer_props=None, batch_size=None, env=None):
        out = os.path.join(self.work, f"noop-{tag}.txt")
        if os.path.exists(out):
            os.remove(out)
        cfg = self.write_config(tag, prefix, f"b-{tag}-{self.run_id}",
                                [self.noop_plugin("noop", out, expect=n)],
                                consumer_props=consumer_props, batch_size=batch_size)
        p = self.start_daemon(cfg, tag, env)
        figs = self.wait_files([p], [out], n, timeout=900)[0]
        # The peak is read once the validator group (nice 19: it may finish after the instance,
        # and its queue fills meanwhile) has been through the backlog too.
        validator_after = self.validator_done(p, n, figs["last_ns"])
        st = self.proc_status(p.pid)
        self.stop_daemon(p)
        secs = (figs["last_ns"] - figs["first_ns"]) / 1e9
        return {"steady": n / max(1e-9, secs), "wall": n / max(1e-9, (figs["last_ns"] - p.bench_t0) / 1e9),
                "seconds": secs, "hwm": st.get("VmHWM", 0), "rss": st.get("VmRSS", 0),
                "validator_after": validator_after}

    def validator_done(self, p, n, last_ns, timeout=120):
        """Seconds from the instance's last event until the validator group (which runs at nice
        19, after the instances) had checked all n records; 0 if it was done first."""
        port = self.admin_port(p)
        deadline = time.time() + timeout
        while time.time() < deadline:
            s = self.metrics(port)
            checked = sum(v for _, v in s.get("wallet_eventd_records_total", [])) + sum(
                v for _, v in s.get("wallet_eventd_invalid_records_total", []))
            if checked >= n:
                return max(0.0, (now_ns() - last_ns) / 1e9)
            time.sleep(0.02)
        return None

    def end_offsets(self, topic, partitions=3):
        """Records in `topic` (each of the driver's topics is written once, from offset 0)."""
        r = self.run(["kcat", "-b", self.bootstrap, "-Q"] +
                     [a for part in range(partitions) for a in ("-t", f"{topic}:{part}:-1")])
        found = re.findall(r"\[(\d+)\] offset (-?\d+)", r.stdout)
        if len(found) != partitions:
            raise RuntimeError(f"kcat -Q {topic}: {r.stdout} {r.stderr}")
        return sum(max(0, int(off)) for _, off in found)

    def instance_records(self, p, names, n, timeout=30):
        """Records each instance will read: those of the topics of its event types, which the
        daemon names as it starts the instance."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(p.bench_log) as f:
                found = dict(re.findall(r"instance (\S+) \(plugin .*?\) consuming (.*?) ?as group",
                                        f.read()))
            if all(i in found for i in names):
                if not all(found.values()):  # an older daemon: every instance reads every topic
                    return {i: n for i in names}
                ends = {}
                out = {}
                for i in names:
                    topics = found[i].split(", ")
                    for t in topics:
                        if t not in ends:
                            ends[t] = self.end_offsets(t)
                    out[i] = sum(ends[t] for t in topics)
                return out
            if p.poll() is not None:
                raise RuntimeError(f"daemon exited {p.returncode}; see {p.bench_log}")
            time.sleep(0.05)
        raise RuntimeError(f"instances {names} not started in {p.bench_log}")

    def consume_builtin(self, prefix, n, sink_port, batch_size=None, env=None, tag="builtin"):
        audit_dir = os.path.join(self.work, "audit")
        shutil.rmtree(audit_dir, ignore_errors=True)
        plugins = [
            {"name": "audit", "path": "audit", "config": {"directory": audit_dir, "fsync": True}},
            {"name": "metrics", "path": "metrics", "config": {}},
            {"name": "notification", "path": "notification",
             "config": {"default_endpoint": f"http://127.0.0.1:{sink_port}/notify",
                        "default_token": "bench-token"}},
            {"name": "security", "path": "security",
             "config": {"issuer_allowlist": ["https://issuer.example.com"]}},
        ]
        cfg = self.write_config(tag, prefix, f"b-{tag}-{self.run_id}", plugins,
                                batch_size=batch_size)
        p = self.start_daemon(cfg, tag, env)
        port = self.admin_port(p)
        names = [x["name"] for x in plugins]
        # Each instance reads only the topics of its types (notification: the credential ones).
        expected = self.instance_records(p, names, n)
        first = None
        finished = {}  # instance -> seconds from the first event to its last
        deadline = time.time() + 1800
        while True:
            s = self.metrics(port)
            done = self.by_instance(s, "wallet_eventd_handler_events_total", result="done")
            failed = self.by_instance(s, "wallet_eventd_handler_events_total", result="failed")
            dlq = self.by_instance(s, "wallet_eventd_dead_lettered_total")
            skipped = self.by_instance(s, "wallet_eventd_records_skipped_total")
            resolved = {i: done.get(i, 0) + dlq.get(i, 0) + skipped.get(i, 0) for i in names}
            t = now_ns()
            if first is None and any(v > 0 for v in resolved.values()):
                first = t
            for i in names:
                if i not in finished and resolved[i] >= expected[i] and first is not None:
                    finished[i] = (t - first) / 1e9
            if all(resolved[i] >= expected[i] for i in names):
                break
            if p.poll() is not None:
                raise RuntimeError(f"daemon exited {p.returncode}; see {p.bench_log}")
            if time.time() > deadline:
                raise RuntimeError(f"timeout: resolved {resolved}")
            time.sleep(0.05)
        st = self.proc_status(p.pid)
        self.stop_daemon(p)
        secs = (t - first) / 1e9
        return {"steady": n / max(1e-9, secs), "wall": n / max(1e-9, (t - p.bench_t0) / 1e9),
                "seconds": secs, "hwm": st.get("VmHWM", 0),
                "done": {i: int(done.get(i, 0)) for i in names},
                "dead_lettered": {i: int(dlq.get(i, 0)) for i in names},
                "failed": {i: int(failed.get(i, 0)) for i in names},
                "skipped": {i: int(skipped.get(i, 0)) for i in names},
                "read": expected, "finished_s": finished}

    # ---- 2. publish --------------------------------------------------------------------------
    def publish_cli(self, prefix, ndjson):
        cfg = self.write_config(f"pub-{prefix}", prefix, "pub", [])
        t0 = time.monotonic()
        r = self.run([self.daemon_bin, "publish", "--config", cfg, ndjson])
        secs = time.monotonic() - t0
        m = re.search(r"published (\d+), invalid (\d+), not delivered (\d+)", r.stderr)
        if not m or int(m.group(2)) or int(m.group(3)):
            raise RuntimeError("publish: " + r.stderr[-500:])
        return int(m.group(1)), secs

    def publish_api(self, prefix, ndjson, deliveries="library"):
        t0 = time.monotonic()
        r = self.run([self.tool, "pub-api", "--bootstrap", self.bootstrap, "--prefix", prefix,
                      "--in", ndjson, "--deliveries", deliveries])
        wall = time.monotonic() - t0
        m = re.search(r"events (\d+) seconds (\S+) failed (\d+)", r.stdout)
        return int(m.group(1)), float(m.group(2)), wall

    @staticmethod
    def wire_headers(kcat_file):
        """kcat -H arguments for the wire format's four headers, valued from the file's first
        record: kcat gives every record of a run the same headers; ours are per record, of the
        same names and sizes."""
        with open(kcat_file) as fh:
            key, _, value = fh.readline().rstrip("\n").partition("\t")
        ev = json.loads(value)
        md = ev["payload"]["metadata"]
        args = []
        for name, val in (("event_type", ev["event_type"]), ("correlation_id", md["correlation_id"]),
                          ("wallet_id", key), ("schema_version", md["schema_version"])):
            args += ["-H", f"{name}={val}"]
        return args

    def publish_kcat(self, prefix, kcat_prefix, headers=True):
        total, secs = 0, 0.0
        for s in SUFFIXES:
            f = f"{kcat_prefix}.{s}"
            if not os.path.exists(f):
                continue
            with open(f) as fh:
                total += sum(1 for _ in fh)
            hdrs = self.wire_headers(f) if headers else []
            t0 = time.monotonic()
            self.run(["kcat", "-P", "-b", self.bootstrap, "-t", f"{prefix}.{s}", "-K", "\t",
                      "-l"] + KCAT_PRODUCER + hdrs + [f])
            secs += time.monotonic() - t0
        # One kcat start-up (a one-line file) to count it once, as for `wallet-eventd publish`.
        one = os.path.join(self.work, "one-line.txt")
        with open(one, "w") as fh:
            fh.write("k\t{}\n")
        t0 = time.monotonic()
        self.run(["kcat", "-P", "-b", self.bootstrap, "-t", f"{prefix}.startup", "-K", "\t", "-l"]
                 + KCAT_PRODUCER + [one])
        startup = time.monotonic() - t0
        files = sum(1 for s in SUFFIXES if os.path.exists(f"{kcat_prefix}.{s}"))
        return total, secs, startup, max(1e-9, secs - (files - 1) * startup)

    # ---- 3. latency --------------------------------------------------------------------------
    def latency_daemon(self, prefix):
        tag = "latency"
        out = os.path.join(self.work, "noop-latency.txt")
        if os.path.exists(out):
            os.remove(out)
        w, m = self.lat_warmup, self.lat_count
        cfg = self.write_config(tag, prefix, f"b-{tag}-{self.run_id}",
                                [self.noop_plugin("noop", out, expect=w + m, latency=True, skip=w)])
        p = self.start_daemon(cfg, tag)
        pace = [self.tool, "pace", "--bootstrap", self.bootstrap, "--prefix", prefix, "--golden",
                GOLDEN, "--rate", str(self.lat_rate)]
        self.run(pace + ["--count", str(w)])
        self.wait_files([p], [out], w, timeout=120)
        self.run(pace + ["--count", str(m)])
        figs = self.wait_files([p], [out], w + m, timeout=120)[0]
        self.stop_daemon(p)
        # The daemon writes the figures at `expect`; the final file holds the same percentiles.
        figs = self.read_figures(out) or figs
        return figs

    def latency_kcat(self, topic):
        w, m = self.lat_warmup, self.lat_count
        kc = self.popen(["kcat", "-C", "-b", self.bootstrap, "-t", topic, "-o", "end", "-u", "-q",
                         "-f", "%s\n"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        recv = self.popen([self.tool, "lat-recv", "--count", str(w + m), "--skip", str(w),
                           "--idle-timeout", "20"], stdin=kc.stdout, stdout=subprocess.PIPE,
                          text=True)
        kc.stdout.close()
        time.sleep(3)  # kcat -C has the partitions and sits at their end
        pace = self.popen([self.tool, "pace", "--kcat-lines", "--golden", GOLDEN, "--rate",
                           str(self.lat_rate), "--count", str(w + m)], stdout=subprocess.PIPE)
        kp = self.popen(["kcat", "-P", "-b", self.bootstrap, "-t", topic, "-K", "\t"]
                        + KCAT_PRODUCER, stdin=pace.stdout, stderr=subprocess.DEVNULL)
        pace.stdout.close()
        out, _ = recv.communicate(timeout=600)
        pace.wait(timeout=60)
        kp.wait(timeout=60)
        kc.kill()
        kc.wait()
        for x in (kc, recv, pace, kp):
            self.procs.remove(x)
        figs = {}
        for line in out.splitlines():
            k, _, v = line.partition(" ")
            figs[k] = int(v)
        if not figs.get("complete"):
            self.notes.append("kcat latency run did not receive every record")
        return figs

    # ---- 4. memory ---------------------------------------------------------------------------
    def idle_rss(self, prefix):
        out = os.path.join(self.work, "noop-idle.txt")
        cfg = self.write_config("idle", prefix, f"b-idle-{self.run_id}",
                                [self.noop_plugin("noop", out)])
        p = self.start_daemon(cfg, "idle")
        self.admin_port(p)
        time.sleep(5)  # consumers joined their groups, nothing to read
        st = self.proc_status(p.pid)
        self.stop_daemon(p)
        return st

    # ---- 5. scaling --------------------------------------------------------------------------
    def scaling_instances(self, prefix, n, k):
        tag = f"scale{k}"
        outs = [os.path.join(self.work, f"noop-{tag}-{i}.txt") for i in range(k)]
        for o in outs:
            if os.path.exists(o):
                os.remove(o)
        cfg = self.write_config(tag, prefix, f"b-{tag}-{self.run_id}",
                                [self.noop_plugin(f"noop{i}", outs[i], expect=n) for i in range(k)])
        p = self.start_daemon(cfg, tag)
        figs = self.wait_files([p], outs, n, timeout=1800)
        st = self.proc_status(p.pid)
        self.stop_daemon(p)
        secs = (max(f["last_ns"] for f in figs) - min(f["first_ns"] for f in figs)) / 1e9
        return {"per_instance": n / secs, "aggregate": k * n / secs, "seconds": secs,
                "hwm": st.get("VmHWM", 0)}

    def scaling_daemons(self, prefix, n, d):
        """d daemons, one group prefix. Each noop holds (RETRY) its first batch until every
        daemon holds one, i.e. all joined and own partitions; then they start together."""
        tag = f"daemons{d}"
        group = f"b-{tag}-{self.run_id}"
        skip = 1000
        gate = os.path.join(self.work, f"gate-{tag}")
        if os.path.exists(gate):
            os.remove(gate)
        outs, procs = [], []
        for i in range(d):
            o = os.path.join(self.work, f"noop-{tag}-{i}.txt")
            if os.path.exists(o):
                os.remove(o)
            outs.append(o)
            plugin = self.noop_plugin("noop", o)
            plugin["config"]["hold_file"] = gate
            # After the hold (a RETRY wait pauses the partitions) the pipeline's consumer
            # stalls up to fetch.wait.max.ms twice: time from the 1000th event on.
            plugin["config"]["timing_skip"] = skip
            plugin["retry"] = {"max_attempts": 1000, "initial_backoff_ms": 20,
                               "max_backoff_ms": 20, "multiplier": 1.0}
            cfg = self.write_config(f"{tag}-{i}", prefix, group, [plugin])
            procs.append(self.start_daemon(cfg, f"{tag}-{i}"))
        deadline = time.time() + 60
        while not all(self.read_figures(o).get("held") for o in outs):
            if time.time() > deadline:
                raise RuntimeError("daemons did not all get partitions within 60 s")
            time.sleep(0.05)
        time.sleep(1.0)  # the last join's rebalance has settled
        open(gate, "w").close()
        self.wait_files(procs, outs, n, timeout=1800, each=False)
        time.sleep(1.2)  # the last flush hook rewrites the final figures
        figs = [self.read_figures(o) for o in outs]
        for p in procs:
            self.stop_daemon(p)
        active = [f for f in figs if f.get("first_ns", 0) > 0]
        secs = (max(f["last_ns"] for f in active) - min(f["first_ns"] for f in active)) / 1e9
        timed = sum(f["count"] - skip for f in active)
        return {"rate": timed / secs, "seconds": secs, "counts": [f.get("count", 0) for f in figs]}

    # ---- 6. micro ----------------------------------------------------------------------------
    def micro_bench(self):
        min_time = "0.05" if self.quick else "0.3"
        r = self.run([self.micro, "--benchmark_filter=^(decode_compact/|check_compact/|dispatch/)",
                      "--benchmark_format=json", f"--benchmark_min_time={min_time}",
                      f"--noop-plugin={self.noop}"])
        data = json.loads(r.stdout)
        decode, check, dispatch = {}, {}, {}
        for b in data["benchmarks"]:
            name = b["name"]
            if b.get("error_occurred"):
                raise RuntimeError(f"micro_bench {name}: {b.get('error_message')}")
            unit = {"ns": 1, "us": 1e3, "ms": 1e6}[b.get("time_unit", "ns")]
            if name.startswith("decode_compact/"):
                decode[name.split("/", 1)[1]] = (b["cpu_time"] * unit,
                                                 b.get("bytes_per_second", 0))
            elif name.startswith("check_compact/"):
                check[name.split("/", 1)[1]] = b["cpu_time"] * unit
            elif name.startswith("dispatch/"):
                parts = name.split("/")
                kind, batch = parts[1], int(parts[2])
                dispatch[f"{kind}/{batch}"] = 1e9 / b["items_per_second"]
        return decode, check, dispatch

    # ---- the whole run -----------------------------------------------------------------------
    def environment(self):
        env = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
               "mode": "quick" if self.quick else "full", "nproc": os.cpu_count()}
        try:
            with open("/proc/cpuinfo") as f:
                m = re.search(r"model name\s*:\s*(.*)", f.read())
                env["cpu"] = m.group(1).strip() if m else platform.processor()
            with open("/proc/meminfo") as f:
                m = re.search(r"MemTotal:\s*(\d+)", f.read())
                env["ram"] = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB"
        except OSError:
            pass
        env["kernel"] = platform.release()
        env["load_start"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        kv = self.run(["kcat", "-V"], check=False).stdout
        m = re.search(r"Version (\S+) .*librdkafka (\S+)", kv)
        env["kcat"] = f"kcat {m.group(1)} (librdkafka {m.group(2)})" if m else kv.strip()
        env["librdkafka"] = self.run(["pkg-config", "--modversion", "rdkafka"],
                                     check=False).stdout.strip() or "?"
        env["kafka"] = os.environ.get("WEP_KAFKA_VERSION", "4.4.0")
        env["kafka_storage"] = self.kafka_storage
        cxx, btype = "?", "?"
        try:
            with open(os.path.join(self.build, "CMakeCache.txt")) as f:
                cache = f.read()
            m = re.search(r"CMAKE_CXX_COMPILER:\w+=(.*)", cache)
            if m:
                cxx = self.run([m.group(1), "--version"], check=False).stdout.splitlines()[0]
            m = re.search(r"CMAKE_BUILD_TYPE:\w+=(.*)", cache)
            btype = m.group(1) if m else "?"
        except (OSError, IndexError):
            pass
        env["compiler"], env["build_type"] = cxx, btype
        env["daemon"] = self.run([self.daemon_bin, "--version"], check=False).stdout.strip()
        return env

    def go(self):
        t_start = time.monotonic()
        self.build_all()
        self.check_binaries()
        os.makedirs(self.work, exist_ok=True)
        env = self.environment()
        R = self.results
        R["env"] = env
        self.start_broker()
        n = self.n
        sink = None

        # Events: N realistic ones (golden events varied over wallets and ids).
        ev = os.path.join(self.work, f"events-{n}.ndjson")
        kc = os.path.join(self.work, f"kcat-{n}")
        log(f"generating {n} events")
        self.run([self.tool, "gen", "--golden", GOLDEN, "--count", str(n), "--out", ev,
                  "--kcat-out", kc])
        small = os.path.join(self.work, f"events-{self.n_small}.ndjson")
        scale = os.path.join(self.work, f"events-{self.n_scale}.ndjson")
        self.run([self.tool, "gen", "--golden", GOLDEN, "--count", str(self.n_small), "--out", small])
        self.run([self.tool, "gen", "--golden", GOLDEN, "--count", str(self.n_scale), "--out", scale])
        R["event_bytes"] = os.path.getsize(ev) / n
        self.create_topics("pc", "pub1", "pub2", "mem", "scale", "lat", "idle",
                           extra=["lk", "pub1.startup", "pub2.startup"])

        # Pre-load of the consume topics (untimed); it also warms the fresh broker's JVM up.
        log(f"pre-loading {n} events (C++ Publisher API, untimed)")
        self.publish_api("pc", ev, "caller")

        # 2. publish: two rounds, alternating, the better of each (the machine is shared).
        log("publish: wallet-eventd publish, C++ Publisher API (both delivery modes), kcat -P "
            "(2 rounds)")
        cli_s, api_s, apic_s, api_wall, k_s, k_sum, k_start = [], [], [], [], [], [], []
        kp_s = []  # kcat -P without headers, for reference
        for rnd in (1, 2):
            order = (["cli", "api", "apic", "kcat", "kcat-plain"] if rnd == 1
                     else ["kcat-plain", "kcat", "apic", "api", "cli"])
            for who in order:
                if who == "cli":
                    _, secs = self.publish_cli(f"pub{rnd}", ev)
                    cli_s.append(secs)
                elif who == "api":
                    _, secs, wall = self.publish_api(f"pub{rnd}", ev)
                    api_s.append(secs)
                    api_wall.append(wall)
                elif who == "apic":
                    _, secs, _ = self.publish_api(f"pub{rnd}", ev, "caller")
                    apic_s.append(secs)
                elif who == "kcat":
                    k_total, raw, start, corrected = self.publish_kcat(f"pub{rnd}", kc)
                    k_s.append(corrected)
                    k_sum.append(raw)
                    k_start.append(start)
                else:
                    _, _, _, corrected = self.publish_kcat(f"pub{rnd}", kc, headers=False)
                    kp_s.append(corrected)
        R["publish"] = {"n": n, "cli": n / min(cli_s), "api": n / min(api_s),
                        "api_caller": n / min(apic_s),
                        "api_wall": n / min(api_wall), "kcat": k_total / min(k_s),
                        "kcat_raw": k_total / min(k_sum), "kcat_startup_ms": min(k_start) * 1000,
                        "kcat_plain": k_total / min(kp_s),
                        "rounds": {"cli_s": cli_s, "api_s": api_s, "api_caller_s": apic_s,
                                   "kcat_s": k_s, "kcat_plain_s": kp_s}}
        # Pre-loads for memory and scaling (not timed).
        self.publish_api("mem", small, "caller")
        self.publish_api("scale", scale, "caller")

        # 1. consume -> validate -> dispatch.
        log(f"consume: kcat -C over {n} records")
        k1 = self.kcat_consume("pc", n, "before")
        log("consume: daemon + 1 noop instance")
        noop = self.consume_noop("pc", n, "noop")
        va = noop.get("validator_after")
        self.notes.append(
            "The validator group (it dead-letters invalid records for all instances and runs at "
            "nice 19, so that instances get the CPU first) had checked the no-op run's records "
            + (f"{va:.2f} s after the instance's last event." if va is not None
               else "only after more than 120 s (or never)."))
        log("consume: kcat -C (between)")
        k_mid = self.kcat_consume("pc", n, "between")
        log("consume: daemon + audit, metrics, notification, security")
        sink = self.popen([self.tool, "sink"], stdout=subprocess.PIPE, text=True)
        sink_port = int(sink.stdout.readline().split()[1])
        builtin = self.consume_builtin("pc", n, sink_port)
        newer = self.newer_librdkafka()
        noop_new = builtin_new = None
        if newer:
            log(f"consume: noop and the built-ins with {newer['version']} loaded")
            noop_new = self.consume_noop("pc", n, "noop-newer", env=newer["env"])
            builtin_new = self.consume_builtin("pc", n, sink_port, env=newer["env"],
                                               tag="builtin-newer")
        sink.send_signal(signal.SIGTERM)
        sink_out = sink.communicate(timeout=30)[0]
        self.procs.remove(sink)
        m = re.search(r"requests (\d+)", sink_out)
        builtin["sink_requests"] = int(m.group(1)) if m else -1
        log(f"consume: kcat -C again")
        k2 = self.kcat_consume("pc", n, "after")
        runs = sorted([k1, k_mid, k2], key=lambda k: k["steady"])
        kcat_rate = runs[1]["steady"]  # the median of three
        kcat_wall = sorted(k["wall"] for k in runs)[1]
        R["consume"] = {"n": n, "kcat": [k1, k_mid, k2], "kcat_rate": kcat_rate,
                        "kcat_wall": kcat_wall, "noop_newer": noop_new,
                        "builtin_newer": builtin_new, "newer": newer and newer["version"],
                        "noop": noop, "builtin": builtin}

        # 3. latency.
        log(f"latency: {self.lat_count} events at {self.lat_rate}/s through the daemon")
        ld = self.latency_daemon("lat")
        log("latency: the same through kcat -P -> kcat -C")
        lk = self.latency_kcat("lk")
        R["latency"] = {"daemon": ld, "kcat": lk, "rate": self.lat_rate, "count": self.lat_count}

        # 4. memory.
        log("memory: idle, then peaks with a small and a large backlog (3 runs each)")
        idle = self.idle_rss("idle")

        # A bounded daemon's RSS rises and falls with the fetch responses in flight, so one
        # run's peak is one draw: each figure is the median peak of three runs (the consume
        # run above is the first of the large ones).
        # The large runs are the consume run's two repeats: their rates give the no-op row
        # the same median of three that kcat's baseline has.
        def median_hwm(prefix, count, tag, first=None, env=None):
            runs = [first] if first else []
            while len(runs) < 3:
                runs.append(self.consume_noop(prefix, count, f"{tag}-{len(runs)}", env=env))
            return (sorted(r["hwm"] for r in runs)[1], [r["hwm"] for r in runs],
                    [r["steady"] for r in runs])

        small_hwm, small_runs, _ = median_hwm("mem", self.n_small, "mem-small")
        large_hwm, large_runs, R["consume"]["noop_rates"] = median_hwm("pc", n, "mem-large",
                                                                       first=noop)
        newer_small = newer_large = None
        if newer:
            log(f"memory: the same with {newer['version']} loaded")
            newer_small = median_hwm("mem", self.n_small, "mem-small-newer", env=newer["env"])
            newer_large = median_hwm("pc", n, "mem-large-newer", first=noop_new,
                                     env=newer["env"])
            R["consume"]["noop_newer_rates"] = newer_large[2]
        R["memory"] = {"idle_rss": idle.get("VmRSS", 0), "idle_hwm": idle.get("VmHWM", 0),
                       "newer_small_hwm": newer_small and newer_small[0],
                       "newer_large_hwm": newer_large and newer_large[0],
                       "small_n": self.n_small, "small_hwm": small_hwm, "small_runs": small_runs,
                       "large_n": n, "large_hwm": large_hwm, "large_runs": large_runs}

        # 5. scaling.
        R["scaling"] = {"n": self.n_scale, "instances": {}, "daemons": {}}
        for k in (1, 4, 16):
            log(f"scaling: {k} noop instance(s) over {self.n_scale} events")
            R["scaling"]["instances"][k] = self.scaling_instances("scale", self.n_scale, k)
        for d in (1, 2):
            log(f"scaling: {d} daemon(s) in one group")
            R["scaling"]["daemons"][d] = self.scaling_daemons("scale", self.n_scale, d)
        log("scaling: kcat -C over the same topics")
        R["scaling"]["kcat"] = self.kcat_consume("scale", self.n_scale, "scale")

        # 6. micro.
        log("micro_bench: decoding per event type, ABI dispatch")
        decode, check, dispatch = self.micro_bench()
        R["micro"] = {"decode": decode, "check": check, "dispatch": dispatch}

        env["load_end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
        env["duration"] = f"{time.monotonic() - t_start:.0f} s"
        return R


# ---- report ------------------------------------------------------------------------------------
def fmt_rate(x):
    return f"{x:,.0f}/s"


def met(ratio, target, higher=True):
    ok = ratio >= target if higher else ratio <= target
    return "met" if ok else "**missed**"


def mib(b):
    return f"{b / 1024 / 1024:.1f} MiB"


def render(R, notes, analysis):
    env = R["env"]
    c, p, l, m, s, mi = (R["consume"], R["publish"], R["latency"], R["memory"], R["scaling"],
                         R["micro"])
    rows = []  # (measure, ours, baseline, ratio, target, verdict)

    def row(measure, ours, base, ratio, target, verdict):
        rows.append((measure, ours, base, ratio, target, verdict))

    # The no-op rate is the median of its three runs, as kcat's is (results written before
    # the repeats were kept have the one run).
    def noop_rate(key):
        rates = c.get(key + "_rates") or [c[key]["steady"]]
        return sorted(rates)[len(rates) // 2]

    r1 = noop_rate("noop") / c["kcat_rate"]
    row(f"consume→validate→dispatch, 1 no-op instance ({c['n']:,} events)",
        fmt_rate(noop_rate("noop")), "kcat -C " + fmt_rate(c["kcat_rate"]), f"{r1:.2f}×",
        f"≥ {TARGET_NOOP}×", met(r1, TARGET_NOOP))
    r2 = c["builtin"]["steady"] / c["kcat_rate"]
    row(f"consume→validate→dispatch, 4 built-in plugins ({c['n']:,} events)",
        fmt_rate(c["builtin"]["steady"]), "kcat -C " + fmt_rate(c["kcat_rate"]), f"{r2:.2f}×",
        f"≥ {TARGET_BUILTIN}×", met(r2, TARGET_BUILTIN))
    if c.get("noop_newer"):
        ra = noop_rate("noop_newer") / c["kcat_rate"]
        row(f"1 no-op instance, {c['newer']} loaded (host defaults: "
            "fetch.queue.backoff.ms 10, queued.max.messages.kbytes 4096, fetch.max.bytes 2 MiB)",
            f"{fmt_rate(noop_rate('noop_newer'))} (peak RSS {mib(c['noop_newer']['hwm'])})",
            "kcat -C " + fmt_rate(c["kcat_rate"]), f"{ra:.2f}×", f"≥ {TARGET_NOOP}×",
            met(ra, TARGET_NOOP))
        rb = c["builtin_newer"]["steady"] / c["kcat_rate"]
        row(f"4 built-in plugins, {c['newer']} loaded",
            fmt_rate(c["builtin_newer"]["steady"]), "kcat -C " + fmt_rate(c["kcat_rate"]),
            f"{rb:.2f}×", f"≥ {TARGET_BUILTIN}×", met(rb, TARGET_BUILTIN))
    r3 = p["cli"] / p["kcat"]
    row(f"publish: `wallet-eventd publish` ({p['n']:,} events)", fmt_rate(p["cli"]),
        "kcat -P " + fmt_rate(p["kcat"]), f"{r3:.2f}×", f"≥ {TARGET_PUBLISH}×",
        met(r3, TARGET_PUBLISH))
    r4 = p["api"] / p["kcat"]
    row(f"publish: C++ Publisher::publish_async ({p['n']:,} events)", fmt_rate(p["api"]),
        "kcat -P " + fmt_rate(p["kcat"]), f"{r4:.2f}×", f"≥ {TARGET_PUBLISH}×",
        met(r4, TARGET_PUBLISH))
    if "api_caller" in p:
        r5 = p["api_caller"] / p["kcat"]
        row(f"publish: C++ Publisher::publish_async, Deliveries::kCallerThread ({p['n']:,} "
            "events)", fmt_rate(p["api_caller"]), "kcat -P " + fmt_rate(p["kcat"]),
            f"{r5:.2f}×", f"≥ {TARGET_PUBLISH}×", met(r5, TARGET_PUBLISH))
    ld, lk = l["daemon"], l["kcat"]
    for q, key in (("p50", "latency_p50_ns"), ("p99", "latency_p99_ns"),
                   ("p99.9", "latency_p999_ns")):
        a, b = ld.get(key, 0) / 1e6, lk.get(key, 0) / 1e6
        row(f"latency publish→plugin {q} at {l['rate']:,}/s", f"{a:.1f} ms",
            f"kcat -P→kcat -C {b:.1f} ms", f"{a / b:.2f}×" if b else "–", "(report)", "–")
    rm = m["large_hwm"] / m["small_hwm"] if m["small_hwm"] else 0
    row("memory: idle RSS", mib(m["idle_rss"]), "–", "–", "(report)", "–")
    row(f"memory: peak RSS (VmHWM), {m['small_n']:,} vs {m['large_n']:,} backlog",
        f"{mib(m['small_hwm'])} → {mib(m['large_hwm'])}", "–", f"{rm:.2f}×",
        f"≤ {TARGET_MEMORY}×", met(rm, TARGET_MEMORY, higher=False))
    if m.get("newer_small_hwm") and m.get("newer_large_hwm"):
        rn = m["newer_large_hwm"] / m["newer_small_hwm"]
        row(f"memory: peak RSS with {c['newer']} loaded (host defaults), "
            f"{m['small_n']:,} vs {m['large_n']:,} backlog",
            f"{mib(m['newer_small_hwm'])} → {mib(m['newer_large_hwm'])} "
            f"({fmt_rate(c['noop_newer']['steady'])} consumed)", "–", f"{rn:.2f}×",
            f"≤ {TARGET_MEMORY}×", met(rn, TARGET_MEMORY, higher=False))
    ks = s["kcat"]["steady"]
    for k, v in s["instances"].items():
        row(f"scaling: {k} no-op instance(s) ({s['n']:,} events each)",
            f"{fmt_rate(v['per_instance'])} per instance ({fmt_rate(v['aggregate'])} dispatched)",
            "kcat -C " + fmt_rate(ks), f"{v['per_instance'] / ks:.2f}×", "(report)", "–")
    for d, v in s["daemons"].items():
        row(f"scaling: {d} daemon(s) in one group, 1 no-op instance each",
            f"{fmt_rate(v['rate'])} (events per daemon {v['counts']})", "kcat -C " + fmt_rate(ks),
            f"{v['rate'] / ks:.2f}×", "(report)", "–")
    dp = mi["dispatch"]
    for b in (1, 64, 512):
        a, d = dp.get(f"abi_call_only/{b}", 0), dp.get(f"direct_call_only/{b}", 0)
        ratio = a / d if d else 0
        target = f"≤ {TARGET_ABI}×" if b == 64 else "(report)"
        verdict = met(ratio, TARGET_ABI, higher=False) if b == 64 else "–"
        row(f"ABI crossing per event, batch {b} (same batch into noop.so vs the same handler "
            "linked in)", f"{a:.1f} ns", f"direct call {d:.1f} ns", f"{ratio:.2f}×", target,
            verdict)
    for b in (1, 64, 512):
        a, d = dp.get(f"abi/{b}", 0), dp.get(f"direct_cpp/{b}", 0)
        ratio = a / d if d else 0
        target = f"≤ {TARGET_ABI}× (strict reading)" if b == 64 else "(report)"
        verdict = met(ratio, TARGET_ABI, higher=False) if b == 64 else "–"
        row(f"ABI dispatch incl. building the views, batch {b} (the pipeline's HandlerCall, "
            "vs a C++ virtual call on the host's objects)", f"{a:.1f} ns",
            f"direct C++ call {d:.1f} ns", f"{ratio:.2f}×", target, verdict)

    out = []
    out.append("# Benchmarks\n")
    out.append("Written by `bench/run.sh` (do not edit by hand; the analysis at the end comes from "
               "`bench/ANALYSIS.md`). Every figure is measured in the same run as its baseline, on "
               "the same broker, as a ratio, because the machine is shared and noisy.\n")
    out.append("## Run\n")
    out.append("| | |\n|---|---|")
    for k, label in (("date", "date"), ("mode", "mode"), ("duration", "duration"),
                     ("nproc", "nproc"), ("cpu", "CPU"), ("ram", "RAM"), ("kernel", "kernel"),
                     ("load_start", "load average at start"), ("load_end", "load average at end"),
                     ("kafka", "Apache Kafka"), ("kafka_storage", "broker log directory"),
                     ("librdkafka", "librdkafka (host)"),
                     ("kcat", "kcat"), ("compiler", "compiler"), ("build_type", "build type"),
                     ("daemon", "wallet-eventd")):
        out.append(f"| {label} | {env.get(k, '?')} |")
    out.append(f"| events | golden events (tests/golden/wire/valid) varied over 10,000 wallet ids, "
               f"unique event/correlation/request ids, nonces and key ids; "
               f"{R['event_bytes']:.0f} bytes each on average; 6 topics × 3 partitions |")
    out.append("")
    out.append("## Results\n")
    out.append("| measure | wallet-eventd | baseline (same run) | ratio | target | verdict |")
    out.append("|---|---|---|---|---|---|")
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    out.append("")
    out.append("## Details\n")
    out.append("**Consume.** Rates are from the first to the last event seen (daemon: the noop "
               "plugin's clock, or /metrics polled every 50 ms for the built-ins; kcat: "
               "`kcat -G <group> -o beginning -e -X fetch.wait.max.ms=10 -f '%o\\n' <6 topics>` "
               "piped into a line counter; the fetch wait only matters once partitions are at "
               "their end, where it lets `-e` exit without holding the last buffered lines "
               "500 ms). Rates from process start (group join included):")
    out.append(f"kcat runs {fmt_rate(c['kcat'][0]['steady'])} (before the daemons), "
               f"{fmt_rate(c['kcat'][1]['steady'])} (between) and "
               f"{fmt_rate(c['kcat'][2]['steady'])} (after); the baseline is their median; "
               f"from start (median) "
               f"{fmt_rate(c['kcat_wall'])}. No-op runs "
               + ", ".join(fmt_rate(x) for x in c.get("noop_rates", [c["noop"]["steady"]]))
               + " (the first here, the other two in the memory section's large backlog); the "
               f"row is their median. Daemon from start: no-op {fmt_rate(c['noop']['wall'])}, "
               f"built-ins {fmt_rate(c['builtin']['wall'])}. Every daemon also runs its validator "
               f"group, so with one instance it reads each record twice (and five times with the "
               f"four built-ins), where kcat reads it once.\n")
    check = mi.get("check") or {}
    if check:
        # What one record may cost at the target rate, beside what checking it costs.
        mean_check = statistics.mean(check.values())
        budget = 1e9 / (TARGET_NOOP * c["kcat_rate"])
        cores = int(env.get("nproc") or 2)
        out.append(f"**The per-record budget.** kcat -C took {1e9 / c['kcat_rate']:,.0f} ns of "
                   f"wall time per record (its main thread writing, librdkafka's fetching). At "
                   f"{TARGET_NOOP}× its "
                   f"rate the daemon has {budget:,.0f} ns per record on the {cores} cores (shared "
                   f"with the broker), so {cores * budget:,.0f} ns of CPU for all of it. Checking "
                   f"a record "
                   f"(`check_event`, which every instance pipeline and the validator run on "
                   f"each record they read) took {mean_check:,.0f} ns on average over the "
                   f"golden events in this run (`check_compact` in the micro table): "
                   f"{2 * mean_check:,.0f} ns for the validator's and the instance's checks, "
                   f"{100 * 2 * mean_check / (cores * budget):.0f} % of that CPU before "
                   f"librdkafka's "
                   f"work in two consumers, the hand-off to the handler and the broker's own "
                   f"serving of both reads.")
        reads = c["builtin"].get("read")
        if reads:
            per_record = 1 + sum(reads.values()) / c["n"]  # the instances' reads + the validator's
            budget_b = 1e9 / (TARGET_BUILTIN * c["kcat_rate"])
            out.append(f"With the four built-ins each record is read and checked "
                       f"{per_record:.1f} times (every instance reads the topics of its types, "
                       f"and the validator all): {per_record * mean_check:,.0f} ns of checking "
                       f"per record against {cores * budget_b:,.0f} ns of CPU at {TARGET_BUILTIN}× "
                       f"kcat's rate, before any handler's work.")
        out.append("")
    b = c["builtin"]
    out.append("**Built-in plugins' work.** audit: hash-chained file with fsync before every "
               "commit; metrics: defaults; notification: `default_endpoint` is a local HTTP sink "
               "(`bench_tool sink`, answers 204) so every CredentialAcknowledged/Deleted becomes a "
               f"real POST ({b.get('sink_requests', '?'):,} requests); security: all rules, "
               "issuer allow-list set; the generated flows raise an alert in one cycle of 1000. "
               f"Done per instance {b['done']}, skipped (other types) {b['skipped']}, "
               f"dead-lettered {b['dead_lettered']}. Seconds from the first event until each "
               f"instance had resolved all of them: "
               + ", ".join(f"{k} {v:.1f}" for k, v in sorted(b.get('finished_s', {}).items(),
                                                             key=lambda kv: kv[1]))
               + (". With " + c["newer"] + " loaded: " + ", ".join(
                   f"{k} {v:.1f}" for k, v in sorted(
                       (c.get("builtin_newer") or {}).get("finished_s", {}).items(),
                       key=lambda kv: kv[1])) if c.get("builtin_newer") else "")
               + ".\n")
    out.append(f"**Publish.** Same NDJSON ({p['n']:,} events), acks=all, enable.idempotence=true, "
               "linger.ms=5 on both sides; two rounds (order cli, api, api with caller-thread "
               "deliveries, kcat, then the reverse), the better round of each. `wallet-eventd "
               "publish` is timed from process start to exit (reads, decodes and validates every "
               "line, routes, adds the four headers; it serves its delivery reports on its own "
               "thread, Deliveries::kCallerThread). The Publisher API figures time publish_async "
               "of pre-decoded events plus flush, with the default library thread serving the "
               "delivery reports and with Deliveries::kCallerThread "
               f"({fmt_rate(p['api_wall'])} for the first including its own start-up and "
               "decoding). kcat -P "
               "runs once per topic (it takes one topic), key from a tab-separated column, "
               + ("and the wire format's four headers (`-H`, valued from the topic's first "
                  "record: the same names and sizes on every record, where ours vary per "
                  "record)" if p.get("kcat_plain") else "no headers")
               + f"; its six runs sum to {fmt_rate(p['kcat_raw'])}, and five of its six "
               f"start-ups ({p['kcat_startup_ms']:.0f} ms each, measured) are taken off for the "
               "baseline"
               + (f". Without the headers kcat -P did {fmt_rate(p['kcat_plain'])} (same "
                  f"correction; `wallet-eventd publish` {p['cli'] / p['kcat_plain']:.2f}× of "
                  f"that)" if p.get("kcat_plain") else "")
               + ".\n")
    out.append(f"**Latency.** {l['count']:,} events at {l['rate']:,}/s after "
               f"{R.get('lat_warmup', 500)} warm-up events. Daemon: `bench_tool pace` publishes "
               "through the Publisher API with the metadata timestamp = send time; the noop "
               "plugin records now − timestamp. kcat: the same events as lines into "
               "`kcat -P`, read by `kcat -C -u -o end` and decoded by `bench_tool lat-recv`. "
               f"Max: daemon {ld.get('latency_max_ns', 0) / 1e6:.1f} ms, kcat "
               f"{lk.get('latency_max_ns', 0) / 1e6:.1f} ms.\n")
    out.append(f"**Memory.** One no-op instance (plus the validator). Idle: VmRSS 5 s after start "
               f"with empty topics ({mib(m['idle_rss'])}, peak {mib(m['idle_hwm'])}). Backlog: "
               f"VmHWM when the last of {m['small_n']:,} / {m['large_n']:,} pre-loaded events was "
               "handled, the median of three runs each (runs: "
               + ", ".join(mib(x) for x in m.get("small_runs", [])) + " / "
               + ", ".join(mib(x) for x in m.get("large_runs", []))
               + "). Host defaults: each consumer's pre-fetch queue is bounded at "
               "`queued.max.messages.kbytes: 4096` (with librdkafka < 2.4 the host's fetch "
               "waker keeps it fed; with later ones `fetch.queue.backoff.ms: 10`).\n")
    out.append(f"**Scaling.** {s['n']:,} events; each instance has its own consumer group and "
               "reads all of them; the daemons share one group prefix (the partitions are split "
               f"between them). 2 cores in all. kcat -C over these topics: {fmt_rate(ks)}. "
               "The daemon rows hold every instance until all daemons have partitions and time "
               "from each daemon's 1,000th event; the validator groups are not held and have "
               "mostly finished by then, so those rows measure the instance pipelines with the "
               "cores to themselves: compare 1 with 2 daemons, not with the consume rows.\n")
    out.append("**Micro (Google Benchmark, `micro_bench`).** Decoding per event type "
               "(decode_compact: the record as producers write it):\n")
    out.append("| event type | ns per decode | MB/s | ns per check_event (no typed event built; "
               "what the pipelines run) |\n|---|---|---|---|")
    for name, (ns, bps) in sorted(mi["decode"].items()):
        chk = f"{check[name]:.0f}" if name in check else "–"
        out.append(f"| {name} | {ns:.0f} | {bps / 1e6:.0f} | {chk} |")
    out.append("")
    out.append("ABI dispatch, ns per event (`abi`: the views and result slots built by the "
               "pipeline's own code (`HandlerCall`, host/dispatch/handler_call.h) into buffers "
               "kept from batch to batch, the call into noop.so through its descriptor, the "
               "results read back; `direct_cpp`: a virtual C++ call with the same per-event "
               "work; `abi_call_only`: the views built once, only the call and reading the "
               "results timed; `direct_call_only`: the same, calling the same handler directly "
               "(noop.c compiled into the benchmark too, so both sides run one source); "
               "`abi_worker_thread`: `abi` plus a hand-off to a "
               "worker thread and back (mutex and condition variable, as the pipeline's "
               "HandlerRunner; the pipeline now overlaps it with reading the next batch)):\n")
    out.append("| batch | direct_cpp | abi | abi_call_only | direct_call_only | abi_worker_thread |")
    out.append("|---|---|---|---|---|---|")
    for bsz in (1, 64, 512):
        out.append(f"| {bsz} | " + " | ".join(
            f"{dp.get(f'{k}/{bsz}', 0):.1f}" for k in ("direct_cpp", "abi", "abi_call_only",
                                                       "direct_call_only",
                                                       "abi_worker_thread")) + " |")
    out.append("")
    if notes:
        out.append("**Notes from this run.** " + " ".join(notes) + "\n")
    if analysis:
        out.append(analysis.strip() + "\n")
    table = "\n".join(
        f"{r[0][:70]:<70} {r[1][:40]:>40} {r[2][:34]:>34} {r[3]:>7} {r[4]:>9} {r[5]}"
        for r in rows)
    return "\n".join(out), table


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small counts (CI): about 2-3 minutes")
    ap.add_argument("--build-dir", default=os.environ.get("WEP_BENCH_BUILD_DIR",
                                                          os.path.join(REPO, "build-bench")))
    ap.add_argument("--no-build", action="store_true", help="use the build dir as it is")
    ap.add_argument("--port", type=int, default=int(os.environ.get("WEP_BENCH_PORT", "19692")),
                    help="broker port (uses P, P+1, P+2); default $WEP_BENCH_PORT or 19692")
    ap.add_argument("--work-dir", help="scratch directory (default /tmp/wep-bench-<port>, "
                                       "/tmp/wep-bench-quick-<port> in quick mode)")
    ap.add_argument("--out", help="report file (default docs/BENCHMARKS.md; quick mode: "
                                  "<build-dir>/bench/BENCHMARKS-quick.md)")
    ap.add_argument("--events", type=int, help="override the event count")
    ap.add_argument("--keep-broker", action="store_true", help="leave the broker running")
    ap.add_argument("--render", metavar="RESULTS_JSON",
                    help="only write the report again from a run's results.json (e.g. after "
                         "editing bench/ANALYSIS.md)")
    args = ap.parse_args()
    out = args.out or (os.path.join(os.path.abspath(args.build_dir), "bench", "BENCHMARKS-quick.md")
                       if args.quick else os.path.join(REPO, "docs", "BENCHMARKS.md"))
    if args.render:
        with open(args.render) as f:
            R = json.load(f)
        mode = R.get("env", {}).get("mode", "full")
        if mode != ("quick" if args.quick else "full"):
            # docs/BENCHMARKS.md is the full run's report; a quick run's counts do not belong in
            # it (and a full run's not in the quick report).
            print(f"driver.py: {args.render} holds a {mode} run; render it with"
                  f"{'' if mode == 'quick' else 'out'} --quick", file=sys.stderr)
            return 64
        with open(os.path.join(REPO, "bench", "ANALYSIS.md")) as f:
            analysis = f.read() if not args.quick else ""
        md, table = render(R, R.get("notes", []), analysis)
        with open(out, "w") as f:
            f.write(md)
        print(table)
        return 0
    bench = Bench(args)
    atexit.register(bench.cleanup)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    try:
        R = bench.go()
    except Exception as e:  # a failed run is a failed run: say what and exit non-zero
        log(f"FAILED: {e}")
        return 1
    R["lat_warmup"] = bench.lat_warmup
    analysis = ""
    ap_path = os.path.join(REPO, "bench", "ANALYSIS.md")
    if os.path.exists(ap_path) and not args.quick:
        with open(ap_path) as f:
            analysis = f.read()
    md, table = render(R, bench.notes, analysis)
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        f.write(md)
    R["notes"] = bench.notes
    with open(os.path.join(bench.work, "results.json"), "w") as f:
        json.dump(R, f, indent=1, default=str)
    print()
    print(table)
    print()
    log(f"report written to {out} (raw figures: {bench.work}/results.json)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
