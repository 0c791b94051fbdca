// Microbenchmarks of the event model: decode_event per golden event type (as stored, and
// compacted the way producers write records), check_event on the compact form, encode_event, a
// nlohmann::json parse of the same
// bytes for scale, and the timestamp/UUID helpers. And the cost of the C ABI: handing a batch
// of checked events to a plugin (bench/noop_plugin, loaded with dlopen) with the pipeline's own
// HandlerCall, beside a direct C++ virtual call with the same work, at batch sizes 1, 64, 512.
//
//   micro_bench [--benchmark_filter=decode/] [--shared-dir=<path to shared/>]
//               [--noop-plugin=<path to noop.so>]
#include <benchmark/benchmark.h>
#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "dispatch/handler_call.h"
#include "wallet_event_plugin.h"
#include "wallet_eventd/events.h"

namespace {

using wallet_eventd::WalletEvent;

struct Golden {
  std::string name;     // file stem, e.g. "PresentationVerified.2"
  std::string as_file;  // bytes of the golden file (pretty-printed)
  std::string compact;  // the same event as encode_event writes it
  WalletEvent event;
};

std::vector<Golden> load_golden(const std::filesystem::path& dir) {
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == ".json") files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  std::vector<Golden> out;
  for (const auto& file : files) {
    std::ifstream in(file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    auto decoded = wallet_eventd::decode_event(ss.str());
    if (!decoded.ok()) {
      std::cerr << file << ": " << decoded.error().message() << "\n";
      std::exit(1);
    }
    Golden g{file.stem().string(), ss.str(), wallet_eventd::encode_event(decoded.value()),
             std::move(decoded).value()};
    out.push_back(std::move(g));
  }
  return out;
}

void decode(benchmark::State& state, const std::string* json) {
  for (auto _ : state) {
    auto result = wallet_eventd::decode_event(*json);
    if (!result.ok()) state.SkipWithError(result.error().message().c_str());
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json->size()));
}

// What consumers and the Publisher's check run: decode_event's checks without the typed event.
void check(benchmark::State& state, const std::string* json) {
  std::string text;
  for (auto _ : state) {
    text.clear();
    auto result = wallet_eventd::check_event(*json, &text);
    if (!result.ok()) state.SkipWithError(result.error().message().c_str());
    benchmark::DoNotOptimize(result);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json->size()));
}

void encode(benchmark::State& state, const WalletEvent* event) {
  for (auto _ : state) {
    std::string json = wallet_eventd::encode_event(*event);
    benchmark::DoNotOptimize(json);
  }
}

void nlohmann_parse(benchmark::State& state, const std::string* json) {
  for (auto _ : state) {
    auto j = nlohmann::json::parse(*json);
    benchmark::DoNotOptimize(j);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * json->size()));
}

void rejected(benchmark::State& state, std::string json) {
  for (auto _ : state) {
    auto result = wallet_eventd::decode_event(json);
    if (result.ok()) state.SkipWithError("decoded");
    benchmark::DoNotOptimize(result);
  }
}

void BM_ParseTimestamp(benchmark::State& state) {
  for (auto _ : state) {
    auto t = wallet_eventd::parse_timestamp("2026-02-06T15:48:43.123456789+05:30");
    benchmark::DoNotOptimize(t);
  }
}

void BM_FormatTimestamp(benchmark::State& state) {
  const auto t = *wallet_eventd::parse_timestamp("2026-02-06T10:18:43.123456789Z");
  for (auto _ : state) {
    std::string s = wallet_eventd::format_timestamp(t);
    benchmark::DoNotOptimize(s);
  }
}

void BM_NewUuid(benchmark::State& state) {
  for (auto _ : state) {
    std::string s = wallet_eventd::new_uuid();
    benchmark::DoNotOptimize(s);
  }
}

