// librdkafka's own knowledge of its configuration properties, for validating the
// `bus.*properties` maps of the YAML file before anything starts. Internal to config/.
#ifndef WALLET_EVENTD_CONFIG_KAFKA_PROPERTIES_H_
#define WALLET_EVENTD_CONFIG_KAFKA_PROPERTIES_H_

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wallet_eventd::config {

// Which client kind a property affects (the C/P column of librdkafka's CONFIGURATION.md).
enum class KafkaScope { kBoth, kProducer, kConsumer };

struct KafkaPropertyCatalog {
  std::vector<std::string> names;            // every global and topic property, in order
  std::map<std::string, KafkaScope> scopes;  // name -> scope
};

// Built once from rd_kafka_conf_properties_show() of the linked librdkafka. Thread-safe.
const KafkaPropertyCatalog& kafka_property_catalog();

struct KafkaPropertyProblem {
  bool unknown = false;  // librdkafka has no property of that name
  std::string message;   // librdkafka's own error text
};

// Sets `name` = `value` on a scratch rd_kafka_conf_t (global and default topic conf); nullopt
// when librdkafka accepts it. Note: setting `plugin.library.paths` loads those libraries, as
// the real client would.
std::optional<KafkaPropertyProblem> check_kafka_property(const std::string& name,
                                                         const std::string& value);

}  // namespace wallet_eventd::config

#endif  // WALLET_EVENTD_CONFIG_KAFKA_PROPERTIES_H_
