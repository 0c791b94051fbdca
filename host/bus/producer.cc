#include "bus/producer.h"

#include <future>

#include "bus/log.h"

namespace wallet_eventd::bus {

Error kafka_error(rd_kafka_resp_err_t err, std::string_view context) {
  Error::Code code = Error::Code::kBroker;
  switch (err) {
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
      code = Error::Code::kTimeout;
      break;
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
      code = Error::Code::kUnavailable;
      break;
    default:
      break;
  }
  std::string msg(context);
  msg += ": ";
  msg += rd_kafka_err2str(err);
  return Error{code, msg};
}

Error kafka_error(rd_kafka_error_t* err, std::string_view context) {
  Error e = kafka_error(rd_kafka_error_code(err), context);
  e.message = std::string(context) + ": " + rd_kafka_error_string(err);
  if (rd_kafka_error_txn_requires_abort(err)) e.code = Error::Code::kAborted;
  rd_kafka_error_destroy(err);
  return e;
}

namespace {

std::vector<HeaderView> views_of(const std::vector<Header>& headers) {
  std::vector<HeaderView> views;
  views.reserve(headers.size());
  for (const auto& h : headers) views.push_back({h.key, h.value});
  return views;
}

// A Callback as a Report.
class CallbackReport final : public Producer::Report {
 public:
  explicit CallbackReport(Producer::Callback cb) : cb_(std::move(cb)) {}
  void delivered(const Delivery& d) override {
    if (cb_) cb_(d);
  }

 private:
  Producer::Callback cb_;
};

}  // namespace

void Producer::on_delivery(rd_kafka_t*, const rd_kafka_message_t* msg, void* opaque) {
  std::unique_ptr<Report> report(static_cast<Report*>(msg->_private));
  if (!report) return;
  Delivery d;
  d.partition = msg->partition;
  d.offset = msg->offset;
  if (msg->err) {
    auto* self = static_cast<Producer*>(opaque);
    std::optional<Error> login = (msg->err == RD_KAFKA_RESP_ERR__PURGE_QUEUE ||
                                  msg->err == RD_KAFKA_RESP_ERR__PURGE_INFLIGHT)
                                     ? self->login_failure()
                                     : std::nullopt;
    d.status =
        login ? *login
              : kafka_error(msg->err, std::string("delivery to ") + rd_kafka_topic_name(msg->rkt));
  }
  report->delivered(d);
}

void Producer::on_error(rd_kafka_t* rk, int err, const char* reason, void* opaque) {
  log_error_event(rk, static_cast<rd_kafka_resp_err_t>(err), reason);
  auto* self = static_cast<Producer*>(opaque);
  if (!self->give_up_on_login_failure_) return;
  std::optional<Error> failure = login_failure_of(err, reason);
  if (!failure) return;
  {
    std::lock_guard<std::mutex> lock(self->login_mu_);
    if (self->login_failure_) return;
    self->login_failure_ = std::move(failure);
  }
  self->login_failed_.store(true);
  // Served from a poll: do not wait here for the broker threads; the purged records' reports
  // (with the reason above) are served by the next polls.
  rd_kafka_purge(
      rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT | RD_KAFKA_PURGE_F_NON_BLOCKING);
}

std::optional<Error> Producer::login_failure() const {
  if (!login_failed_.load()) return std::nullopt;
  std::lock_guard<std::mutex> lock(login_mu_);
  return login_failure_;
}

Result<std::unique_ptr<Producer>> Producer::create(Options options) {
  Properties defaults = {{"acks", "all"},
                         {"enable.idempotence", "true"},
                         {"linger.ms", "5"},
                         {"message.timeout.ms", std::to_string(options.timeout.count())}};
  if (options.transactional_id) {
    defaults["transactional.id"] = *options.transactional_id;
    defaults["transaction.timeout.ms"] =
        std::to_string(std::max<int64_t>(options.timeout.count(), 1000));
  }
  auto conf = make_conf({&defaults, &options.properties});
  if (!conf.ok()) return conf.error();
  std::unique_ptr<Producer> p(new Producer());
  p->timeout_ = options.timeout;
  p->give_up_on_login_failure_ = options.give_up_on_login_failure;
  rd_kafka_conf_set_opaque(conf.value().get(), p.get());
  rd_kafka_conf_set_dr_msg_cb(conf.value().get(), &Producer::on_delivery);
  route_logs(conf.value().get());
  rd_kafka_conf_set_error_cb(conf.value().get(), &Producer::on_error);
  char err[512];
  p->rk_.reset(rd_kafka_new(RD_KAFKA_PRODUCER, conf.value().get(), err, sizeof err));
  if (!p->rk_) return Error{Error::Code::kInvalidArgument, "producer: " + std::string(err)};
  conf.value().release();  // owned by rk now
  if (options.transactional_id) {
    if (rd_kafka_error_t* e =
            rd_kafka_init_transactions(p->rk_.get(), static_cast<int>(options.timeout.count()))) {
      return kafka_error(e, "init_transactions");
    }
  }
  p->serve_on_caller_ = options.serve_on_caller;
  if (!p->serve_on_caller_) {
    Producer* raw = p.get();
    p->poller_ = std::thread([raw] {
      while (!raw->stop_.load(std::memory_order_relaxed)) rd_kafka_poll(raw->rk_.get(), 100);
    });
  }
  return p;
}

Producer::~Producer() {
  if (rk_) rd_kafka_flush(rk_.get(), static_cast<int>(timeout_.count()));
  stop_ = true;
  if (poller_.joinable()) poller_.join();
  if (rk_) {
    // Fail what is left so that no callback is leaked.
    rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
    rd_kafka_poll(rk_.get(), 0);
  }
  for (auto& [name, rkt] : topics_) rd_kafka_topic_destroy(rkt);
  rk_.reset();  // before the members its callbacks use (opaque = this)
}

rd_kafka_topic_t* Producer::topic_handle(std::string_view topic) {
  std::lock_guard<std::mutex> lock(topics_mu_);
  auto it = topics_.find(topic);
  if (it != topics_.end()) return it->second;
  const std::string name(topic);
  rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_.get(), name.c_str(), nullptr);
  if (rkt != nullptr) topics_.emplace(name, rkt);
  return rkt;
}