// ---- ABI dispatch ------------------------------------------------------------------------------
// What the pipeline has for each record besides the decoded event (librdkafka owns these in the
// daemon; plain strings here).
struct FakeRecord {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct DispatchInput {
  std::vector<WalletEvent> events;  // for the direct C++ baseline
  std::vector<FakeRecord> records;
  // What the pipeline hands over: check_event's result and metadata text, header views.
  std::vector<wallet_eventd::CheckedEvent> checked;
  std::string text;
  std::vector<std::vector<wep_header>> headers;
};

wep_str str(std::string_view s) { return {s.data(), s.size()}; }

DispatchInput make_input(const std::vector<Golden>& golden, size_t n) {
  DispatchInput in;
  for (size_t i = 0; i < n; ++i) {
    const Golden& g = golden[i % golden.size()];
    in.events.push_back(g.event);
    const auto& md = wallet_eventd::metadata_of(g.event);
    FakeRecord r;
    r.topic = "wallet." + std::string(wallet_eventd::topic_suffix(wallet_eventd::type_of(g.event)));
    r.partition = static_cast<int32_t>(i % 3);
    r.offset = static_cast<int64_t>(i);
    r.key = md.wallet_id;
    r.value = g.compact;
    r.headers = {{"event_type",
                  std::string(wallet_eventd::event_type_name(wallet_eventd::type_of(g.event)))},
                 {"correlation_id", md.correlation_id},
                 {"wallet_id", md.wallet_id},
                 {"schema_version", md.schema_version}};
    auto checked = wallet_eventd::check_event(r.value, &in.text);
    if (!checked.ok()) throw std::runtime_error("golden event refused: " + g.name);
    in.checked.push_back(checked.value());
    in.records.push_back(std::move(r));
  }
  for (const FakeRecord& r : in.records) {  // after the last push_back: the views stay valid
    in.headers.emplace_back();
    for (const auto& [hk, hv] : r.headers) in.headers.back().push_back({str(hk), str(hv)});
  }
  return in;
}

uint64_t mono_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

void host_log(wep_host_ctx*, int32_t, wep_str) {}
int32_t host_publish(wep_host_ctx*, wep_str, wep_str, wep_str, const wep_header*, size_t, char*,
                     size_t) {
  return WEP_ERR_UNSUPPORTED;
}
int32_t host_metric_register(wep_host_ctx*, const wep_metric_desc*, wep_metric**, char*, size_t) {
  return WEP_ERR_UNSUPPORTED;
}
void host_metric_record(wep_metric*, const wep_str*, size_t, double) {}

const wep_host_api kHostApi = {WEP_STRUCT_SIZE(wep_host_api, monotonic_ns),
                               WEP_ABI_MAJOR,
                               WEP_ABI_MINOR,
                               host_log,
                               host_publish,
                               host_metric_register,
                               host_metric_record,
                               mono_ns};

// noop.so, loaded and instantiated once.
struct NoopPlugin {
  const wep_plugin_descriptor* desc = nullptr;
  wep_instance* inst = nullptr;
  std::string output;
};

NoopPlugin* g_noop = nullptr;

// What both noops are created with: counters written to `output`, no target, no latency.
struct NoopConfig {
  std::string output, json;
  wep_instance_info info{};

  explicit NoopConfig(const std::string& out)
      : output(out), json("{\"output\": \"" + out + "\", \"expect\": 0}") {
    info.struct_size = WEP_STRUCT_SIZE(wep_instance_info, topic_prefix);
    info.host = &kHostApi;
    info.instance_name = {"noop", 4};
    info.config_json = {json.data(), json.size()};
    info.state_dir = {"/tmp", 4};
    info.topic_prefix = {"wallet", 6};
  }
};

std::string load_noop(const std::string& path) {
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) return std::string("dlopen: ") + dlerror();
  auto entry = reinterpret_cast<wep_plugin_entry_fn>(dlsym(h, WEP_ENTRY_SYMBOL));
  if (entry == nullptr) return "no " WEP_ENTRY_SYMBOL " in " + path;
  wep_host_info hi{WEP_STRUCT_SIZE(wep_host_info, host_version), WEP_ABI_MAJOR, WEP_ABI_MINOR,
                   "bench"};
  auto* p = new NoopPlugin;
  p->desc = entry(&hi);
  p->output = "/tmp/micro_bench_noop." + std::to_string(getpid());
  const NoopConfig config(p->output);
  char err[1024] = {0};
  if (p->desc->create(&config.info, &p->inst, err, sizeof err) != WEP_OK)
    return std::string("noop create: ") + err;
  g_noop = p;
  return "";
}

