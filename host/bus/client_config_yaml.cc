// ClientConfig::from_yaml: the client library reads the daemon's own YAML file.
#include <filesystem>
#include <fstream>

#include <yaml-cpp/yaml.h>

#include "config/config.h"
#include "wallet_eventd/client.h"

namespace wallet_eventd {

Result<ClientConfig> ClientConfig::from_yaml(const std::string& path) {
  auto loaded = config::load_config(path);
  if (!loaded.ok()) {
    std::string msg = config::format_errors(loaded.error());
    if (!msg.empty() && msg.back() == '\n') msg.pop_back();
    return Error{Error::Code::kInvalidArgument, msg};
  }
  const config::Config& c = loaded.value();
  ClientConfig out;
  if (c.bus.embedded) {
    const auto file = std::filesystem::path(c.state_dir) / "embedded-bootstrap";
    std::ifstream in(file);
    std::string address;
    if (!(in >> address))
      return Error{Error::Code::kUnavailable,
                   "the config uses the embedded broker, but " + file.string() +
                       " does not exist: start `wallet-eventd run --config " + path + "` first"};
    out.bootstrap_servers = address;
  } else {
    out.bootstrap_servers = c.bus.bootstrap_servers;
  }
  out.topic_prefix = c.topics.prefix;
  // The client's own consumer group: consumer.group_prefix when the file sets it, otherwise
  // the struct default (the daemon's instances use "<group_prefix>.<instance>").
  try {
    YAML::Node root = YAML::LoadFile(path);
    if (root["consumer"] && root["consumer"]["group_prefix"])
      out.group_id = c.consumer.group_prefix;
  } catch (const YAML::Exception&) {
    out.group_id = c.consumer.group_prefix;  // not reached: load_config parsed the same file
  }
  out.enable_dlq = c.dlq.enabled;
  out.dlq_topic = c.topics.dlq;
  out.properties = c.bus.properties;
  out.producer_properties = c.bus.producer_properties;
  out.consumer_properties = c.bus.consumer_properties;
  out.limits = {c.consumer.max_record_bytes, c.consumer.max_depth};
  // acks / retries set through the producer's (or the shared) properties become the fields.
  for (auto* props : {&out.properties, &out.producer_properties}) {
    if (auto it = props->find("acks"); it != props->end()) {
      out.acks = it->second;
      props->erase(it);
    }
    if (auto it = props->find("retries"); it != props->end()) {
      try {
        size_t used = 0;
        const int n = std::stoi(it->second, &used);
        if (used == it->second.size()) {
          out.retries = n;
          props->erase(it);
        }
      } catch (const std::exception&) {
        // left in the map: librdkafka judges the value
      }
    }
  }
  return out;
}

}  // namespace wallet_eventd
