// The client library (wallet_eventd/client.h) against the real broker: every type built with the
// typed constructors, published and received through subscribe(); transactional and plain
// batches; decode errors surfaced per record; ClientConfig from the daemon's YAML.
// (Per-wallet order at volume and the unreachable-broker timeout are in bus_test.cc.)
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <regex>
#include <set>
#include <thread>

#include "support.h"
#include "wallet_eventd/client.h"

namespace {

using namespace wallet_eventd;
using namespace std::chrono_literals;

// One event of each of the 13 types, the way a wallet service builds them: the typed structs
// with EventMetadata::create (the seed's EventMetadata::new) filling event_id, timestamp and
// schema_version. Optional fields are set on some and left empty on others.
std::vector<WalletEvent> one_of_each(const std::string& wallet) {
  auto md = [&](const std::string& corr) { return EventMetadata::create(corr, wallet); };
  Grants grants;
  grants.authorization_code = AuthorizationCodeGrant{"issuer-state-1"};
  grants.pre_authorized_code = PreAuthorizedCodeGrant{"pre-auth-1", TxCode{"numeric", 6, "PIN"}};
  std::vector<WalletEvent> out;
  out.push_back(CredentialOfferSent{{md("flow-1"),
                                     "offer-1",
                                     "https://issuer.example.com",
                                     {"UniversityDegree", "DriverLicense"},
                                     grants,
                                     std::nullopt}});
  out.push_back(CredentialOfferReceived{{md("flow-1"),
                                         "offer-789",
                                         "https://issuer.example.com",
                                         {"UniversityDegree"},
                                         std::nullopt,
                                         "https://issuer.example.com/offers/789"}});
  out.push_back(CredentialIssued{md("flow-1"), "eyJhbGciOi.credential.sig", "UniversityDegree",
                                 "notif-1", std::nullopt});
  out.push_back(CredentialAcknowledged{md("flow-1"), "notif-1", "credential_accepted"});
  out.push_back(CredentialStored{md("flow-1"), "cred-1", "UniversityDegree",
                                 "https://issuer.example.com", "notif-1"});
  out.push_back(CredentialDeleted{md("flow-2"), "cred-0", "notif-0", "credential_deleted"});
  out.push_back(PresentationRequestSent{{md("flow-3"), "req-1", R"({"credentials":[]})", "nonce-1",
                                         "verifier.example", std::nullopt}});
  out.push_back(
      PresentationRequestReceived{{md("flow-3"), "req-1", R"({"credentials":[]})", "nonce-1",
                                   "verifier.example", "https://verifier.example/response"}});
  out.push_back(PresentationSubmitted{md("flow-3"), "req-1", "sub-1", "vp.token.value"});
  out.push_back(PresentationVerified{md("flow-3"), "req-1", "sub-1",
                                     ValidationStatus::Invalid("nonce mismatch \"quoted\" ü"),
                                     true});
  out.push_back(KeyCreated{md("flow-4"), "key-1", "kid-1", "EC_P256", "attestation-jwt"});
  out.push_back(KeyRotated{md("flow-4"), "key-1", "key-2", "kid-2", "EC_P256", std::nullopt});
  out.push_back(KeyRevoked{md("flow-4"), "key-2", "kid-2", "compromised"});
  return out;
}

KeyCreated key_created(const std::string& wallet, const std::string& key_id) {
  return KeyCreated{EventMetadata::create("corr-" + key_id, wallet), key_id, "kid-" + key_id,
                    "EC_P256", std::nullopt};
}

// Reads until `want` events arrived (then `settle` longer, to catch extras) or `timeout`.
struct Collected {
  std::vector<ReceivedEvent> events;
  std::vector<ReceiveError> errors;
};
Collected collect(Subscriber& sub, size_t want, std::chrono::milliseconds timeout,
                  std::chrono::milliseconds settle = 2s) {
  Collected c;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto next = sub.next(200ms);
    if (!next) continue;
    if (next->ok()) {
      c.events.push_back(std::move(*next).value());
    } else {
      c.errors.push_back(next->error());
    }
    if (c.events.size() >= want) break;
  }
  auto quiet_until = std::chrono::steady_clock::now() + settle;
  while (std::chrono::steady_clock::now() < quiet_until) {
    auto next = sub.next(200ms);
    if (!next) continue;
    if (next->ok()) {
      c.events.push_back(std::move(*next).value());
    } else {
      c.errors.push_back(next->error());
    }
  }
  return c;
}