using wallet_eventd::dispatch::HandlerCall;
constexpr size_t kMessageCapacity = HandlerCall::kMessageCapacity;

// Builds the call for events [0, k) with the pipeline's own code (Pipeline::start_call):
// HandlerCall's reset, set per event and seal, into buffers kept from call to call.
void fill_call(const DispatchInput& in, size_t k, HandlerCall* call) {
  call->reset(k);
  for (size_t j = 0; j < k; ++j) {
    const FakeRecord& r = in.records[j];
    call->set(j, {&in.checked[j], in.text, r.topic, r.partition, r.offset, r.key, r.value,
                  in.headers[j].data(), in.headers[j].size(), 1});
  }
  call->seal(mono_ns() + 30000ull * 1000000ull);
}

// What the pipeline does with the results: code, message copy, counters.
size_t read_results(const HandlerCall& call, size_t k) {
  size_t done = 0;
  for (size_t j = 0; j < k; ++j) {
    int32_t code = call.results[j].code;
    std::string message(call.results[j].message,
                        strnlen(call.results[j].message, kMessageCapacity));
    if (code == WEP_RESULT_DONE) ++done;
    benchmark::DoNotOptimize(message);
  }
  return done;
}

// The direct C++ baseline: a handler class the host would call with its own types.
class CppHandler {
 public:
  virtual ~CppHandler() = default;
  virtual void handle(const std::vector<const WalletEvent*>& events,
                      const std::vector<const FakeRecord*>& records,
                      std::vector<int32_t>& results) = 0;
};
class CppNoop final : public CppHandler {
 public:
  void handle(const std::vector<const WalletEvent*>& events,
              const std::vector<const FakeRecord*>& records,
              std::vector<int32_t>& results) override {
    const int64_t now = std::chrono::system_clock::now().time_since_epoch().count();
    if (count_ == 0 && !events.empty()) first_ = now;
    for (size_t i = 0; i < events.size(); ++i) {
      results[i] = WEP_RESULT_DONE;
      benchmark::DoNotOptimize(records[i]);
      ++count_;
    }
    last_ = now;
  }
  long long count_ = 0;
  int64_t first_ = 0, last_ = 0;
};

void abi_dispatch(benchmark::State& state, const std::vector<Golden>* golden) {
  if (g_noop == nullptr) {
    state.SkipWithError("noop.so not loaded");
    return;
  }
  const size_t k = static_cast<size_t>(state.range(0));
  const DispatchInput in = make_input(*golden, k);
  HandlerCall call;  // kept from batch to batch, as the pipeline keeps it
  for (auto _ : state) {
    fill_call(in, k, &call);
    call.rc = g_noop->desc->handle_batch(g_noop->inst, &call.batch, call.err, sizeof call.err);
    size_t done = read_results(call, k);
    if (done != k) state.SkipWithError("not all done");
    benchmark::DoNotOptimize(done);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * k));
}

// The crossing alone: views built once, then per batch only the call through the descriptor
// and the results read back.
void abi_call_only(benchmark::State& state, const std::vector<Golden>* golden) {
  if (g_noop == nullptr) {
    state.SkipWithError("noop.so not loaded");
    return;
  }
  const size_t k = static_cast<size_t>(state.range(0));
  const DispatchInput in = make_input(*golden, k);
  auto call = std::make_unique<HandlerCall>();
  fill_call(in, k, call.get());
  for (auto _ : state) {
    for (size_t j = 0; j < k; ++j) {
      call->results[j].code = WEP_RESULT_UNSET;
      call->results[j].message[0] = '\0';
    }
    call->rc = g_noop->desc->handle_batch(g_noop->inst, &call->batch, call->err, sizeof call->err);
    size_t done = 0;
    for (size_t j = 0; j < k; ++j) done += call->results[j].code == WEP_RESULT_DONE;
    if (done != k) state.SkipWithError("not all done");
    benchmark::DoNotOptimize(done);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * k));
}

