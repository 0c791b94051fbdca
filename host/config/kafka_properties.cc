#include "config/kafka_properties.h"

#include <librdkafka/rdkafka.h>

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sstream>
#include <string_view>

namespace wallet_eventd::config {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Parses the Markdown tables librdkafka prints: "name | C/P | range | default | ...".
KafkaPropertyCatalog build_catalog() {
  KafkaPropertyCatalog catalog;
  char* buffer = nullptr;
  size_t size = 0;
  FILE* out = open_memstream(&buffer, &size);
  if (out == nullptr) return catalog;
  rd_kafka_conf_properties_show(out);
  std::fclose(out);
  std::unique_ptr<char, decltype(&std::free)> owned(buffer, &std::free);
  std::istringstream lines(std::string(buffer, size));
  std::string line;
  while (std::getline(lines, line)) {
    const size_t bar1 = line.find('|');
    if (bar1 == std::string::npos) continue;
    const size_t bar2 = line.find('|', bar1 + 1);
    if (bar2 == std::string::npos) continue;
    const std::string_view name = trim(std::string_view(line).substr(0, bar1));
    const std::string_view scope = trim(std::string_view(line).substr(bar1 + 1, bar2 - bar1 - 1));
    if (name.empty() || name == "Property" || name.front() == '-') continue;
    KafkaScope s = KafkaScope::kBoth;
    if (scope == "P") {
      s = KafkaScope::kProducer;
    } else if (scope == "C") {
      s = KafkaScope::kConsumer;
    }
    std::string key(name);
    if (catalog.scopes.emplace(key, s).second) catalog.names.push_back(std::move(key));
  }
  return catalog;
}

}  // namespace

const KafkaPropertyCatalog& kafka_property_catalog() {
  static const KafkaPropertyCatalog catalog = build_catalog();
  return catalog;
}

std::optional<KafkaPropertyProblem> check_kafka_property(const std::string& name,
                                                         const std::string& value) {
  std::unique_ptr<rd_kafka_conf_t, decltype(&rd_kafka_conf_destroy)> conf(rd_kafka_conf_new(),
                                                                          &rd_kafka_conf_destroy);
  char err[512] = {0};
  const rd_kafka_conf_res_t res =
      rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof err);
  if (res == RD_KAFKA_CONF_OK) return std::nullopt;
  KafkaPropertyProblem problem;
  problem.unknown = res == RD_KAFKA_CONF_UNKNOWN;
  problem.message = err[0] != '\0' ? err : "refused by librdkafka";
  // Some of librdkafka's messages end in a newline.
  while (!problem.message.empty() &&
         std::isspace(static_cast<unsigned char>(problem.message.back())))
    problem.message.pop_back();
  return problem;
}

}  // namespace wallet_eventd::config
