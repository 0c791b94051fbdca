// bench_tool: the time-critical helpers of the benchmark driver (bench/driver.py).
//
//   bench_tool gen --golden DIR --count N [--wallets W] --out FILE [--kcat-out PREFIX]
//       N realistic events: the golden events cycled, each cycle with its own wallet_id,
//       event ids, correlation ids, nonces, key ids, ... and event times. Writes NDJSON (the
//       compact wire form), and with --kcat-out one "wallet_id<TAB>json" file per topic suffix
//       (PREFIX.<suffix>) for kcat -P -K '\t'.
//   bench_tool pub-api --bootstrap B --prefix P --in FILE [--deliveries library|caller]
//       The C++ Publisher API: decodes FILE into memory (not timed), then times publish_async
//       of every event and the final flush. Prints "events N seconds S failed F".
//   bench_tool pace --rate R --count N --golden DIR (--bootstrap B --prefix P | --kcat-lines)
//       Publishes N events at R events/s, each stamped with the current time as its metadata
//       timestamp: through the Publisher API, or as "wallet_id<TAB>json" lines on stdout for
//       `kcat -P -K '\t'`.
//   bench_tool lat-recv --count N [--skip K] [--idle-timeout S]
//       Reads event JSON lines on stdin (e.g. `kcat -C -u -f '%s\n'`), decodes each and records
//       now - its timestamp. Prints "n p50_ns p99_ns p999_ns max_ns" figures.
//   bench_tool count --expect N [--idle-timeout S]
//       Counts lines on stdin; prints "count N first_ns T0 last_ns T1" (wall clock of the first
//       byte and of the Nth line).
//   bench_tool topics --bootstrap B [--partitions 3] TOPIC...
//       Creates the topics (existing ones are fine) and waits until the broker has them.
//   bench_tool sink [--port P]
//       An HTTP server on 127.0.0.1 answering 204 to every POST (the notification plugin's
//       issuer); prints "port P" once listening, and "requests N" when stopped (SIGTERM).
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <httplib.h>
#include <librdkafka/rdkafka.h>
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "listen_backlog.h"
#include "wallet_eventd/client.h"
#include "wallet_eventd/events.h"

namespace {

using namespace wallet_eventd;
using Clock = std::chrono::steady_clock;

int64_t realtime_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "bench_tool: %s\n", msg.c_str());
  std::exit(2);
}

struct Args {
  std::map<std::string, std::string> kv;
  std::vector<std::string> positional;
  std::string get(const std::string& k, const std::string& def = "") const {
    auto it = kv.find(k);
    return it == kv.end() ? def : it->second;
  }
  std::string need(const std::string& k) const {
    auto it = kv.find(k);
    if (it == kv.end()) die("missing --" + k);
    return it->second;
  }
  long long num(const std::string& k, long long def) const {
    auto it = kv.find(k);
    return it == kv.end() ? def : std::stoll(it->second);
  }
  bool flag(const std::string& k) const { return kv.count(k) > 0; }
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 2; i < argc; ++i) {
    std::string s = argv[i];
    if (s.rfind("--", 0) != 0) {
      a.positional.push_back(s);
      continue;
    }
    s = s.substr(2);
    if (i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0) {
      a.kv[s] = argv[++i];
    } else {
      a.kv[s] = "";
    }
  }
  return a;
}

std::vector<WalletEvent> load_golden(const std::string& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (e.path().extension() == ".json") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<WalletEvent> out;
  for (const auto& f : files) {
    std::ifstream in(f, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto d = decode_event(ss.str());
    if (!d.ok()) die(f.string() + ": " + d.error().message());
    out.push_back(std::move(d).value());
  }
  if (out.empty()) die("no golden events in " + dir);
  return out;
}

// A v4-shaped UUID from a counter and a run seed: unique per event, cheap.
std::string counter_uuid(uint64_t seed, uint64_t n) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-4%03llx-8%03llx-%012llx",
                static_cast<unsigned long long>(seed & 0xffffffffu),
                static_cast<unsigned long long>((seed >> 32) & 0xffff),
                static_cast<unsigned long long>((n >> 48) & 0xfff),
                static_cast<unsigned long long>((n >> 36) & 0xfff),
                static_cast<unsigned long long>(n & 0xffffffffffffull));
  return buf;
}

