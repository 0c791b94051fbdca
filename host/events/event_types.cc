// Names, numbers and topics of the 13 event types.
#include <algorithm>

#include "wallet_eventd/events.h"

namespace wallet_eventd {
namespace {

struct TypeInfo {
  EventType type;
  std::string_view name;
  std::string_view suffix;
};

// Index = EventType number - 1 = WalletEvent alternative index.
constexpr TypeInfo kTypes[kEventTypeCount] = {
    {EventType::kCredentialOfferSent, "CredentialOfferSent", "credential.offers"},
    {EventType::kCredentialOfferReceived, "CredentialOfferReceived", "credential.offers"},
    {EventType::kCredentialIssued, "CredentialIssued", "credential.issuance"},
    {EventType::kCredentialAcknowledged, "CredentialAcknowledged", "credential.issuance"},
    {EventType::kCredentialStored, "CredentialStored", "credential.storage"},
    {EventType::kCredentialDeleted, "CredentialDeleted", "credential.storage"},
    {EventType::kPresentationRequestSent, "PresentationRequestSent", "presentation.requests"},
    {EventType::kPresentationRequestReceived, "PresentationRequestReceived",
     "presentation.requests"},
    {EventType::kPresentationSubmitted, "PresentationSubmitted", "presentation.submissions"},
    {EventType::kPresentationVerified, "PresentationVerified", "presentation.submissions"},
    {EventType::kKeyCreated, "KeyCreated", "key.operations"},
    {EventType::kKeyRotated, "KeyRotated", "key.operations"},
    {EventType::kKeyRevoked, "KeyRevoked", "key.operations"},
};

const TypeInfo& info(EventType type) { return kTypes[static_cast<int>(type) - 1]; }

}  // namespace

const std::array<EventType, kEventTypeCount>& all_event_types() {
  static const std::array<EventType, kEventTypeCount> types = [] {
    std::array<EventType, kEventTypeCount> out{};
    for (int i = 0; i < kEventTypeCount; ++i) out[i] = kTypes[i].type;
    return out;
  }();
  return types;
}

std::string_view event_type_name(EventType type) { return info(type).name; }

std::optional<EventType> parse_event_type(std::string_view name) {
  for (const auto& t : kTypes)
    if (t.name == name) return t.type;
  return std::nullopt;
}

std::string_view topic_suffix(EventType type) { return info(type).suffix; }

const std::vector<std::string_view>& all_topic_suffixes() {
  static const std::vector<std::string_view> suffixes = [] {
    std::vector<std::string_view> out;
    for (const auto& t : kTypes)
      if (std::find(out.begin(), out.end(), t.suffix) == out.end()) out.push_back(t.suffix);
    return out;
  }();
  return suffixes;
}

EventType type_of(const WalletEvent& event) {
  return static_cast<EventType>(static_cast<int32_t>(event.index()) + 1);
}

const EventMetadata& metadata_of(const WalletEvent& event) {
  return std::visit([](const auto& e) -> const EventMetadata& { return e.metadata; }, event);
}

EventMetadata& metadata_of(WalletEvent& event) {
  return std::visit([](auto& e) -> EventMetadata& { return e.metadata; }, event);
}

}  // namespace wallet_eventd
