// Building librdkafka configurations from property maps, with librdkafka's own error text.
#ifndef WALLET_EVENTD_BUS_KAFKA_CONF_H_
#define WALLET_EVENTD_BUS_KAFKA_CONF_H_

#include <librdkafka/rdkafka.h>

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "wallet_eventd/result.h"

namespace wallet_eventd::bus {

using Properties = std::map<std::string, std::string>;

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct KafkaDeleter {
  void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;

// A new conf with every property set, later maps overriding earlier ones. Fails with
// "<name>: <librdkafka's message>" on the first property librdkafka refuses.
Result<ConfPtr> make_conf(std::initializer_list<const Properties*> layers);

// Checks one property against a scratch conf; returns librdkafka's message on refusal.
Status check_property(const std::string& name, const std::string& value);

// librdkafka's logs and error events go to the host's logger at a matching level, each failure
// once: librdkafka reports a broker connection's failure both as a "FAIL" log line and as an
// error event with the same text (and, without an error callback, logs that event a second
// time as "ERROR"). The error event is logged only when no such line was.
void route_logs(rd_kafka_conf_t* conf);
// What route_logs' error callback does, for a client that sets an error callback of its own.
void log_error_event(rd_kafka_t* rk, rd_kafka_resp_err_t err, const char* reason);
// An error event that means this client cannot log in: an authentication failure or a TLS
// handshake failure (both come only from a connection's handshake; a TLS error after it is a
// transport error). As "cannot log in to the bus: <reason>", code kInvalidArgument.
std::optional<Error> login_failure_of(int err, const char* reason);

}  // namespace wallet_eventd::bus

#endif  // WALLET_EVENTD_BUS_KAFKA_CONF_H_
