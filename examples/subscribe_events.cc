// The seed's second usage example, "Subscribing to Events": subscribe to two event types and
// process them in an ordinary loop. Stop it with Ctrl-C.
//
//   subscribe_events                       # the seed's defaults: localhost:9092, prefix "wallet"
//   subscribe_events wallet-eventd.yaml    # the bus settings of the daemon's own YAML file
#include <wallet_eventd/client.h>

#include <csignal>
#include <cstdio>

using namespace wallet_eventd;

namespace {
volatile std::sig_atomic_t g_stop = 0;
}

int main(int argc, char** argv) {
  ClientConfig config;
  if (argc > 1) {
    auto loaded = ClientConfig::from_yaml(argv[1]);
    if (!loaded.ok()) {
      std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
      return 78;
    }
    config = loaded.value();
  }

  // Subscribe to specific event types, with the consumer group config.group_id
  // ("wallet-event-handlers" by default). Offsets are committed at least once.
  Subscriber::Options options;
  options.types = {EventType::kCredentialIssued, EventType::kCredentialStored};
  auto subscriber = Subscriber::create(config, options);
  if (!subscriber.ok()) {
    std::fprintf(stderr, "subscriber: %s\n", subscriber.error().message.c_str());
    return 1;
  }

  std::signal(SIGINT, [](int) { g_stop = 1; });
  std::signal(SIGTERM, [](int) { g_stop = 1; });

  // Process events: next() waits up to the timeout and returns nullopt when nothing came.
  while (!g_stop) {
    auto next = subscriber.value()->next(std::chrono::milliseconds(500));
    if (!next) continue;
    if (next->ok()) {
      const ReceivedEvent& received = next->value();
      std::printf("Received event: %s (wallet %s, %s[%d]@%lld)\n",
                  std::string(event_type_name(type_of(received.event))).c_str(),
                  metadata_of(received.event).wallet_id.c_str(), received.record.topic.c_str(),
                  received.record.partition, static_cast<long long>(received.record.offset));
      std::fflush(stdout);
    } else {
      // A record that is not a valid event (dead-lettered when config.enable_dlq is on).
      const ReceiveError& e = next->error();
      std::fprintf(stderr, "Error: %s[%d]@%lld: %s\n", e.record.topic.c_str(), e.record.partition,
                   static_cast<long long>(e.record.offset), e.error.message().c_str());
    }
  }
  subscriber.value()->close();  // commits what was processed and leaves the group
  return 0;
}
