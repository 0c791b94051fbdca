// Pieces shared by Publisher and Subscriber.
#ifndef WALLET_EVENTD_BUS_CLIENT_COMMON_H_
#define WALLET_EVENTD_BUS_CLIENT_COMMON_H_

#include "bus/kafka_conf.h"
#include "wallet_eventd/client.h"

namespace wallet_eventd::bus {

// bootstrap.servers plus the passthrough properties of a ClientConfig.
Properties base_properties(const ClientConfig& config);
// base_properties, then config.producer_properties / config.consumer_properties on top.
Properties producer_properties(const ClientConfig& config);
Properties consumer_properties(const ClientConfig& config);

}  // namespace wallet_eventd::bus

#endif  // WALLET_EVENTD_BUS_CLIENT_COMMON_H_