// noop.c compiled into this binary as well (bench/CMakeLists.txt: bench_noop_linked): the same
// handle_batch as noop.so's, called directly, is the baseline for the crossing alone.
extern "C" {
int noop_linked_create(const wep_instance_info* info, wep_instance** out, char* err, size_t cap);
int noop_linked_handle_batch(wep_instance* inst, const wep_batch* batch, char* err, size_t cap);
void noop_linked_destroy(wep_instance* inst);
}

void direct_call_only(benchmark::State& state, const std::vector<Golden>* golden) {
  const size_t k = static_cast<size_t>(state.range(0));
  const DispatchInput in = make_input(*golden, k);
  auto call = std::make_unique<HandlerCall>();
  fill_call(in, k, call.get());
  const NoopConfig config("/tmp/micro_bench_noop_linked." + std::to_string(getpid()));
  wep_instance* inst = nullptr;
  char err[1024] = {0};
  if (noop_linked_create(&config.info, &inst, err, sizeof err) != WEP_OK) {
    state.SkipWithError((std::string("linked noop create: ") + err).c_str());
    return;
  }
  for (auto _ : state) {
    for (size_t j = 0; j < k; ++j) {
      call->results[j].code = WEP_RESULT_UNSET;
      call->results[j].message[0] = '\0';
    }
    call->rc = noop_linked_handle_batch(inst, &call->batch, call->err, sizeof call->err);
    size_t done = 0;
    for (size_t j = 0; j < k; ++j) done += call->results[j].code == WEP_RESULT_DONE;
    if (done != k) state.SkipWithError("not all done");
    benchmark::DoNotOptimize(done);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * k));
  noop_linked_destroy(inst);
  std::remove(config.output.c_str());
}

void direct_dispatch(benchmark::State& state, const std::vector<Golden>* golden) {
  const size_t k = static_cast<size_t>(state.range(0));
  const DispatchInput in = make_input(*golden, k);
  std::unique_ptr<CppHandler> handler = std::make_unique<CppNoop>();
  CppHandler* h = handler.get();
  for (auto _ : state) {
    benchmark::DoNotOptimize(h);  // no devirtualisation: a plugin is not known at compile time
    std::vector<const WalletEvent*> events;
    std::vector<const FakeRecord*> records;
    events.reserve(k);
    records.reserve(k);
    for (size_t j = 0; j < k; ++j) {
      events.push_back(&in.events[j]);
      records.push_back(&in.records[j]);
    }
    std::vector<int32_t> results(k, WEP_RESULT_UNSET);
    h->handle(events, records, results);
    size_t done = 0;
    for (int32_t r : results) done += r == WEP_RESULT_DONE;
    if (done != k) state.SkipWithError("not all done");
    benchmark::DoNotOptimize(done);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * k));
}

// The pipeline's HandlerRunner hand-off (a worker thread per instance, mutex + condvar) on top
// of the ABI call: what one batch costs the daemon besides decoding.
class Runner {
 public:
  Runner() : worker_([this] { loop(); }) {}
  ~Runner() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      quit_ = true;
    }
    cv_.notify_all();
    worker_.join();
  }
  void run(std::shared_ptr<HandlerCall> call) {
    std::unique_lock<std::mutex> lock(mu_);
    job_ = std::move(call);
    cv_.notify_all();
    done_cv_.wait_for(lock, std::chrono::seconds(30), [&] { return job_ == nullptr; });
  }

 private:
  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [&] { return quit_ || job_ != nullptr; });
      if (job_ == nullptr) return;
      std::shared_ptr<HandlerCall> call = job_;
      lock.unlock();
      call->rc =
          g_noop->desc->handle_batch(g_noop->inst, &call->batch, call->err, sizeof call->err);
      lock.lock();
      job_ = nullptr;
      done_cv_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_, done_cv_;
  std::shared_ptr<HandlerCall> job_;
  bool quit_ = false;
  std::thread worker_;
};

