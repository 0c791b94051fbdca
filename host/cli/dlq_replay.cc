// `wallet-eventd dlq replay`: re-drives dead letters to the topic they came from.
//
// Reads the DLQ with its own consumer group from its committed position up to the end the topic
// had when the run started. Each selected record is produced again to its original topic with
// its original key, value and headers, plus `dlq.replays` (incremented) and, when it failed in
// one instance, `dlq.replay.instance` so that only that instance handles it again (the others
// handled the original). The group's DLQ position is committed only after every republish of
// a batch is acknowledged; a record replayed `dlq.max_replays` times is left and reported.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>

#include "bus/client_common.h"
#include "bus/consumer.h"
#include "bus/dlq.h"
#include "bus/producer.h"
#include "cli/commands.h"
#include "cli/common.h"
#include "config/config.h"
#include "config/suggest.h"
#include "wallet_eventd/client.h"

namespace wallet_eventd::cli {
namespace {

using Clock = std::chrono::steady_clock;

// "2026-12-04T10:00:00Z" (RFC 3339) or a duration back from now: "90s", "15m", "2h", "7d".
std::optional<Timestamp> parse_since(const std::string& text) {
  if (auto t = parse_timestamp(text)) return t;
  if (text.size() < 2) return std::nullopt;
  long long n = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, n);
  if (ec != std::errc() || end != text.data() + text.size() - 1 || n < 0) return std::nullopt;
  std::chrono::seconds unit;
  switch (text.back()) {
    case 's':
      unit = std::chrono::seconds(1);
      break;
    case 'm':
      unit = std::chrono::minutes(1);
      break;
    case 'h':
      unit = std::chrono::hours(1);
      break;
    case 'd':
      unit = std::chrono::hours(24);
      break;
    default:
      return std::nullopt;
  }
  return std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now()) -
         n * unit;
}

struct Counts {
  size_t read = 0, replayed = 0, skipped = 0, left = 0, failed = 0;
};

// End offsets of the DLQ's partitions when the run starts: the replay stops there, so records
// dead-lettered again while it runs are not chased in a loop. `consumer` is not subscribed yet:
// between tries its poll serves librdkafka's error events, so a failed login ends the wait.
Result<std::map<int32_t, std::pair<int64_t, int64_t>>> watermarks(bus::Consumer& consumer,
                                                                  const std::string& topic) {
  rd_kafka_t* rk = consumer.handle();
  const rd_kafka_metadata_t* md = nullptr;
  rd_kafka_topic_t* t = rd_kafka_topic_new(rk, topic.c_str(), nullptr);
  // librdkafka answers a slice without a usable broker with _TIMED_OUT or _TRANSPORT.
  auto waiting = [](rd_kafka_resp_err_t e) {
    return e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__TRANSPORT;
  };
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  for (auto deadline = Clock::now() + std::chrono::seconds(10);
       waiting(err) && Clock::now() < deadline;) {
    err = rd_kafka_metadata(rk, 0, t, &md, 500);
    consumer.poll_batch(1, std::chrono::milliseconds(0));
    if (auto failed = consumer.login_failure()) {
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_metadata_destroy(md);
      rd_kafka_topic_destroy(t);
      return *failed;
    }
  }
  rd_kafka_topic_destroy(t);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return bus::kafka_error(err, "metadata of " + topic);
  std::map<int32_t, std::pair<int64_t, int64_t>> out;
  Status status = Status::Ok();
  for (int i = 0; i < md->topic_cnt; ++i) {
    const auto& mt = md->topics[i];
    if (mt.err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) break;  // no DLQ yet: nothing to do
    if (mt.err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      status = bus::kafka_error(mt.err, "metadata of " + topic);
      break;
    }
    for (int p = 0; p < mt.partition_cnt; ++p) {
      int64_t low = 0, high = 0;
      err = rd_kafka_query_watermark_offsets(rk, topic.c_str(), mt.partitions[p].id, &low, &high,
                                             10000);
      if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        status = bus::kafka_error(err, "end offsets of " + topic);
        break;
      }
      out[mt.partitions[p].id] = {low, high};
    }
  }
  rd_kafka_metadata_destroy(md);
  if (!status.ok()) return status.error();
  return out;
}