// Makes golden event `g` the member of cycle `c`: its own wallet, ids and event time. The
// cycle keeps the golden flows consistent (an acknowledgement names the notification_id of
// its issuance) and avoids alerts except where real traffic would raise them: one cycle in
// 1000 keeps the golden failed, unbound PresentationVerified (missing_holder_binding).
class Varier {
 public:
  Varier(uint64_t wallets, uint64_t seed) : wallets_(wallets), seed_(seed) {}

  WalletEvent make(const WalletEvent& golden, uint64_t cycle, uint64_t n,
                   std::optional<Timestamp> now = std::nullopt) {
    WalletEvent ev = golden;
    const std::string sfx = "-" + std::to_string(cycle);
    EventMetadata& m = metadata_of(ev);
    m.event_id = counter_uuid(seed_, n);
    m.correlation_id += sfx;
    m.wallet_id = "wallet-" + std::to_string((cycle * 7919) % wallets_);
    // Event time: the golden instant moved by 10 ms per cycle (or the time of publishing).
    m.timestamp = now ? *now : m.timestamp + std::chrono::milliseconds(10 * cycle);
    auto id = [&](std::string& s) { s += sfx; };
    auto oid = [&](std::optional<std::string>& s) {
      if (s) *s += sfx;
    };
    if (auto* e = std::get_if<CredentialOfferSent>(&ev)) id(e->offer_id);
    if (auto* e = std::get_if<CredentialOfferReceived>(&ev)) id(e->offer_id);
    if (auto* e = std::get_if<CredentialIssued>(&ev)) oid(e->notification_id);
    if (auto* e = std::get_if<CredentialAcknowledged>(&ev)) id(e->notification_id);
    if (auto* e = std::get_if<CredentialStored>(&ev)) {
      id(e->credential_id);
      oid(e->notification_id);
    }
    if (auto* e = std::get_if<CredentialDeleted>(&ev)) {
      id(e->credential_id);
      id(e->notification_id);
    }
    if (auto* e = std::get_if<PresentationRequestSent>(&ev)) {
      id(e->request_id);
      id(e->nonce);
    }
    if (auto* e = std::get_if<PresentationRequestReceived>(&ev)) {
      id(e->request_id);
      id(e->nonce);
    }
    if (auto* e = std::get_if<PresentationSubmitted>(&ev)) {
      id(e->request_id);
      id(e->presentation_submission_id);
    }
    if (auto* e = std::get_if<PresentationVerified>(&ev)) {
      id(e->request_id);
      id(e->presentation_submission_id);
      if (cycle % 1000 != 0) {
        e->validation_status = ValidationStatus::Valid();
        e->holder_binding_verified = true;
      }
    }
    if (auto* e = std::get_if<KeyCreated>(&ev)) id(e->key_id);
    if (auto* e = std::get_if<KeyRotated>(&ev)) {
      id(e->old_key_id);
      id(e->new_key_id);
    }
    if (auto* e = std::get_if<KeyRevoked>(&ev)) id(e->key_id);
    return ev;
  }

 private:
  uint64_t wallets_;
  uint64_t seed_;
};

uint64_t run_seed() {
  return static_cast<uint64_t>(realtime_ns()) * 0x9E3779B97F4A7C15ull ^
         static_cast<uint64_t>(getpid());
}