void abi_worker_dispatch(benchmark::State& state, const std::vector<Golden>* golden) {
  if (g_noop == nullptr) {
    state.SkipWithError("noop.so not loaded");
    return;
  }
  const size_t k = static_cast<size_t>(state.range(0));
  const DispatchInput in = make_input(*golden, k);
  Runner runner;
  auto call = std::make_shared<HandlerCall>();
  for (auto _ : state) {
    fill_call(in, k, call.get());
    runner.run(call);
    size_t done = read_results(*call, k);
    if (done != k) state.SkipWithError("not all done");
    benchmark::DoNotOptimize(done);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * k));
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path shared = WEP_GOLDEN_DIR;
  std::string noop_path = WEP_BENCH_NOOP_PLUGIN;
  // Our own flag, removed before Google Benchmark sees the arguments.
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--shared-dir=", 13) == 0) {
      shared = argv[i] + 13;
    } else if (std::strncmp(argv[i], "--noop-plugin=", 14) == 0) {
      noop_path = argv[i] + 14;
    } else {
      args.push_back(argv[i]);
    }
  }
  int args_count = static_cast<int>(args.size());

  // Registered benchmarks keep pointers into this vector: it must not change afterwards.
  static const std::vector<Golden> golden = load_golden(shared / "wire" / "valid");
  for (const Golden& g : golden) {
    benchmark::RegisterBenchmark(("decode/" + g.name).c_str(), decode, &g.as_file);
  }
  for (const Golden& g : golden) {
    benchmark::RegisterBenchmark(("decode_compact/" + g.name).c_str(), decode, &g.compact);
  }
  for (const Golden& g : golden) {
    benchmark::RegisterBenchmark(("check_compact/" + g.name).c_str(), check, &g.compact);
  }
  for (const Golden& g : golden) {
    benchmark::RegisterBenchmark(("encode/" + g.name).c_str(), encode, &g.event);
  }
  for (const Golden& g : golden) {
    benchmark::RegisterBenchmark(("nlohmann_parse/" + g.name).c_str(), nlohmann_parse, &g.as_file);
  }
  // The error paths (records bound for the DLQ), on a compact CredentialOfferSent.
  const auto offer = std::find_if(golden.begin(), golden.end(),
                                  [](const Golden& g) { return g.name == "CredentialOfferSent"; });
  if (offer != golden.end()) {
    const std::string& json = offer->compact;
    benchmark::RegisterBenchmark("decode_rejected/malformed", rejected,
                                 json.substr(0, json.size() / 2));
    std::string missing = json;
    missing.replace(missing.find("\"offer_id\""), 10, "\"offer_xx\"");
    benchmark::RegisterBenchmark("decode_rejected/missing_field", rejected, missing);
  }
  benchmark::RegisterBenchmark("timestamp/parse", BM_ParseTimestamp);
  benchmark::RegisterBenchmark("timestamp/format", BM_FormatTimestamp);
  benchmark::RegisterBenchmark("uuid/new", BM_NewUuid);
  // ABI dispatch per batch size (items/s = events/s; ns per event = 1e9 / items_per_second).
  const std::string noop_error = load_noop(noop_path);
  if (!noop_error.empty()) std::cerr << "micro_bench: " << noop_error << "\n";
  for (const char* name : {"dispatch/direct_cpp", "dispatch/abi", "dispatch/abi_call_only",
                           "dispatch/direct_call_only", "dispatch/abi_worker_thread"}) {
    const std::string n = name;
    benchmark::internal::Benchmark* b;
    if (n == "dispatch/direct_cpp") {
      b = benchmark::RegisterBenchmark(name, direct_dispatch, &golden);
    } else if (n == "dispatch/abi") {
      b = benchmark::RegisterBenchmark(name, abi_dispatch, &golden);
    } else if (n == "dispatch/abi_call_only") {
      b = benchmark::RegisterBenchmark(name, abi_call_only, &golden);
    } else if (n == "dispatch/direct_call_only") {
      b = benchmark::RegisterBenchmark(name, direct_call_only, &golden);
    } else {
      b = benchmark::RegisterBenchmark(name, abi_worker_dispatch, &golden);
      b->UseRealTime();
    }
    b->Arg(1)->Arg(64)->Arg(512);
  }

  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  if (g_noop != nullptr) {
    g_noop->desc->destroy(g_noop->inst);
    std::remove(g_noop->output.c_str());
  }
  return 0;
}