std::unique_ptr<Subscriber> subscribe(const ClientConfig& cfg, const std::string& group,
                                      std::vector<EventType> types = {},
                                      bool read_committed = true) {
  Subscriber::Options opts;
  opts.types = std::move(types);
  opts.group_id = cfg.group_id + "." + group;
  opts.read_committed = read_committed;
  auto sub = Subscriber::create(cfg, opts);
  EXPECT_TRUE(sub.ok()) << sub.error().message;
  return sub.ok() ? std::move(sub).value() : nullptr;
}

std::set<std::string> ids_of(const std::vector<ReceivedEvent>& events) {
  std::set<std::string> out;
  for (const auto& e : events) out.insert(metadata_of(e.event).event_id);
  return out;
}
std::set<std::string> ids_of(const std::vector<WalletEvent>& events) {
  std::set<std::string> out;
  for (const auto& e : events) out.insert(metadata_of(e).event_id);
  return out;
}

TEST(Client, TypedConstructorsFillMetadataTheWayTheSeedDoes) {
  const auto before = std::chrono::system_clock::now();
  auto events = one_of_each("wallet-456");
  const auto after = std::chrono::system_clock::now();
  ASSERT_EQ(events.size(), 13u);
  const std::regex uuid_v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::set<std::string> ids;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& m = metadata_of(events[i]);
    EXPECT_EQ(static_cast<int>(type_of(events[i])), static_cast<int>(i) + 1);
    EXPECT_TRUE(std::regex_match(m.event_id, uuid_v4)) << m.event_id;
    EXPECT_GE(m.timestamp, before);
    EXPECT_LE(m.timestamp, after);
    EXPECT_EQ(m.schema_version, "1.0.0");
    EXPECT_EQ(m.wallet_id, "wallet-456");
    ids.insert(m.event_id);
    // The wire form decodes back to the same event.
    auto back = decode_event(encode_event(events[i]));
    ASSERT_TRUE(back.ok()) << back.error().message();
    EXPECT_TRUE(back.value() == events[i]) << encode_event(events[i]);
  }
  EXPECT_EQ(ids.size(), 13u) << "event ids repeat";
}

TEST(Client, EveryTypePublishedIsReceivedThroughSubscribeDecodedAndEqual) {
  const std::string prefix = wep_it::unique_prefix();
  const ClientConfig cfg = wep_it::client_config(prefix);
  auto publisher = Publisher::create(cfg);
  ASSERT_TRUE(publisher.ok()) << publisher.error().message;
  const auto sent = one_of_each("wallet-all");
  for (const auto& e : sent) {
    Status s = publisher.value()->publish(e);
    ASSERT_TRUE(s.ok()) << event_type_name(type_of(e)) << ": " << s.message();
  }

  std::vector<EventType> all(all_event_types().begin(), all_event_types().end());
  auto sub = subscribe(cfg, "all", all);
  ASSERT_NE(sub, nullptr);
  auto got = collect(*sub, 13, 60s);
  EXPECT_TRUE(got.errors.empty()) << got.errors.front().error.message();
  ASSERT_EQ(got.events.size(), 13u);
  std::map<std::string, const WalletEvent*> by_id;
  for (const auto& e : sent) by_id[metadata_of(e).event_id] = &e;
  std::set<EventType> types;
  for (const auto& r : got.events) {
    const auto& md = metadata_of(r.event);
    auto it = by_id.find(md.event_id);
    ASSERT_NE(it, by_id.end()) << "unexpected event " << md.event_id;
    EXPECT_TRUE(r.event == *it->second) << "decoded event differs: " << encode_event(r.event)
                                        << " vs " << encode_event(*it->second);
    types.insert(type_of(r.event));
    // Routing, key and headers as PRODUCT.md fixes them.
    EXPECT_EQ(r.record.topic, prefix + "." + std::string(topic_suffix(type_of(r.event))));
    EXPECT_EQ(r.record.key, "wallet-all");
    ASSERT_NE(r.record.header("event_type"), nullptr);
    EXPECT_EQ(*r.record.header("event_type"), event_type_name(type_of(r.event)));
    ASSERT_NE(r.record.header("correlation_id"), nullptr);
    EXPECT_EQ(*r.record.header("correlation_id"), md.correlation_id);
    ASSERT_NE(r.record.header("wallet_id"), nullptr);
    EXPECT_EQ(*r.record.header("wallet_id"), "wallet-all");
    ASSERT_NE(r.record.header("schema_version"), nullptr);
    EXPECT_EQ(*r.record.header("schema_version"), "1.0.0");
  }
  EXPECT_EQ(types.size(), 13u);
  EXPECT_TRUE(sub->commit().ok());

  // The seed's second example: subscribe to two types; the others on the same topics
  // (CredentialAcknowledged, CredentialDeleted) and elsewhere are skipped.
  auto two = subscribe(cfg, "two", {EventType::kCredentialIssued, EventType::kCredentialStored});
  ASSERT_NE(two, nullptr);
  auto got2 = collect(*two, 2, 60s, 3s);
  EXPECT_TRUE(got2.errors.empty());
  ASSERT_EQ(got2.events.size(), 2u);
  std::set<EventType> two_types;
  for (const auto& r : got2.events) two_types.insert(type_of(r.event));
  EXPECT_EQ(two_types,
            (std::set<EventType>{EventType::kCredentialIssued, EventType::kCredentialStored}));
}