int cmd_gen(const Args& a) {
  const auto golden = load_golden(a.need("golden"));
  const uint64_t count = static_cast<uint64_t>(a.num("count", 1000));
  Varier v(static_cast<uint64_t>(a.num("wallets", 10000)), run_seed());
  std::ofstream out(a.need("out"), std::ios::binary);
  if (!out) die("cannot write " + a.need("out"));
  std::map<std::string, std::ofstream> kcat;
  const std::string kprefix = a.get("kcat-out");
  std::map<std::string, uint64_t> per_topic;
  for (uint64_t n = 0; n < count; ++n) {
    WalletEvent ev = v.make(golden[n % golden.size()], n / golden.size(), n);
    std::string json = encode_event(ev);
    out << json << '\n';
    std::string suffix(topic_suffix(type_of(ev)));
    per_topic[suffix]++;
    if (!kprefix.empty()) {
      auto it = kcat.find(suffix);
      if (it == kcat.end())
        it = kcat.emplace(suffix, std::ofstream(kprefix + "." + suffix, std::ios::binary)).first;
      it->second << metadata_of(ev).wallet_id << '\t' << json << '\n';
    }
  }
  out.close();
  if (!out) die("write failed: " + a.need("out"));
  for (auto& [s, f] : kcat) {
    f.close();
    if (!f) die("write failed: " + kprefix + "." + s);
  }
  for (const auto& [s, n] : per_topic) std::printf("%s %llu\n", s.c_str(), (unsigned long long)n);
  return 0;
}

std::unique_ptr<Publisher> make_publisher(const Args& a) {
  ClientConfig cfg;
  cfg.bootstrap_servers = a.need("bootstrap");
  cfg.topic_prefix = a.get("prefix", "wallet");
  const std::string deliveries = a.get("deliveries", "library");
  if (deliveries != "library" && deliveries != "caller")
    die("--deliveries must be library or caller, got " + deliveries);
  auto p = Publisher::create(cfg, deliveries == "caller" ? Publisher::Deliveries::kCallerThread
                                                         : Publisher::Deliveries::kLibraryThread);
  if (!p.ok()) die("publisher: " + p.error().message);
  return std::move(p).value();
}

int cmd_pub_api(const Args& a) {
  std::ifstream in(a.need("in"), std::ios::binary);
  if (!in) die("cannot read " + a.need("in"));
  std::vector<std::pair<WalletEvent, std::string>> events;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto d = decode_event(line);
    if (!d.ok()) die("invalid line: " + d.error().message());
    events.emplace_back(std::move(d).value(), line);
  }
  auto publisher = make_publisher(a);
  std::atomic<uint64_t> failed{0};
  const auto t0 = Clock::now();
  for (auto& [ev, json] : events) {
    Status s = publisher->publish_async(ev, std::move(json), [&failed](const Status& st) {
      if (!st.ok()) failed++;
    });
    if (!s.ok()) failed++;
  }
  Status f = publisher->flush(std::chrono::seconds(120));
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (!f.ok()) die("flush: " + f.message());
  std::printf("events %zu seconds %.6f failed %llu\n", events.size(), secs,
              (unsigned long long)failed.load());
  return failed.load() == 0 ? 0 : 1;
}

int cmd_pace(const Args& a) {
  const auto golden = load_golden(a.need("golden"));
  const double rate = static_cast<double>(a.num("rate", 5000));
  const uint64_t count = static_cast<uint64_t>(a.num("count", 10000));
  const bool lines = a.flag("kcat-lines");
  std::unique_ptr<Publisher> publisher;
  if (!lines) publisher = make_publisher(a);
  Varier v(static_cast<uint64_t>(a.num("wallets", 10000)), run_seed());
  std::atomic<uint64_t> failed{0};
  const auto t0 = Clock::now();
  const auto period = std::chrono::duration<double>(1.0 / rate);
  for (uint64_t n = 0; n < count; ++n) {
    std::this_thread::sleep_until(t0 + std::chrono::duration_cast<Clock::duration>(period * n));
    const Timestamp now{std::chrono::nanoseconds(realtime_ns())};
    WalletEvent ev = v.make(golden[n % golden.size()], n / golden.size(), n, now);
    std::string json = encode_event(ev);
    if (lines) {
      std::string out = metadata_of(ev).wallet_id + "\t" + json + "\n";
      const char* p = out.data();
      size_t left = out.size();
      while (left > 0) {
        ssize_t w = ::write(1, p, left);
        if (w < 0) {
          if (errno == EINTR) continue;
          die(std::string("stdout: ") + std::strerror(errno));
        }
        p += w;
        left -= static_cast<size_t>(w);
      }
    } else {
      Status s = publisher->publish_async(ev, std::move(json), [&failed](const Status& st) {
        if (!st.ok()) failed++;
      });
      if (!s.ok()) failed++;
    }
  }
  const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  if (publisher) {
    Status f = publisher->flush(std::chrono::seconds(60));
    if (!f.ok()) die("flush: " + f.message());
  }
  std::fprintf(stderr, "pace: %llu events in %.3f s (%.0f/s), failed %llu\n",
               (unsigned long long)count, secs, count / secs, (unsigned long long)failed.load());
  return failed.load() == 0 ? 0 : 1;
}

