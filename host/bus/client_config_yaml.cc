// ClientConfig::from_yaml: the client library reads the daemon's own YAML file.
#include <filesystem>
#include <fstream>

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
  out.group_id = c.consumer.group_prefix;
  out.enable_dlq = c.dlq.enabled;
  out.dlq_topic = c.topics.dlq;
  out.properties = c.bus.properties;
  for (const auto& [k, v] : c.bus.producer_properties) out.properties[k] = v;
  out.limits = {c.consumer.max_record_bytes, c.consumer.max_depth};
  // acks / retries / idempotence may be overridden through producer_properties.
  if (auto it = out.properties.find("acks"); it != out.properties.end()) {
    out.acks = it->second;
    out.properties.erase(it);
  }
  return out;
}

}  // namespace wallet_eventd
