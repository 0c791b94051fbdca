// The seed's first usage example, "Publishing Events", with the C++ client library.
//
//   publish_event                       # the seed's defaults: localhost:9092, prefix "wallet"
//   publish_event wallet-eventd.yaml    # the bus settings of the daemon's own YAML file
#include <wallet_eventd/client.h>

#include <cstdio>

using namespace wallet_eventd;

int main(int argc, char** argv) {
  // Create the publisher: ClientConfig{} holds the seed's KafkaEventBusConfig::default().
  ClientConfig config;
  if (argc > 1) {
    auto loaded = ClientConfig::from_yaml(argv[1]);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
      return 78;
    }
    config = loaded.value();
  }
  auto publisher = Publisher::create(config);
  if (!publisher.ok()) {
    std::fprintf(stderr, "publisher: %s\n", publisher.error().message.c_str());
    return 1;
  }

  // Create and publish an event. EventMetadata::create fills event_id (a fresh UUID v4),
  // timestamp (now, UTC) and schema_version ("1.0.0"), like the seed's EventMetadata::new.
  CredentialOfferReceived event;
  event.metadata = EventMetadata::create("correlation-123", "wallet-456");
  event.offer_id = "offer-789";
  event.credential_issuer = "https://issuer.example.com";
  event.credential_configuration_ids = {"UniversityDegree"};
  event.grants = std::nullopt;
  event.credential_offer_uri = std::nullopt;

  // Returns once the broker acknowledged the record, or with the error (errors are values).
  Status status = publisher.value()->publish(event);
  if (!status.ok()) {
    std::fprintf(stderr, "publish: %s\n", status.message().c_str());
    return 1;
  }
  std::printf("published %s %s to %s\n", std::string(event_type_name(type_of(event))).c_str(),
              event.metadata.event_id.c_str(), config.topic_for(type_of(event)).c_str());
  return 0;
}