// Reads lines from stdin with an idle timeout; calls `fn(line)` per line; false on timeout.
template <typename Fn>
bool read_lines(double idle_timeout_s, Fn&& fn) {
  std::string buf;
  std::vector<char> chunk(1 << 16);
  while (true) {
    pollfd pfd{0, POLLIN, 0};
    int r = ::poll(&pfd, 1, static_cast<int>(idle_timeout_s * 1000));
    if (r == 0) return false;
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    ssize_t n = ::read(0, chunk.data(), chunk.size());
    if (n <= 0) return true;  // EOF
    buf.append(chunk.data(), static_cast<size_t>(n));
    size_t start = 0;
    for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
      if (!fn(std::string_view(buf).substr(start, nl - start))) return true;
    }
    buf.erase(0, start);
  }
}

int cmd_lat_recv(const Args& a) {
  const uint64_t count = static_cast<uint64_t>(a.num("count", 10000));
  const uint64_t skip = static_cast<uint64_t>(a.num("skip", 0));
  std::vector<int64_t> lat;
  lat.reserve(count);
  uint64_t seen = 0, invalid = 0;
  bool finished =
      read_lines(static_cast<double>(a.num("idle-timeout", 30)), [&](std::string_view l) {
        const int64_t now = realtime_ns();
        if (l.empty()) return true;
        auto d = decode_event(l);
        if (!d.ok()) {
          invalid++;
          return true;
        }
        if (seen++ >= skip)
          lat.push_back(now - metadata_of(d.value()).timestamp.time_since_epoch().count());
        return seen < count;
      });
  std::sort(lat.begin(), lat.end());
  auto pct = [&](double q) -> long long {
    if (lat.empty()) return 0;
    size_t i = static_cast<size_t>(q * static_cast<double>(lat.size() - 1) + 0.5);
    return lat[std::min(i, lat.size() - 1)];
  };
  std::printf(
      "latency_n %zu\nlatency_p50_ns %lld\nlatency_p99_ns %lld\nlatency_p999_ns %lld\n"
      "latency_max_ns %lld\ninvalid %llu\ncomplete %d\n",
      lat.size(), pct(0.5), pct(0.99), pct(0.999), lat.empty() ? 0LL : (long long)lat.back(),
      (unsigned long long)invalid, finished && seen >= count ? 1 : 0);
  return 0;
}

int cmd_count(const Args& a) {
  const uint64_t expect = static_cast<uint64_t>(a.num("expect", 0));
  uint64_t n = 0;
  int64_t first = 0, last = 0;
  std::vector<char> chunk(1 << 16);
  const int idle_ms = static_cast<int>(a.num("idle-timeout", 60) * 1000);
  while (expect == 0 || n < expect) {
    pollfd pfd{0, POLLIN, 0};
    int r = ::poll(&pfd, 1, idle_ms);
    if (r == 0) break;
    if (r < 0) {
      if (errno == EINTR) continue;
      break;
    }
    ssize_t got = ::read(0, chunk.data(), chunk.size());
    if (got <= 0) break;
    const int64_t now = realtime_ns();
    if (first == 0) first = now;
    n += static_cast<uint64_t>(std::count(chunk.data(), chunk.data() + got, '\n'));
    last = now;
  }
  // Drain what is left so that the writer is not killed by SIGPIPE before it exits.
  while (::read(0, chunk.data(), chunk.size()) > 0) {
  }
  std::printf("count %llu\nfirst_ns %lld\nlast_ns %lld\n", (unsigned long long)n, (long long)first,
              (long long)last);
  return 0;
}