// publish_async of a record checked with check_event (what `wallet-eventd publish` does per
// line): the bytes go verbatim, routed, keyed and with the headers the typed path gives them.
TEST(Client, ACheckedWireRecordIsRoutedKeyedAndHeaderedAsTheTypedEventWouldBe) {
  const std::string prefix = wep_it::unique_prefix();
  const ClientConfig cfg = wep_it::client_config(prefix);
  auto publisher = Publisher::create(cfg, Publisher::Deliveries::kCallerThread);
  ASSERT_TRUE(publisher.ok()) << publisher.error().message;
  std::map<std::string, std::string> sent;  // event_id -> the bytes sent
  std::string text;
  int done = 0;
  for (const auto& file : wep_it::golden_files()) {
    const std::string json = wep_it::read_file(file);
    text.clear();
    auto checked = check_event(json, &text);
    ASSERT_TRUE(checked.ok()) << file << ": " << checked.error().message();
    sent[std::string(checked.value().event_id.in(text))] = json;
    Status s = publisher.value()->publish_async(checked.value(), text, json,
                                                [&](const Status& st) { done += st.ok(); });
    ASSERT_TRUE(s.ok()) << file << ": " << s.message();
  }
  // A CheckedEvent that check_event did not fill has no type: refused, `done` never called.
  Status none = publisher.value()->publish_async(CheckedEvent{}, "", "{}", [&](const Status&) {
    ADD_FAILURE() << "called for a refused record";
  });
  EXPECT_EQ(none.error().code, Error::Code::kInvalidArgument);
  ASSERT_TRUE(publisher.value()->flush(30s).ok());
  EXPECT_EQ(done, static_cast<int>(sent.size()));

  auto sub = subscribe(cfg, "checked");
  ASSERT_NE(sub, nullptr);
  auto got = collect(*sub, sent.size(), 60s);
  EXPECT_TRUE(got.errors.empty()) << got.errors.front().error.message();
  ASSERT_EQ(got.events.size(), sent.size());
  for (const auto& r : got.events) {
    const auto& md = metadata_of(r.event);
    ASSERT_EQ(sent.count(md.event_id), 1u) << md.event_id;
    EXPECT_EQ(r.record.value, sent[md.event_id]);  // verbatim, not re-encoded
    EXPECT_EQ(r.record.topic, cfg.topic_for(type_of(r.event)));
    EXPECT_EQ(r.record.key, md.wallet_id);
    for (const auto& h : event_headers(r.event)) {
      ASSERT_NE(r.record.header(h.key), nullptr) << h.key;
      EXPECT_EQ(*r.record.header(h.key), h.value) << h.key;
    }
  }
}

