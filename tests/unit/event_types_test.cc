#include <gtest/gtest.h>

#include <set>

#include "wallet_event_plugin.h"
#include "wallet_eventd/events.h"

namespace wallet_eventd {
namespace {

TEST(EventTypes, NamesRoundTripAndMatchAbiNumbers) {
  EXPECT_EQ(all_event_types().size(), 13u);
  for (EventType t : all_event_types()) {
    auto parsed = parse_event_type(event_type_name(t));
    ASSERT_TRUE(parsed.has_value()) << event_type_name(t);
    EXPECT_EQ(*parsed, t);
  }
  EXPECT_EQ(static_cast<int>(EventType::kCredentialOfferSent), WEP_EVENT_CREDENTIAL_OFFER_SENT);
  EXPECT_EQ(static_cast<int>(EventType::kPresentationVerified), WEP_EVENT_PRESENTATION_VERIFIED);
  EXPECT_EQ(static_cast<int>(EventType::kKeyRevoked), WEP_EVENT_KEY_REVOKED);
  EXPECT_FALSE(parse_event_type("credentialstored").has_value());
  EXPECT_FALSE(parse_event_type("").has_value());
}

TEST(EventTypes, RoutingOfAllThirteenTypes) {
  const std::pair<const char*, const char*> expected[] = {
      {"CredentialOfferSent", "credential.offers"},
      {"CredentialOfferReceived", "credential.offers"},
      {"CredentialIssued", "credential.issuance"},
      {"CredentialAcknowledged", "credential.issuance"},
      {"CredentialStored", "credential.storage"},
      {"CredentialDeleted", "credential.storage"},
      {"PresentationRequestSent", "presentation.requests"},
      {"PresentationRequestReceived", "presentation.requests"},
      {"PresentationSubmitted", "presentation.submissions"},
      {"PresentationVerified", "presentation.submissions"},
      {"KeyCreated", "key.operations"},
      {"KeyRotated", "key.operations"},
      {"KeyRevoked", "key.operations"},
  };
  for (const auto& [name, suffix] : expected) {
    auto t = parse_event_type(name);
    ASSERT_TRUE(t) << name;
    EXPECT_EQ(topic_suffix(*t), suffix) << name;
  }
  EXPECT_EQ(all_topic_suffixes().size(), 6u);
}

}  // namespace
}  // namespace wallet_eventd