int cmd_topics(const Args& a) {
  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  if (rd_kafka_conf_set(conf, "bootstrap.servers", a.need("bootstrap").c_str(), err, sizeof err) !=
      RD_KAFKA_CONF_OK)
    die(err);
  rd_kafka_t* rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof err);
  if (rk == nullptr) die(err);
  const int partitions = static_cast<int>(a.num("partitions", 3));
  std::vector<rd_kafka_NewTopic_t*> topics;
  for (const auto& t : a.positional) {
    rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(t.c_str(), partitions, 1, err, sizeof err);
    if (nt == nullptr) die(err);
    topics.push_back(nt);
  }
  rd_kafka_queue_t* q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, topics.data(), topics.size(), nullptr, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, 30000);
  int rc = 0;
  if (ev == nullptr) die("CreateTopics: no answer in 30 s");
  const rd_kafka_CreateTopics_result_t* res = rd_kafka_event_CreateTopics_result(ev);
  size_t n = 0;
  const rd_kafka_topic_result_t** results = rd_kafka_CreateTopics_result_topics(res, &n);
  for (size_t i = 0; i < n; ++i) {
    rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
      std::fprintf(stderr, "bench_tool: %s: %s\n", rd_kafka_topic_result_name(results[i]),
                   rd_kafka_err2str(e));
      rc = 1;
    }
  }
  rd_kafka_event_destroy(ev);
  for (auto* t : topics) rd_kafka_NewTopic_destroy(t);
  // Wait until the metadata shows every topic with a leader for each partition.
  for (int attempt = 0; rc == 0 && attempt < 100; ++attempt) {
    const rd_kafka_metadata_t* md = nullptr;
    if (rd_kafka_metadata(rk, 1, nullptr, &md, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) continue;
    size_t ready = 0;
    for (const auto& want : a.positional) {
      for (int i = 0; i < md->topic_cnt; ++i) {
        const auto& t = md->topics[i];
        if (want != t.topic || t.err || t.partition_cnt < partitions) continue;
        bool leaders = true;
        for (int p = 0; p < t.partition_cnt; ++p) leaders = leaders && t.partitions[p].leader >= 0;
        if (leaders) ++ready;
      }
    }
    rd_kafka_metadata_destroy(md);
    if (ready == a.positional.size()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  rd_kafka_queue_destroy(q);
  rd_kafka_destroy(rk);
  return rc;
}

int cmd_sink(const Args& a) {
  // SIGTERM / SIGINT are taken by a thread that stops the server (no work in a handler).
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  httplib::Server server;
  // A thread per connection (cpp-httplib): more than any notification instance keeps open, so
  // that the sink never leaves a connection unread behind idle keep-alive ones.
  server.new_task_queue = [] { return new httplib::ThreadPool(64); };
  server.set_keep_alive_max_count(1000000);  // httplib closes after 5 requests by default
  std::atomic<uint64_t> requests{0};
  server.Post(".*", [&](const httplib::Request&, httplib::Response& res) {
    requests++;
    res.status = 204;
  });
  int port = static_cast<int>(a.num("port", 0));
  if (port == 0) {
    port = server.bind_to_any_port("127.0.0.1");
  } else if (!server.bind_to_port("127.0.0.1", port)) {
    port = -1;
  }
  if (port < 0) die("sink: cannot listen");
  if (!wep_test::widen_listen_backlog(port, 512)) die("sink: listening socket not found");
  std::printf("port %d\n", port);
  std::fflush(stdout);
  std::thread stopper([&] {
    int sig = 0;
    sigwait(&sigs, &sig);
    server.stop();
  });
  server.listen_after_bind();
  stopper.join();
  std::printf("requests %llu\n", (unsigned long long)requests.load());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) die("usage: bench_tool gen|pub-api|pace|lat-recv|count|sink [options]");
  const std::string cmd = argv[1];
  const Args a = parse(argc, argv);
  if (cmd == "gen") return cmd_gen(a);
  if (cmd == "pub-api") return cmd_pub_api(a);
  if (cmd == "pace") return cmd_pace(a);
  if (cmd == "lat-recv") return cmd_lat_recv(a);
  if (cmd == "count") return cmd_count(a);
  if (cmd == "sink") return cmd_sink(a);
  if (cmd == "topics") return cmd_topics(a);
  die("unknown command " + cmd);
}
