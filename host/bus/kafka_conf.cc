#include "bus/kafka_conf.h"

#include "bus/log.h"

namespace wallet_eventd::bus {

Result<ConfPtr> make_conf(std::initializer_list<const Properties*> layers) {
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  for (const Properties* layer : layers) {
    if (layer == nullptr) continue;
    for (const auto& [name, value] : *layer) {
      if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof err) !=
          RD_KAFKA_CONF_OK) {
        return Error{Error::Code::kInvalidArgument, name + ": " + err};
      }
    }
  }
  return conf;
}

Status check_property(const std::string& name, const std::string& value) {
  ConfPtr conf(rd_kafka_conf_new());
  char err[512];
  if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), err, sizeof err) !=
      RD_KAFKA_CONF_OK) {
    return Error{Error::Code::kInvalidArgument, err};
  }
  return Status::Ok();
}

void route_logs(rd_kafka_conf_t* conf) {
  rd_kafka_conf_set_log_cb(
      conf, [](const rd_kafka_t* rk, int level, const char* fac, const char* buf) {
        // syslog levels: 0..3 error, 4 warning, 5..6 info, 7 debug.
        LogLevel l = level <= 3   ? LogLevel::kError
                     : level == 4 ? LogLevel::kWarn
                     : level <= 6 ? LogLevel::kInfo
                                  : LogLevel::kDebug;
        log_message(l, std::string("librdkafka ") + rd_kafka_name(rk) + " " + fac + ": " + buf);
      });
}

}  // namespace wallet_eventd::bus