Status Producer::produce(std::string_view topic, std::string_view key, std::string_view value,
                         std::span<const HeaderView> headers, Callback cb) {
  rd_kafka_topic_t* rkt = topic_handle(topic);
  if (rkt == nullptr) return kafka_error(rd_kafka_last_error(), "produce to " + std::string(topic));
  return produce(rkt, key, value, headers, std::make_unique<CallbackReport>(std::move(cb)));
}

Status Producer::produce(rd_kafka_topic_t* rkt, std::string_view key, std::string_view value,
                         std::span<const HeaderView> headers, std::unique_ptr<Report> report) {
  if (auto login = login_failure()) return *login;
  // The deadline is read only once the queue is full: a clock read per record was 3% of a
  // bulk publisher's thread.
  std::optional<std::chrono::steady_clock::time_point> deadline;
  while (true) {
    rd_kafka_headers_t* hdrs = rd_kafka_headers_new(headers.size());
    for (const auto& h : headers)
      rd_kafka_header_add(hdrs, h.key.data(), static_cast<ssize_t>(h.key.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    rd_kafka_resp_err_t err = rd_kafka_producev(
        rk_.get(), RD_KAFKA_V_RKT(rkt), RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
        RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_HEADERS(hdrs),
        RD_KAFKA_V_OPAQUE(report.get()), RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      report.release();  // librdkafka hands it back to on_delivery
      // Queued just after another thread gave up on the login: purge it too.
      if (login_failed_.load())
        rd_kafka_purge(rk_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_NON_BLOCKING);
      if (serve_on_caller_) rd_kafka_poll(rk_.get(), 0);  // the reports that are ready
      return Status::Ok();
    }
    rd_kafka_headers_destroy(hdrs);  // not taken over on failure
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      const auto now = std::chrono::steady_clock::now();
      if (!deadline) deadline = now + timeout_;
      if (now < *deadline) {
        // Room comes back as reports are served (a record counts until its report is).
        if (serve_on_caller_) {
          rd_kafka_poll(rk_.get(), 10);
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(2));
        }
        if (auto login = login_failure()) return *login;
        continue;
      }
    }
    return kafka_error(err, std::string("produce to ") + rd_kafka_topic_name(rkt));
  }
}

Status Producer::produce(std::string_view topic, std::string_view key, std::string_view value,
                         const std::vector<Header>& headers, Callback cb) {
  return produce(topic, key, value, views_of(headers), std::move(cb));
}

Delivery Producer::produce_sync(std::string_view topic, std::string_view key,
                                std::string_view value, const std::vector<Header>& headers) {
  return produce_sync(topic, key, value, views_of(headers));
}

Delivery Producer::produce_sync(std::string_view topic, std::string_view key,
                                std::string_view value, std::span<const HeaderView> headers) {
  auto promise = std::make_shared<std::promise<Delivery>>();
  auto future = promise->get_future();
  Status s =
      produce(topic, key, value, headers, [promise](const Delivery& d) { promise->set_value(d); });
  if (!s.ok()) return Delivery{s, -1, -1};
  // librdkafka fails the message by message.timeout.ms at the latest.
  wait_for([&] { return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready; });
  return future.get();
}

void Producer::wait_for(const std::function<bool()>& ready) {
  if (!serve_on_caller_) return;  // the poll thread serves them: block on the result instead
  while (!ready()) rd_kafka_poll(rk_.get(), 10);
}

Status Producer::flush(std::chrono::milliseconds timeout) {
  rd_kafka_resp_err_t err = rd_kafka_flush(rk_.get(), static_cast<int>(timeout.count()));
  if (err) return kafka_error(err, "flush");
  return Status::Ok();
}

Status Producer::begin_transaction() {
  if (rd_kafka_error_t* e = rd_kafka_begin_transaction(rk_.get()))
    return kafka_error(e, "begin_transaction");
  return Status::Ok();
}

Status Producer::commit_transaction() {
  if (rd_kafka_error_t* e =
          rd_kafka_commit_transaction(rk_.get(), static_cast<int>(timeout_.count())))
    return kafka_error(e, "commit_transaction");
  return Status::Ok();
}

Status Producer::abort_transaction() {
  if (rd_kafka_error_t* e =
          rd_kafka_abort_transaction(rk_.get(), static_cast<int>(timeout_.count())))
    return kafka_error(e, "abort_transaction");
  return Status::Ok();
}

}  // namespace wallet_eventd::bus