TEST(Client, PublishRefusesAnEventThatWouldNotDecode) {
  const std::string prefix = wep_it::unique_prefix();
  const ClientConfig cfg = wep_it::client_config(prefix);
  auto publisher = Publisher::create(cfg);
  ASSERT_TRUE(publisher.ok()) << publisher.error().message;

  KeyCreated bad_id = key_created("w", "k1");
  bad_id.metadata.event_id = "not-a-uuid";
  Status s = publisher.value()->publish(bad_id);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Error::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("invalid KeyCreated event: payload.metadata.event_id"),
            std::string::npos)
      << s.message();

  KeyCreated bad_major = key_created("w", "k2");
  bad_major.metadata.schema_version = "2.0.0";
  s = publisher.value()->publish(bad_major);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Error::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("schema_version"), std::string::npos) << s.message();

  // publish_json: the JSON must be the event it is routed as.
  KeyCreated good = key_created("w", "k3");
  KeyRevoked other{EventMetadata::create("c", "w"), "k3", "kid", "lost"};
  s = publisher.value()->publish_json(good, encode_event(other));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Error::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("the JSON is a KeyRevoked, the event a KeyCreated"), std::string::npos)
      << s.message();
  s = publisher.value()->publish_json(good, "{not json");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Error::Code::kInvalidArgument);
  // ... and of the wallet it is keyed by.
  s = publisher.value()->publish_json(good, encode_event(key_created("w-other", "k3")));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, Error::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("the JSON's wallet_id differs from the event's"), std::string::npos)
      << s.message();

  // publish_async of an invalid event: refused at once, the callback never runs.
  bool called = false;
  s = publisher.value()->publish_async(bad_id, {}, [&](const Status&) { called = true; });
  EXPECT_EQ(s.error().code, Error::Code::kInvalidArgument);
  ASSERT_TRUE(publisher.value()->flush(10s).ok());
  EXPECT_FALSE(called);

  // Nothing of the refused ones reached the bus; the valid one did.
  ASSERT_TRUE(publisher.value()->publish(good).ok());
  auto sub = subscribe(cfg, "refused", {EventType::kKeyCreated, EventType::kKeyRevoked});
  ASSERT_NE(sub, nullptr);
  auto got = collect(*sub, 1, 60s, 3s);
  EXPECT_TRUE(got.errors.empty());
  ASSERT_EQ(got.events.size(), 1u);
  EXPECT_TRUE(got.events[0].event == WalletEvent(good));
}

TEST(Client, BatchWithoutTransactionReturnsAResultPerEvent) {
  const std::string prefix = wep_it::unique_prefix();
  const ClientConfig cfg = wep_it::client_config(prefix);
  ASSERT_FALSE(cfg.transactional_id.has_value());
  auto publisher = Publisher::create(cfg);
  ASSERT_TRUE(publisher.ok()) << publisher.error().message;
  std::vector<WalletEvent> batch;
  for (int i = 0; i < 5; ++i)
    batch.push_back(key_created("wallet-" + std::to_string(i % 2), "k" + std::to_string(i)));
  std::get<KeyCreated>(batch[2]).metadata.event_id = "zzzz";  // the invalid one

  auto result = publisher.value()->publish_batch(batch);
  ASSERT_EQ(result.events.size(), 5u);
  EXPECT_FALSE(result.status.ok());
  EXPECT_EQ(result.status.error().code, Error::Code::kInvalidArgument);
  for (size_t i = 0; i < 5; ++i) {
    if (i == 2) {
      ASSERT_FALSE(result.events[i].ok());
      EXPECT_EQ(result.events[i].error().code, Error::Code::kInvalidArgument);
      EXPECT_NE(result.events[i].message().find("payload.metadata.event_id"), std::string::npos)
          << result.events[i].message();
    } else {
      EXPECT_TRUE(result.events[i].ok()) << i << ": " << result.events[i].message();
    }
  }

  // Exactly the four valid ones are on the bus.
  auto sub = subscribe(cfg, "plain", {EventType::kKeyCreated});
  ASSERT_NE(sub, nullptr);
  auto got = collect(*sub, 4, 60s, 3s);
  EXPECT_TRUE(got.errors.empty());
  std::vector<WalletEvent> valid = {batch[0], batch[1], batch[3], batch[4]};
  EXPECT_EQ(ids_of(got.events), ids_of(valid));
  EXPECT_EQ(got.events.size(), 4u);

  // An all-valid batch: every entry ok.
  std::vector<WalletEvent> fine = {key_created("w", "a"), key_created("w", "b")};
  auto ok = publisher.value()->publish_batch(fine);
  EXPECT_TRUE(ok.status.ok()) << ok.status.message();
  ASSERT_EQ(ok.events.size(), 2u);
  EXPECT_TRUE(ok.events[0].ok() && ok.events[1].ok());
}

