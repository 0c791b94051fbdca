// EventMetadata construction.
#include <chrono>
#include <utility>

#include "wallet_eventd/events.h"

namespace wallet_eventd {

EventMetadata EventMetadata::create(std::string correlation_id, std::string wallet_id) {
  EventMetadata m;
  m.event_id = new_uuid();
  m.timestamp =
      std::chrono::time_point_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now());
  m.correlation_id = std::move(correlation_id);
  m.wallet_id = std::move(wallet_id);
  m.schema_version = std::string(kSchemaVersion);
  return m;
}

}  // namespace wallet_eventd
