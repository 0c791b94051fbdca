// An external consumer of the installed client library: publishes one event of a chosen type
// to the real broker and reads it back through subscribe(), checking it arrived unchanged.
//   usage: roundtrip <bootstrap> <topic prefix> <tag>     exit 0 = round trip done
#include <wallet_eventd/client.h>
#include <wallet_eventd/events.h>
#include <wallet_eventd/result.h>

#include <chrono>
#include <cstdio>
#include <string>

using namespace wallet_eventd;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: roundtrip <bootstrap> <topic prefix> <tag>\n");
    return 64;
  }
  ClientConfig config;
  config.bootstrap_servers = argv[1];
  config.topic_prefix = argv[2];
  config.dlq_topic = config.topic_prefix + ".dlq";
  config.group_id = config.topic_prefix + "." + argv[3];
  config.timeout = std::chrono::seconds(20);

  auto publisher = Publisher::create(config);
  if (!publisher.ok()) {
    std::fprintf(stderr, "publisher: %s\n", publisher.error().message.c_str());
    return 1;
  }
  CredentialStored event;
  event.metadata = EventMetadata::create("external-" + std::string(argv[3]), "wallet-ext");
  event.credential_id = std::string("cred-") + argv[3];
  event.credential_type = "UniversityDegree";
  event.issuer = "https://issuer.example.com";
  Status published = publisher.value()->publish(event);
  if (!published.ok()) {
    std::fprintf(stderr, "publish: %s\n", published.message().c_str());
    return 1;
  }

  Subscriber::Options options;
  options.types = {EventType::kCredentialStored};
  auto subscriber = Subscriber::create(config, options);
  if (!subscriber.ok()) {
    std::fprintf(stderr, "subscriber: %s\n", subscriber.error().message.c_str());
    return 1;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    auto next = subscriber.value()->next(std::chrono::milliseconds(500));
    if (!next) continue;
    if (!next->ok()) {
      std::fprintf(stderr, "decode error: %s\n", next->error().error.message().c_str());
      return 1;
    }
    const ReceivedEvent& got = next->value();
    if (metadata_of(got.event).event_id != event.metadata.event_id) continue;
    if (!(got.event == WalletEvent(event))) {
      std::fprintf(stderr, "received %s, sent %s\n", encode_event(got.event).c_str(),
                   encode_event(event).c_str());
      return 1;
    }
    std::printf("round trip ok: %s %s via %s[%d]@%lld key=%s\n",
                std::string(event_type_name(type_of(got.event))).c_str(),
                event.metadata.event_id.c_str(), got.record.topic.c_str(), got.record.partition,
                static_cast<long long>(got.record.offset), got.record.key.c_str());
    subscriber.value()->close();
    return 0;
  }
  std::fprintf(stderr, "the published event did not come back within 60 s\n");
  return 1;
}