// Deliveries::kCallerThread: every `done` runs exactly once, on the publishing thread, inside a
// publish_async or flush call; publish() and publish_batch() return (they serve the reports
// they wait for); what was published is on the bus.
TEST(Client, CallerThreadDeliveriesRunEveryCallbackOnThePublishingThread) {
  const std::string prefix = wep_it::unique_prefix();
  const ClientConfig cfg = wep_it::client_config(prefix);
  auto created = Publisher::create(cfg, Publisher::Deliveries::kCallerThread);
  ASSERT_TRUE(created.ok()) << created.error().message;
  Publisher& publisher = *created.value();
  const std::thread::id me = std::this_thread::get_id();

  constexpr int kAsync = 500;
  std::vector<WalletEvent> sent;
  std::vector<int> calls(kAsync, 0);
  std::atomic<int> elsewhere{0}, failed{0};
  std::atomic<bool> inside_a_call{false};
  std::atomic<int> outside{0};
  for (int i = 0; i < kAsync; ++i) {
    sent.push_back(key_created("wallet-" + std::to_string(i % 7), "a" + std::to_string(i)));
    inside_a_call = true;
    Status s = publisher.publish_async(sent.back(), {}, [&, i](const Status& st) {
      ++calls[i];
      if (std::this_thread::get_id() != me) ++elsewhere;
      if (!inside_a_call) ++outside;
      if (!st.ok()) ++failed;
    });
    inside_a_call = false;
    ASSERT_TRUE(s.ok()) << s.message();
  }
  inside_a_call = true;
  ASSERT_TRUE(publisher.flush(30s).ok());
  inside_a_call = false;
  for (int i = 0; i < kAsync; ++i) ASSERT_EQ(calls[i], 1) << i;
  EXPECT_EQ(elsewhere.load(), 0);
  EXPECT_EQ(outside.load(), 0);
  EXPECT_EQ(failed.load(), 0);

  // The waiting calls serve their own reports rather than waiting forever.
  sent.push_back(key_created("wallet-sync", "sync"));
  Status s = publisher.publish(sent.back());
  ASSERT_TRUE(s.ok()) << s.message();
  std::vector<WalletEvent> batch = {key_created("wallet-b", "b1"), key_created("wallet-b", "b2")};
  auto result = publisher.publish_batch(batch);
  ASSERT_TRUE(result.status.ok()) << result.status.message();
  sent.insert(sent.end(), batch.begin(), batch.end());

  auto sub = subscribe(cfg, "caller", {EventType::kKeyCreated});
  ASSERT_NE(sub, nullptr);
  auto got = collect(*sub, sent.size(), 60s, 3s);
  EXPECT_TRUE(got.errors.empty());
  EXPECT_EQ(got.events.size(), sent.size());
  EXPECT_EQ(ids_of(got.events), ids_of(sent));
}

TEST(Client, TransactionalBatchAbortedMidwayShowsNothingCommittedOneShowsAll) {
  const std::string prefix = wep_it::unique_prefix();
  ClientConfig cfg = wep_it::client_config(prefix);
  cfg.transactional_id = prefix + ".tx";
  auto publisher = Publisher::create(cfg);
  ASSERT_TRUE(publisher.ok()) << publisher.error().message;

  // 50 events over several wallets (so several partitions), the 31st invalid.
  std::vector<WalletEvent> aborted;
  for (int i = 0; i < 50; ++i)  // the key id appended: GCC 12 -O3 warns on "a" + to_string
    aborted.push_back(
        key_created("wallet-" + std::to_string(i % 7), std::string("a").append(std::to_string(i))));
  std::get<KeyCreated>(aborted[30]).metadata.schema_version = "7.0.0";
  auto r1 = publisher.value()->publish_batch(aborted);
  ASSERT_FALSE(r1.status.ok());
  EXPECT_EQ(r1.status.error().code, Error::Code::kInvalidArgument) << r1.status.message();
  EXPECT_NE(r1.status.message().find("schema_version"), std::string::npos) << r1.status.message();
  ASSERT_EQ(r1.events.size(), 50u);
  for (const auto& s : r1.events) EXPECT_FALSE(s.ok());

  // The same publisher commits the next batch.
  std::vector<WalletEvent> committed;
  for (int i = 0; i < 20; ++i)
    committed.push_back(key_created("wallet-" + std::to_string(i % 7), "c" + std::to_string(i)));
  committed.push_back(KeyRevoked{EventMetadata::create("c", "wallet-1"), "c1", "kid", "lost"});
  auto r2 = publisher.value()->publish_batch(committed);
  ASSERT_TRUE(r2.status.ok()) << r2.status.message();
  ASSERT_EQ(r2.events.size(), committed.size());
  for (const auto& s : r2.events) EXPECT_TRUE(s.ok()) << s.message();

  // A read_committed subscriber sees every committed event and none of the aborted batch.
  auto sub = subscribe(cfg, "rc", {EventType::kKeyCreated, EventType::kKeyRevoked});
  ASSERT_NE(sub, nullptr);
  auto got = collect(*sub, committed.size(), 60s, 3s);
  EXPECT_TRUE(got.errors.empty());
  EXPECT_EQ(got.events.size(), committed.size());
  EXPECT_EQ(ids_of(got.events), ids_of(committed));
}

