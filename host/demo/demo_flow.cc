#include "demo/demo_flow.h"

#include <httplib.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "wallet_eventd/log.h"

#if __has_include("audit_chain.h")
#include "audit_chain.h"
#define WEP_DEMO_AUDIT_CHAIN 1
#endif

namespace wallet_eventd::demo {
namespace {

void info(const std::string& msg) { log_message(LogLevel::kInfo, "[demo] " + msg); }

template <typename T>
T with_meta(const std::string& correlation, const std::string& wallet) {
  T e{};
  e.metadata = EventMetadata::create(correlation, wallet);
  return e;
}

}  // namespace

std::vector<WalletEvent> wallet_flow(const std::string& wallet, int round,
                                     const std::string& issuer) {
  const std::string r = std::to_string(round);
  const std::string issuance = "issuance-" + wallet + "-" + r;
  const std::string present = "presentation-" + wallet + "-" + r;
  const std::string keys = "keys-" + wallet + "-" + r;
  const std::string notification = "notif-" + wallet + "-" + r;
  std::vector<WalletEvent> out;

  auto offer = with_meta<CredentialOfferReceived>(issuance, wallet);
  offer.offer_id = "offer-" + wallet + "-" + r;
  offer.credential_issuer = issuer;
  offer.credential_configuration_ids = {"UniversityDegree"};
  offer.grants = Grants{
      std::nullopt,
      PreAuthorizedCodeGrant{"pre-auth-" + new_uuid(), TxCode{"numeric", 6, "PIN sent by mail"}}};
  out.push_back(offer);

  auto issued = with_meta<CredentialIssued>(issuance, wallet);
  issued.credential = "eyJhbGciOiJFUzI1NiJ9.demo-credential-" + new_uuid();
  issued.credential_type = "UniversityDegree";
  issued.notification_id = notification;
  out.push_back(issued);

  auto ack = with_meta<CredentialAcknowledged>(issuance, wallet);
  ack.notification_id = notification;
  ack.event = "credential_accepted";
  out.push_back(ack);

  auto stored = with_meta<CredentialStored>(issuance, wallet);
  stored.credential_id = "cred-" + wallet + "-" + r;
  stored.credential_type = "UniversityDegree";
  stored.issuer = issuer;
  stored.notification_id = notification;
  out.push_back(stored);

  // A verifier asks twice with the same nonce: the second request is a replay.
  const std::string nonce = "nonce-" + wallet + "-" + r;
  for (int i = 0; i < 2; ++i) {
    auto req = with_meta<PresentationRequestReceived>(present, wallet);
    req.request_id = "req-" + wallet + "-" + r + "-" + std::to_string(i);
    req.dcql_query = R"({"credentials":[{"id":"degree","format":"dc+sd-jwt"}]})";
    req.nonce = nonce;
    req.client_id = "https://verifier.example.com";
    out.push_back(req);
  }
  auto submitted = with_meta<PresentationSubmitted>(present, wallet);
  submitted.request_id = "req-" + wallet + "-" + r + "-0";
  submitted.presentation_submission_id = "sub-" + wallet + "-" + r;
  submitted.vp_token = "eyJ2cCI6ImRlbW8ifQ.vp-" + new_uuid();
  out.push_back(submitted);

  auto valid = with_meta<PresentationVerified>(present, wallet);
  valid.request_id = "req-" + wallet + "-" + r + "-0";
  valid.presentation_submission_id = "sub-" + wallet + "-" + r;
  valid.validation_status = ValidationStatus::Valid();
  valid.holder_binding_verified = true;
  out.push_back(valid);

  auto invalid = with_meta<PresentationVerified>(present, wallet);
  invalid.request_id = "req-" + wallet + "-" + r + "-1";
  invalid.presentation_submission_id = "sub-" + wallet + "-" + r + "-b";
  invalid.validation_status = ValidationStatus::Invalid("key binding JWT nonce mismatch");
  invalid.holder_binding_verified = false;
  out.push_back(invalid);

  auto rotated = with_meta<KeyRotated>(keys, wallet);
  rotated.old_key_id = "key-" + wallet + "-" + r + "-a";
  rotated.new_key_id = "key-" + wallet + "-" + r + "-b";
  rotated.new_kid = "kid-" + wallet + "-" + r + "-b";
  rotated.key_type = "EC P-256";
  out.push_back(rotated);

  auto deleted = with_meta<CredentialDeleted>(issuance, wallet);
  deleted.credential_id = "cred-" + wallet + "-" + r;
  deleted.notification_id = notification;
  deleted.event = "credential_deleted";
  out.push_back(deleted);
  return out;
}

Result<std::unique_ptr<DemoFlow>> DemoFlow::start(const config::Config& config,
                                                  const std::string& bootstrap) {
  std::unique_ptr<DemoFlow> d(new DemoFlow());
  d->config_ = config;
  ClientConfig client;
  client.bootstrap_servers = bootstrap;
  client.topic_prefix = config.topics.prefix;
  client.timeout = std::chrono::milliseconds(10000);
  auto publisher = Publisher::create(client);
  if (!publisher.ok()) return publisher.error();
  d->publisher_ = std::move(publisher).value();
  d->issuer_url_ = "https://issuer.demo.example";

  if (config.demo.notification_address) {
    const auto& addr = *config.demo.notification_address;
    d->issuer_ = std::make_unique<httplib::Server>();
    // stop() waits for idle keep-alive connections to time out (5 s by default), as the
    // admin endpoint's does; the notification plugin keeps its connections open.
    d->issuer_->set_keep_alive_timeout(1);
    d->issuer_->Post("/notification", [](const httplib::Request& req, httplib::Response& res) {
      auto body = nlohmann::json::parse(req.body, nullptr, false);
      const bool bearer = req.get_header_value("Authorization").rfind("Bearer ", 0) == 0;
      if (!body.is_object() || !body.contains("notification_id") || !bearer) {
        res.status = 400;
        res.set_content(R"({"error":"invalid_notification_request"})", "application/json");
        return;
      }
      log_message(LogLevel::kInfo,
                  "[demo issuer] notification received: " + body.value("event", std::string("?")) +
                      " for " + body.value("notification_id", std::string("?")));
      res.status = 204;
    });
    int port = addr.port;
    if (port == 0) {
      port = d->issuer_->bind_to_any_port(addr.host);
    } else if (!d->issuer_->bind_to_port(addr.host, port)) {
      port = -1;
    }
    if (port <= 0)
      return Error{Error::Code::kUnavailable, "demo.notification_server " +
                                                  config.demo.notification_server +
                                                  ": cannot bind (address in use?)"};
    d->issuer_loop_.start(d->issuer_.get());
    info("local issuer answering notification requests on http://" + addr.host + ":" +
         std::to_string(port) + "/notification");
  }
  // Where the audit instances write (the audit plugin's `directory`: "" = "audit", relative
  // to the instance's state directory <state_dir>/<instance>).
  for (const auto& p : config.plugins) {
    if (!p.enabled || (p.path != "audit" && !p.path.ends_with("/audit.so"))) continue;
    auto cfg = nlohmann::json::parse(p.config_json, nullptr, false);
    std::string dir = "audit", prefix = "audit";
    if (cfg.is_object()) {
      if (cfg.contains("directory") && cfg["directory"].is_string() &&
          !cfg["directory"].get<std::string>().empty())
        dir = cfg["directory"].get<std::string>();
      if (cfg.contains("file_prefix") && cfg["file_prefix"].is_string())
        prefix = cfg["file_prefix"].get<std::string>();
    }
    std::filesystem::path path(dir);
    if (path.is_relative()) path = std::filesystem::path(config.state_dir) / p.name / path;
    d->audit_logs_.push_back({p.name, path.lexically_normal().string(), prefix});
  }
  if (config.admin.enabled)
    info("metrics: curl http://" + config.admin.listen + "/metrics | grep ^wallet_");
  for (const auto& a : d->audit_logs_)
    info("audit log of instance " + a.instance + ": " + a.dir +
         " (check it with: wallet-eventd audit verify " + a.dir + ")");
  d->thread_ = std::thread([raw = d.get()] { raw->loop(); });
  return d;
}

void DemoFlow::report_audit_logs() {
#ifdef WEP_DEMO_AUDIT_CHAIN
  for (const auto& a : audit_logs_) {
    if (!std::filesystem::exists(a.dir)) continue;
    auto report = wep_audit::verify_directory(a.dir, a.file_prefix);
    if (!report.ok) {
      // A live log: the check may have met a record still being written. Look again.
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      report = wep_audit::verify_directory(a.dir, a.file_prefix);
    }
    if (report.ok) {
      info("audit log " + a.dir + ": " + std::to_string(report.records) + " records in " +
           std::to_string(report.files) + " file(s), hash chain intact");
    } else if (report.files > 0) {  // no file yet: nothing handled so far
      log_message(LogLevel::kWarn, "[demo] audit log " + a.dir + ": " + report.error + " (" +
                                       report.first_error_file + ":" +
                                       std::to_string(report.first_error_line) + ")");
    }
  }
#endif
}

void DemoFlow::stop_publishing() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

DemoFlow::~DemoFlow() {
  stop_publishing();
  issuer_loop_.stop();
}

void DemoFlow::loop() {
  int round = 0;
  auto next_report = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!stop_.load()) {
    if (std::chrono::steady_clock::now() >= next_report) {
      report_audit_logs();
      next_report = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    }
    for (uint32_t w = 0; w < config_.demo.wallets && !stop_.load(); ++w) {
      const std::string wallet = "wallet-demo-" + std::to_string(w + 1);
      const auto events = wallet_flow(wallet, round, issuer_url_);
      auto result = publisher_->publish_batch(events);
      if (result.status.ok()) {
        info("published round " + std::to_string(round) + " for " + wallet + ": " +
             std::to_string(events.size()) +
             " events (issuance, replayed nonce, valid + invalid presentation, key rotation, "
             "deletion)");
      } else {
        log_message(LogLevel::kWarn, "[demo] publish failed: " + result.status.message());
      }
      // Spread the wallets over the interval.
      auto pause = std::chrono::milliseconds(config_.demo.interval_ms) /
                   std::max<uint32_t>(1, config_.demo.wallets);
      auto until = std::chrono::steady_clock::now() + pause;
      while (!stop_.load() && std::chrono::steady_clock::now() < until)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ++round;
  }
}

}  // namespace wallet_eventd::demo