const std::string* header(const std::vector<Header>& headers, std::string_view key) {
  for (auto it = headers.rbegin(); it != headers.rend(); ++it)
    if (it->key == key) return &it->value;
  return nullptr;
}

}  // namespace

int dlq_replay(const std::string& path, const DlqReplayOptions& options) {
  auto cfg = load_config_or_print(path);
  if (!cfg) return config::kExitConfig;
  if (options.instance) {
    std::vector<std::string> names;
    for (const auto& p : cfg->plugins) names.push_back(p.name);
    if (std::find(names.begin(), names.end(), *options.instance) == names.end()) {
      auto guess = config::suggest(*options.instance, names);
      std::fprintf(stderr, "--instance %s: no such plugin instance in %s%s\n",
                   options.instance->c_str(), path.c_str(),
                   guess ? (" (did you mean `" + *guess + "`?)").c_str() : "");
      return kExitUsage;
    }
  }
  std::optional<Timestamp> since;
  if (options.since) {
    since = parse_since(*options.since);
    if (!since) {
      std::fprintf(stderr,
                   "--since %s: not an RFC 3339 time (2026-12-04T10:00:00Z) or a duration "
                   "back from now (90s, 15m, 2h, 7d)\n",
                   options.since->c_str());
      return kExitUsage;
    }
  }
  const uint32_t max_replays = options.max_replays.value_or(cfg->dlq.max_replays);
  std::set<std::string> wallet_topics;
  for (auto suffix : all_topic_suffixes()) wallet_topics.insert(cfg->topics.topic_for(suffix));

  auto client = ClientConfig::from_yaml(path);
  if (!client.ok()) {
    std::fprintf(stderr, "dlq replay: %s\n", client.error().message.c_str());
    return 1;
  }
  bus::Properties base = bus::base_properties(client.value());
  bus::Consumer::Options copts;
  copts.properties = base;
  for (const auto& [k, v] : cfg->bus.consumer_properties) copts.properties[k] = v;
  copts.group_id =
      options.group.empty() ? cfg->consumer.group_prefix + ".dlq-replay" : options.group;
  copts.from_beginning = true;
  copts.give_up_on_login_failure = true;  // a wrong password ends the command, with the reason
  auto consumer = bus::Consumer::create(copts);
  if (!consumer.ok()) {
    std::fprintf(stderr, "dlq replay: %s\n", consumer.error().message.c_str());
    return 1;
  }
  auto ends = watermarks(*consumer.value(), cfg->topics.dlq);
  if (!ends.ok()) {
    std::fprintf(stderr, "dlq replay: %s\n", ends.error().message.c_str());
    return consumer.value()->login_failure() ? kExitTempFail : 1;
  }
  if (Status s = consumer.value()->subscribe({cfg->topics.dlq}); !s.ok()) {
    std::fprintf(stderr, "dlq replay: %s\n", s.error().message.c_str());
    return 1;
  }
  // Delivery callbacks run on the producer's thread and may still run while it is destroyed:
  // what they touch is declared before the producer so that it outlives it.
  std::mutex mu;
  std::condition_variable cv;
  size_t pending = 0;
  std::map<int32_t, int64_t> first_failed;  // per partition: the first record not delivered
  Counts counts;
  std::unique_ptr<bus::Producer> producer;
  if (!options.dry_run) {
    bus::Producer::Options popts;
    popts.properties = base;
    for (const auto& [k, v] : cfg->bus.producer_properties) popts.properties[k] = v;
    popts.name = "dlq-replay";
    popts.timeout = client.value().timeout;
    popts.give_up_on_login_failure = true;
    auto created = bus::Producer::create(std::move(popts));
    if (!created.ok()) {
      std::fprintf(stderr, "dlq replay: %s\n", created.error().message.c_str());
      return 1;
    }
    producer = std::move(created).value();
  }
  install_interrupt_handler();

  size_t total = 0;
  std::map<int32_t, int64_t> position;  // next offset per partition, once known
  for (const auto& [p, lh] : ends.value()) total += static_cast<size_t>(lh.second - lh.first);
  auto finished = [&] {
    for (const auto& [p, lh] : ends.value()) {
      auto it = position.find(p);
      if (lh.second > lh.first && (it == position.end() || it->second < lh.second)) return false;
    }
    return true;
  };
  std::fprintf(stderr, "dlq replay: %s holds %zu record(s); group %s resumes where it stopped%s\n",
               cfg->topics.dlq.c_str(), total, copts.group_id.c_str(),
               options.dry_run ? " (dry run: nothing is sent)" : "");

  int exit_code = 0;
  bool positions_known = false;
  auto last_progress = Clock::now();
  auto last_activity = Clock::now();
  const auto stall_limit = client.value().timeout + std::chrono::seconds(30);
  while (!finished() && !g_interrupted.load()) {
    auto msgs = consumer.value()->poll_batch(500, std::chrono::milliseconds(500));
    if (auto failed = consumer.value()->login_failure()) {
      std::fprintf(stderr, "dlq replay: %s\n", failed->message.c_str());
      exit_code = kExitTempFail;
      break;
    }
    if (!positions_known && !consumer.value()->assignment().empty()) {
      // Partitions the group already finished count as done from the start.
      auto committed = consumer.value()->committed(std::chrono::seconds(10));
      if (committed.ok()) {
        for (const auto& [tp, off] : committed.value())
          if (off >= 0) position[tp.second] = std::max(position[tp.second], off);
        positions_known = true;
      }
    }
    if (msgs.empty()) {
      if (Clock::now() - last_activity > stall_limit) {
        std::fprintf(stderr, "dlq replay: no progress for %llds before the end of %s; stopping\n",
                     static_cast<long long>(
                         std::chrono::duration_cast<std::chrono::seconds>(stall_limit).count()),
                     cfg->topics.dlq.c_str());
        exit_code = 1;
        break;
      }
      continue;
    }
    last_activity = Clock::now();

    // Produce every selected record of the batch, then wait for all acknowledgements.
    bus::OffsetMap commit;
    {
      std::lock_guard<std::mutex> lock(mu);
      first_failed.clear();
    }
    for (const auto& m : msgs) {
      const int32_t part = m->partition;
      const int64_t off = m->offset;
      const auto ends_it = ends.value().find(part);
      if (ends_it != ends.value().end() && off >= ends_it->second.second) continue;  // newer
      {
        std::lock_guard<std::mutex> lock(mu);
        ++counts.read;
      }
      Record r = bus::to_record(m.get());
      const std::string where = r.topic + "[" + std::to_string(part) + "]@" + std::to_string(off);
      const std::string* instance = header(r.headers, bus::kDlqInstance);
      const std::string* error = header(r.headers, bus::kDlqError);
      const std::string* code = header(r.headers, bus::kDlqErrorCode);
      const std::string* when = header(r.headers, bus::kDlqTimestamp);
      const std::string* origin = header(r.headers, bus::kDlqOriginalTopic);
      const std::string* replays_text = header(r.headers, bus::kDlqReplays);
      uint32_t replays = 0;
      if (replays_text != nullptr)
        std::from_chars(replays_text->data(), replays_text->data() + replays_text->size(), replays);
      const std::string reason = error != nullptr ? *error : "(no dlq.error header)";

      bool selected = true;
      if (options.instance && (instance == nullptr || *instance != *options.instance))
        selected = false;
      if (options.error_contains &&
          (error == nullptr || error->find(*options.error_contains) == std::string::npos) &&
          (code == nullptr || code->find(*options.error_contains) == std::string::npos))
        selected = false;
      if (since) {
        auto t = when != nullptr ? parse_timestamp(*when) : std::nullopt;
        if (!t || *t < *since) selected = false;
      }
      if (!selected) {
        ++counts.skipped;
      } else if (origin == nullptr || wallet_topics.count(*origin) == 0) {
        ++counts.left;
        std::fprintf(stderr, "left %s: original topic %s is not a wallet topic of %s\n",
                     where.c_str(), origin != nullptr ? origin->c_str() : "(none)", path.c_str());
      } else if (header(r.headers, bus::kDlqValueOmitted) != nullptr) {
        ++counts.left;
        std::fprintf(
            stderr,
            "left %s: the record was too large for the DLQ (%s); the original is at "
            "%s[%s]@%s\n",
            where.c_str(), header(r.headers, bus::kDlqValueOmitted)->c_str(), origin->c_str(),
            [&] {
              const std::string* p = header(r.headers, bus::kDlqOriginalPartition);
              return p != nullptr ? p->c_str() : "?";
            }(),
            [&] {
              const std::string* o = header(r.headers, bus::kDlqOriginalOffset);
              return o != nullptr ? o->c_str() : "?";
            }());
      } else if (replays >= max_replays) {
        ++counts.left;
        std::fprintf(stderr, "left %s: already replayed %u time(s) (limit %u); last error: %s\n",
                     where.c_str(), replays, max_replays, reason.c_str());
      } else if (options.dry_run) {
        ++counts.replayed;
        std::printf(
            "would replay %s -> %s%s (replay %u of %u): %s\n", where.c_str(), origin->c_str(),
            instance != nullptr ? (" for instance " + *instance).c_str() : " for every instance",
            replays + 1, max_replays, reason.c_str());
      } else {
        std::vector<Header> out;
        for (const auto& h : r.headers)
          if (h.key.rfind("dlq.", 0) != 0) out.push_back({h.key, h.value});
        out.push_back({bus::kDlqReplays, std::to_string(replays + 1)});
        out.push_back({bus::kDlqReplaySource, where});
        if (instance != nullptr && !instance->empty())
          out.push_back({bus::kDlqReplayInstance, *instance});
        {
          std::lock_guard<std::mutex> lock(mu);
          ++pending;
        }
        Status s = producer->produce(*origin, r.key, r.value, out,
                                     [&, part, off, where](const bus::Delivery& d) {
                                       std::lock_guard<std::mutex> lock(mu);
                                       if (d.status.ok()) {
                                         ++counts.replayed;
                                       } else {
                                         ++counts.failed;
                                         auto [it, inserted] = first_failed.emplace(part, off);
                                         if (!inserted) it->second = std::min(it->second, off);
                                         std::fprintf(stderr, "not replayed %s: %s\n",
                                                      where.c_str(), d.status.message().c_str());
                                       }
                                       --pending;
                                       cv.notify_all();
                                     });
        if (!s.ok()) {
          std::lock_guard<std::mutex> lock(mu);
          --pending;
          ++counts.failed;
          auto [it, inserted] = first_failed.emplace(part, off);
          if (!inserted) it->second = std::min(it->second, off);
          std::fprintf(stderr, "not replayed %s: %s\n", where.c_str(), s.message().c_str());
        }
      }
      int64_t& next = commit[{r.topic, part}];
      next = std::max(next, off + 1);
    }
    {
      std::unique_lock<std::mutex> lock(mu);
      if (!cv.wait_for(
              lock,
              producer ? producer->timeout() + std::chrono::seconds(10) : std::chrono::seconds(0),
              [&] { return pending == 0; })) {
        std::fprintf(stderr, "dlq replay: %zu republish(es) not acknowledged in time\n", pending);
        exit_code = kExitTempFail;
        break;  // nothing of this batch is committed
      }
    }
    // Never move the DLQ position past a record whose republish failed.
    for (auto& [tp, next] : commit)
      if (auto it = first_failed.find(tp.second); it != first_failed.end()) next = it->second;
    if (!options.dry_run) {
      Status s = consumer.value()->commit(commit);
      if (!s.ok()) {
        std::fprintf(stderr, "dlq replay: committing the DLQ position failed: %s\n",
                     s.message().c_str());
        exit_code = 1;
        break;
      }
    }
    for (const auto& [tp, next] : commit) position[tp.second] = std::max(position[tp.second], next);
    if (!first_failed.empty()) {
      exit_code = kExitTempFail;
      break;
    }
    if (Clock::now() - last_progress > std::chrono::seconds(2)) {
      last_progress = Clock::now();
      std::lock_guard<std::mutex> lock(mu);
      std::fprintf(stderr, "dlq replay: %zu/%zu read, %zu replayed, %zu skipped, %zu left\n",
                   counts.read, total, counts.replayed, counts.skipped, counts.left);
    }
  }
  consumer.value()->close();
  if (g_interrupted.load() && exit_code == 0) exit_code = 130;
  std::lock_guard<std::mutex> lock(mu);
  std::fprintf(stderr,
               "dlq replay: read %zu, %s %zu, skipped %zu (not selected), left %zu (not "
               "replayable), failed %zu\n",
               counts.read, options.dry_run ? "would replay" : "replayed", counts.replayed,
               counts.skipped, counts.left, counts.failed);
  return exit_code;
}

}  // namespace wallet_eventd::cli