TEST(Client, ExplicitTransactionAbortedAfterReachingTheBrokerStaysInvisible) {
  const std::string prefix = wep_it::unique_prefix();
  ClientConfig cfg = wep_it::client_config(prefix);
  cfg.transactional_id = prefix + ".tx";
  auto created = Publisher::create(cfg);
  ASSERT_TRUE(created.ok()) << created.error().message;
  Publisher& publisher = *created.value();

  std::vector<WalletEvent> doomed = {key_created("w1", "x1"), key_created("w2", "x2"),
                                     key_created("w3", "x3")};
  ASSERT_TRUE(publisher.begin_transaction().ok());
  std::atomic<int> delivered{0};
  for (const auto& e : doomed)
    ASSERT_TRUE(publisher
                    .publish_async(e, {},
                                   [&](const Status& s) {
                                     if (s.ok()) ++delivered;
                                   })
                    .ok());
  ASSERT_TRUE(publisher.flush(20s).ok());
  EXPECT_EQ(delivered.load(), 3) << "the aborted records must really be on the broker";
  Status aborted = publisher.abort_transaction();
  ASSERT_TRUE(aborted.ok()) << aborted.message();

  std::vector<WalletEvent> kept = {key_created("w1", "y1"), key_created("w2", "y2")};
  ASSERT_TRUE(publisher.begin_transaction().ok());
  for (const auto& e : kept) ASSERT_TRUE(publisher.publish_async(e, {}, nullptr).ok());
  Status committed = publisher.commit_transaction();
  ASSERT_TRUE(committed.ok()) << committed.message();

  auto rc = subscribe(cfg, "rc", {EventType::kKeyCreated});
  ASSERT_NE(rc, nullptr);
  auto got = collect(*rc, kept.size(), 60s, 3s);
  EXPECT_EQ(ids_of(got.events), ids_of(kept));
  EXPECT_EQ(got.events.size(), kept.size());

  // read_uncommitted shows the aborted records too: they were written, then aborted.
  auto ru = subscribe(cfg, "ru", {EventType::kKeyCreated}, /*read_committed=*/false);
  ASSERT_NE(ru, nullptr);
  auto all = collect(*ru, 5, 60s, 2s);
  std::vector<WalletEvent> both = doomed;
  both.insert(both.end(), kept.begin(), kept.end());
  EXPECT_EQ(ids_of(all.events), ids_of(both));

  // Transactions need a transactional id.
  ClientConfig plain = wep_it::client_config(prefix);
  auto p2 = Publisher::create(plain);
  ASSERT_TRUE(p2.ok());
  Status no_tx = p2.value()->begin_transaction();
  EXPECT_EQ(no_tx.error().code, Error::Code::kInvalidArgument);
}

