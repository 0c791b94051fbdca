// Microbenchmarks of the event model: decode_event per golden event type (as stored, and
// compacted the way producers write records), encode_event, a nlohmann::json parse of the same
// bytes for scale, and the timestamp/UUID helpers.
//
//   micro_bench [--benchmark_filter=decode/] [--shared-dir=<path to shared/>]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

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

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path shared = WEP_GOLDEN_DIR;
  // Our own flag, removed before Google Benchmark sees the arguments.
  std::vector<char*> args;
  for (int i = 0; i < argc; ++i) {
    if (std::strncmp(argv[i], "--shared-dir=", 13) == 0) {
      shared = argv[i] + 13;
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

  benchmark::Initialize(&args_count, args.data());
  if (benchmark::ReportUnrecognizedArguments(args_count, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
