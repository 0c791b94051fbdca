#include "bus/embedded_broker.h"

#include <algorithm>
#include <thread>

#include "bus/producer.h"

namespace wallet_eventd::bus {

Result<std::unique_ptr<EmbeddedBroker>> EmbeddedBroker::start(int brokers) {
  Properties props = {{"log_level", "3"}};
  auto conf = make_conf({&props});
  if (!conf.ok()) return conf.error();
  route_logs(conf.value().get());
  char err[512];
  std::unique_ptr<EmbeddedBroker> b(new EmbeddedBroker());
  b->rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.value().get(), err, sizeof err));
  if (!b->rk_) return Error{Error::Code::kInternal, "embedded broker: " + std::string(err)};
  conf.value().release();
  b->cluster_ = rd_kafka_mock_cluster_new(b->rk_.get(), brokers);
  if (b->cluster_ == nullptr)
    return Error{Error::Code::kInternal, "embedded broker: could not start the mock cluster"};
  return b;
}

EmbeddedBroker::~EmbeddedBroker() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
}

std::string EmbeddedBroker::bootstrap() const { return rd_kafka_mock_cluster_bootstraps(cluster_); }

Status EmbeddedBroker::create_topic(const std::string& name, int partitions) {
  rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster_, name.c_str(), partitions, 1);
  if (err) return kafka_error(err, "create topic " + name);
  return Status::Ok();
}

namespace {

// Whether the broker serves `mt`: known, with a leader for every partition.
bool served(const rd_kafka_metadata_topic_t& mt) {
  if (mt.err != RD_KAFKA_RESP_ERR_NO_ERROR || mt.partition_cnt == 0) return false;
  for (int p = 0; p < mt.partition_cnt; ++p)
    if (mt.partitions[p].leader < 0 || mt.partitions[p].err != RD_KAFKA_RESP_ERR_NO_ERROR)
      return false;
  return true;
}

// The topics of `topics` the broker does not serve yet, comma-separated ("" when all are).
std::string unserved_topics(rd_kafka_t* rk, const std::vector<std::string>& topics) {
  const rd_kafka_metadata_t* md = nullptr;
  if (rd_kafka_metadata(rk, 1, nullptr, &md, 2000) != RD_KAFKA_RESP_ERR_NO_ERROR)
    return "(no metadata)";
  std::string missing;
  for (const auto& t : topics) {
    const rd_kafka_metadata_topic_t* begin = md->topics;
    const rd_kafka_metadata_topic_t* end = begin + md->topic_cnt;
    const auto* mt = std::find_if(begin, end, [&](const auto& m) { return t == m.topic; });
    if (mt != end && served(*mt)) continue;
    if (!missing.empty()) missing += ", ";
    missing += t;
  }
  rd_kafka_metadata_destroy(md);
  return missing;
}

}  // namespace

Status create_topics(const Properties& properties, const std::vector<std::string>& topics,
                     int partitions, int replication_factor, std::chrono::milliseconds timeout) {
  auto conf = make_conf({&properties});
  if (!conf.ok()) return conf.error();
  route_logs(conf.value().get());
  char err[512];
  KafkaPtr rk(rd_kafka_new(RD_KAFKA_PRODUCER, conf.value().get(), err, sizeof err));
  if (!rk) return Error{Error::Code::kInvalidArgument, "admin client: " + std::string(err)};
  conf.value().release();

  std::vector<rd_kafka_NewTopic_t*> specs;
  for (const auto& t : topics) {
    rd_kafka_NewTopic_t* nt =
        rd_kafka_NewTopic_new(t.c_str(), partitions, replication_factor, err, sizeof err);
    if (nt == nullptr) {
      for (auto* s : specs) rd_kafka_NewTopic_destroy(s);
      return Error{Error::Code::kInvalidArgument, "topic " + t + ": " + err};
    }
    specs.push_back(nt);
  }
  rd_kafka_queue_t* queue = rd_kafka_queue_new(rk.get());
  rd_kafka_AdminOptions_t* opts =
      rd_kafka_AdminOptions_new(rk.get(), RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_operation_timeout(opts, static_cast<int>(timeout.count()), err,
                                              sizeof err);
  rd_kafka_CreateTopics(rk.get(), specs.data(), specs.size(), opts, queue);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, static_cast<int>(timeout.count()) + 2000);
  Status status;
  if (ev == nullptr) {
    status = Error{Error::Code::kTimeout, "create topics: no answer from the broker within " +
                                              std::to_string(timeout.count()) + " ms"};
  } else if (rd_kafka_event_error(ev)) {
    status = Error{Error::Code::kUnavailable,
                   std::string("create topics: ") + rd_kafka_event_error_string(ev)};
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n && status.ok(); ++i) {
      rd_kafka_resp_err_t e = rd_kafka_topic_result_error(results[i]);
      if (e && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        status =
            Error{Error::Code::kBroker, std::string("create topic ") +
                                            rd_kafka_topic_result_name(results[i]) + ": " +
                                            (rd_kafka_topic_result_error_string(results[i])
                                                 ? rd_kafka_topic_result_error_string(results[i])
                                                 : rd_kafka_err2str(e))};
      }
    }
  }
  if (ev != nullptr) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_queue_destroy(queue);
  for (auto* s : specs) rd_kafka_NewTopic_destroy(s);
  if (!status.ok()) return status;
  // CreateTopics answers once the controller has the topics; a broker may still answer
  // "unknown topic" for a moment. A consumer that subscribes then leaves the topic out and, by
  // default, looks again only after topic.metadata.refresh.interval.ms (5 minutes): wait until
  // the metadata shows every topic with a leader for each partition.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const std::string missing = unserved_topics(rk.get(), topics);
    if (missing.empty()) return Status::Ok();
    if (std::chrono::steady_clock::now() >= deadline)
      return Error{Error::Code::kTimeout,
                   "topics created but not yet served by the broker: " + missing};
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace wallet_eventd::bus