TEST(Client, SubscribeSurfacesAPerRecordDecodeErrorAndKeepsGoing) {
  const std::string prefix = wep_it::unique_prefix();
  const ClientConfig cfg = wep_it::client_config(prefix);
  ASSERT_TRUE(cfg.enable_dlq);
  auto publisher = Publisher::create(cfg);
  ASSERT_TRUE(publisher.ok()) << publisher.error().message;
  const std::string topic = prefix + ".credential.storage";
  // One wallet key, so one partition: the order below is the order read.
  CredentialStored first{EventMetadata::create("c", "w-dec"), "cred-1", "T", "iss", std::nullopt};
  CredentialStored last{EventMetadata::create("c", "w-dec"), "cred-2", "T", "iss", std::nullopt};
  ASSERT_TRUE(publisher.value()->publish(first).ok());
  wep_it::produce_raw(topic, "w-dec", "{not json");
  wep_it::produce_raw(topic, "w-dec", R"({"event_type":"CredentialBurned","payload":{}})");
  // A valid KeyCreated on this topic: subscribers of KeyCreated read key.operations only.
  const std::string stray =
      wep_it::read_file(std::string(WEP_GOLDEN_DIR) + "/wire/valid/KeyCreated.json");
  wep_it::produce_raw(topic, "w-dec", stray);
  ASSERT_TRUE(publisher.value()->publish(last).ok());

  auto sub = subscribe(cfg, "dec", {EventType::kCredentialStored});
  ASSERT_NE(sub, nullptr);
  std::vector<std::optional<Result<ReceivedEvent, ReceiveError>>> seen;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (seen.size() < 5 && std::chrono::steady_clock::now() < deadline) {
    auto n = sub->next(200ms);
    if (n) seen.push_back(std::move(n));
  }
  ASSERT_EQ(seen.size(), 5u);
  ASSERT_TRUE(seen[0]->ok());
  EXPECT_TRUE(seen[0]->value().event == WalletEvent(first));
  ASSERT_FALSE(seen[1]->ok());
  EXPECT_EQ(seen[1]->error().error.code, DecodeErrorCode::kMalformedJson);
  EXPECT_EQ(seen[1]->error().record.value, "{not json");
  EXPECT_EQ(seen[1]->error().record.topic, topic);
  EXPECT_EQ(seen[1]->error().record.key, "w-dec");
  ASSERT_FALSE(seen[2]->ok());
  EXPECT_EQ(seen[2]->error().error.code, DecodeErrorCode::kUnknownEventType);
  EXPECT_NE(seen[2]->error().error.message().find("CredentialBurned"), std::string::npos)
      << seen[2]->error().error.message();
  ASSERT_FALSE(seen[3]->ok());
  EXPECT_EQ(seen[3]->error().error.code, DecodeErrorCode::kWrongTopic);
  EXPECT_EQ(seen[3]->error().error.message(),
            "KeyCreated belongs on topic " + prefix + ".key.operations");
  EXPECT_EQ(seen[3]->error().record.value, stray);
  ASSERT_TRUE(seen[4]->ok());
  EXPECT_TRUE(seen[4]->value().event == WalletEvent(last));
  EXPECT_EQ(seen[1]->error().record.offset + 1, seen[2]->error().record.offset);
  ASSERT_TRUE(sub->commit().ok());

  // The three bad records were dead-lettered with their reason and origin.
  auto dlq = wep_it::read_topic(cfg.dlq_topic, 3, std::chrono::seconds(30));
  ASSERT_EQ(dlq.size(), 3u);
  EXPECT_EQ(dlq[0].value, "{not json");
  ASSERT_NE(dlq[0].header("dlq.error.code"), nullptr);
  EXPECT_EQ(*dlq[0].header("dlq.error.code"), "malformed_json");
  ASSERT_NE(dlq[0].header("dlq.original.topic"), nullptr);
  EXPECT_EQ(*dlq[0].header("dlq.original.topic"), topic);
  ASSERT_NE(dlq[1].header("dlq.error.code"), nullptr);
  EXPECT_EQ(*dlq[1].header("dlq.error.code"), "unknown_event_type");
  ASSERT_NE(dlq[2].header("dlq.error.code"), nullptr);
  EXPECT_EQ(*dlq[2].header("dlq.error.code"), "wrong_topic");
  EXPECT_EQ(dlq[2].value, stray);

  // The same group, reopened, starts after what was returned and committed.
  sub->close();
  auto again = subscribe(cfg, "dec", {EventType::kCredentialStored});
  ASSERT_NE(again, nullptr);
  EXPECT_FALSE(again->next(8s).has_value());
}

TEST(Client, ARecordThatCouldNotBeDeadLetteredIsDeliveredAgainNotSkipped) {
  const std::string prefix = wep_it::unique_prefix();
  ClientConfig cfg = wep_it::client_config(prefix);
  auto publisher = Publisher::create(cfg);
  ASSERT_TRUE(publisher.ok()) << publisher.error().message;
  const std::string topic = prefix + ".credential.storage";
  CredentialStored after{EventMetadata::create("c", "w-dlq"), "cred-9", "T", "iss", std::nullopt};
  wep_it::produce_raw(topic, "w-dlq", "{broken");
  ASSERT_TRUE(publisher.value()->publish(after).ok());

  // A DLQ topic the broker refuses: dead-lettering fails.
  cfg.dlq_topic = "bad dlq topic!";
  cfg.timeout = std::chrono::milliseconds(5000);
  auto sub = subscribe(cfg, "nodlq", {EventType::kCredentialStored});
  ASSERT_NE(sub, nullptr);
  std::optional<Result<ReceivedEvent, ReceiveError>> first;
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!first && std::chrono::steady_clock::now() < deadline) first = sub->next(200ms);
  ASSERT_TRUE(first.has_value());
  ASSERT_FALSE(first->ok());
  const int64_t offset = first->error().record.offset;
  // The next call hands out the same record again (the DLQ is retried), not the event after
  // it: otherwise a commit would step over a record that never reached the DLQ.
  std::optional<Result<ReceivedEvent, ReceiveError>> second;
  deadline = std::chrono::steady_clock::now() + 60s;
  while (!second && std::chrono::steady_clock::now() < deadline) second = sub->next(200ms);
  ASSERT_TRUE(second.has_value());
  ASSERT_FALSE(second->ok()) << "the undead-lettered record was skipped";
  EXPECT_EQ(second->error().record.offset, offset);
  EXPECT_EQ(second->error().error.code, DecodeErrorCode::kMalformedJson);
}

TEST(Client, ConfigFromDaemonYamlEqualsStructDefaultsWhereTheYamlIsSilent) {
  auto dir = wep_it::temp_dir();
  const std::string silent = wep_it::write_file(dir, "silent.yaml",
                                                "bus:\n"
                                                "  bootstrap_servers: \"kafka-1.example:9092\"\n");
  auto loaded = ClientConfig::from_yaml(silent);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  const ClientConfig& c = loaded.value();
  const ClientConfig d;
  EXPECT_EQ(c.bootstrap_servers, "kafka-1.example:9092");
  EXPECT_EQ(c.topic_prefix, d.topic_prefix);
  EXPECT_EQ(c.group_id, d.group_id);
  EXPECT_EQ(c.acks, d.acks);
  EXPECT_EQ(c.retries, d.retries);
  EXPECT_EQ(c.enable_dlq, d.enable_dlq);
  EXPECT_EQ(c.dlq_topic, d.dlq_topic);
  EXPECT_EQ(c.transactional_id, d.transactional_id);
  EXPECT_EQ(c.timeout, d.timeout);
  EXPECT_EQ(c.properties, d.properties);
  EXPECT_EQ(c.producer_properties, d.producer_properties);
  EXPECT_EQ(c.consumer_properties, d.consumer_properties);
  EXPECT_EQ(c.limits.max_bytes, d.limits.max_bytes);
  EXPECT_EQ(c.limits.max_depth, d.limits.max_depth);
  // ... and those defaults are the seed's KafkaEventBusConfig::default().
  EXPECT_EQ(d.bootstrap_servers, "localhost:9092");
  EXPECT_EQ(d.topic_prefix, "wallet");
  EXPECT_EQ(d.group_id, "wallet-event-handlers");
  EXPECT_EQ(d.acks, "all");
  EXPECT_EQ(d.retries, 3);
  EXPECT_TRUE(d.enable_dlq);
  EXPECT_EQ(d.dlq_topic, "wallet.dlq");
  EXPECT_FALSE(d.transactional_id.has_value());

  // Where the YAML speaks, it wins, and each librdkafka map keeps its own role.
  const std::string spoken =
      wep_it::write_file(dir, "spoken.yaml",
                         "bus:\n"
                         "  bootstrap_servers: \"127.0.0.1:9092,127.0.0.1:9093\"\n"
                         "  properties:\n"
                         "    client.id: svc\n"
                         "  producer_properties:\n"
                         "    acks: \"1\"\n"
                         "    retries: \"7\"\n"
                         "    linger.ms: \"20\"\n"
                         "  consumer_properties:\n"
                         "    fetch.min.bytes: \"10\"\n"
                         "topics:\n"
                         "  prefix: acme\n"
                         "consumer:\n"
                         "  group_prefix: acme-svc\n"
                         "  max_record_bytes: 4096\n"
                         "dlq:\n"
                         "  enabled: false\n");
  auto s = ClientConfig::from_yaml(spoken);
  ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(s.value().bootstrap_servers, "127.0.0.1:9092,127.0.0.1:9093");
  EXPECT_EQ(s.value().topic_prefix, "acme");
  EXPECT_EQ(s.value().topic_for(EventType::kKeyRevoked), "acme.key.operations");
  EXPECT_EQ(s.value().dlq_topic, "acme.dlq");
  EXPECT_EQ(s.value().group_id, "acme-svc");
  EXPECT_FALSE(s.value().enable_dlq);
  EXPECT_EQ(s.value().acks, "1");
  EXPECT_EQ(s.value().retries, 7);
  EXPECT_EQ(s.value().limits.max_bytes, 4096u);
  using Map = std::map<std::string, std::string>;
  EXPECT_EQ(s.value().properties, (Map{{"client.id", "svc"}}));
  EXPECT_EQ(s.value().producer_properties, (Map{{"linger.ms", "20"}}));
  EXPECT_EQ(s.value().consumer_properties, (Map{{"fetch.min.bytes", "10"}}));

  // A bad file: the loader's error, file:line:column, as kInvalidArgument.
  const std::string bad = wep_it::write_file(dir, "bad.yaml",
                                             "bus:\n"
                                             "  bootstrap_server: \"127.0.0.1:9092\"\n");
  auto b = ClientConfig::from_yaml(bad);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, Error::Code::kInvalidArgument);
  EXPECT_NE(b.error().message.find("bad.yaml:2:"), std::string::npos) << b.error().message;
  EXPECT_NE(b.error().message.find("bootstrap_servers"), std::string::npos) << b.error().message;
}

}  // namespace
