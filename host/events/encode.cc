// encode_event: compact wire JSON written directly into one string (no intermediate DOM).
// Members are in the order of shared/wire/valid/; absent optionals are written as null.
#include <string>
#include <variant>

#include "events/json_escape.h"
#include "events/timestamp.h"
#include "wallet_eventd/events.h"

namespace wallet_eventd {
namespace {

using events_internal::append_json_string;

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}

  // `key` is a literal member name ("offer_id"); it needs no escaping. `first` omits the comma.
  void key(std::string_view key, bool first = false) {
    if (!first) out_ += ',';
    out_ += '"';
    out_ += key;
    out_ += "\":";
  }
  void string(std::string_view key, std::string_view value, bool first = false) {
    this->key(key, first);
    append_json_string(out_, value);
  }
  void optional_string(std::string_view key, const std::optional<std::string>& value,
                       bool first = false) {
    this->key(key, first);
    if (value) {
      append_json_string(out_, *value);
    } else {
      out_ += "null";
    }
  }

 private:
  std::string& out_;
};

void write_metadata(Writer& w, std::string& out, const EventMetadata& m) {
  w.key("metadata", true);
  out += '{';
  w.string("event_id", m.event_id, true);
  w.key("timestamp");
  out += '"';
  events_internal::append_timestamp(out, m.timestamp);
  out += '"';
  w.string("correlation_id", m.correlation_id);
  w.string("wallet_id", m.wallet_id);
  w.string("schema_version", m.schema_version);
  out += '}';
}

void write_grants(Writer& w, std::string& out, const Grants& g) {
  out += '{';
  w.key("authorization_code", true);
  if (g.authorization_code) {
    out += '{';
    w.optional_string("issuer_state", g.authorization_code->issuer_state, true);
    out += '}';
  } else {
    out += "null";
  }
  w.key("pre_authorized_code");
  if (g.pre_authorized_code) {
    const PreAuthorizedCodeGrant& p = *g.pre_authorized_code;
    out += '{';
    w.string("pre_authorized_code", p.pre_authorized_code, true);
    w.key("tx_code");
    if (p.tx_code) {
      out += '{';
      w.optional_string("input_mode", p.tx_code->input_mode, true);
      w.key("length");
      out += p.tx_code->length ? std::to_string(*p.tx_code->length) : "null";
      w.optional_string("description", p.tx_code->description);
      out += '}';
    } else {
      out += "null";
    }
    out += '}';
  } else {
    out += "null";
  }
  out += '}';
}

// Payload members after metadata, one overload per struct.
void write_fields(Writer& w, std::string& out, const CredentialOffer& e) {
  w.string("offer_id", e.offer_id);
  w.string("credential_issuer", e.credential_issuer);
  w.key("credential_configuration_ids");
  out += '[';
  for (size_t i = 0; i < e.credential_configuration_ids.size(); ++i) {
    if (i != 0) out += ',';
    append_json_string(out, e.credential_configuration_ids[i]);
  }
  out += ']';
  w.key("grants");
  if (e.grants) {
    write_grants(w, out, *e.grants);
  } else {
    out += "null";
  }
  w.optional_string("credential_offer_uri", e.credential_offer_uri);
}

void write_fields(Writer& w, std::string&, const CredentialIssued& e) {
  w.string("credential", e.credential);
  w.string("credential_type", e.credential_type);
  w.optional_string("notification_id", e.notification_id);
  w.optional_string("transaction_id", e.transaction_id);
}

void write_fields(Writer& w, std::string&, const CredentialAcknowledged& e) {
  w.string("notification_id", e.notification_id);
  w.string("event", e.event);
}

void write_fields(Writer& w, std::string&, const CredentialStored& e) {
  w.string("credential_id", e.credential_id);
  w.string("credential_type", e.credential_type);
  w.string("issuer", e.issuer);
  w.optional_string("notification_id", e.notification_id);
}

void write_fields(Writer& w, std::string&, const CredentialDeleted& e) {
  w.string("credential_id", e.credential_id);
  w.string("notification_id", e.notification_id);
  w.string("event", e.event);
}

void write_fields(Writer& w, std::string&, const PresentationRequest& e) {
  w.string("request_id", e.request_id);
  w.string("dcql_query", e.dcql_query);
  w.string("nonce", e.nonce);
  w.string("client_id", e.client_id);
  w.optional_string("response_uri", e.response_uri);
}

void write_fields(Writer& w, std::string&, const PresentationSubmitted& e) {
  w.string("request_id", e.request_id);
  w.string("presentation_submission_id", e.presentation_submission_id);
  w.string("vp_token", e.vp_token);
}

void write_fields(Writer& w, std::string& out, const PresentationVerified& e) {
  w.string("request_id", e.request_id);
  w.string("presentation_submission_id", e.presentation_submission_id);
  w.key("validation_status");
  if (e.validation_status.valid) {
    out += "\"Valid\"";
  } else {
    out += "{\"Invalid\":{";
    w.string("reason", e.validation_status.invalid_reason, true);
    out += "}}";
  }
  w.key("holder_binding_verified");
  out += e.holder_binding_verified ? "true" : "false";
}

void write_fields(Writer& w, std::string&, const KeyCreated& e) {
  w.string("key_id", e.key_id);
  w.string("kid", e.kid);
  w.string("key_type", e.key_type);
  w.optional_string("key_attestation", e.key_attestation);
}

void write_fields(Writer& w, std::string&, const KeyRotated& e) {
  w.string("old_key_id", e.old_key_id);
  w.string("new_key_id", e.new_key_id);
  w.string("new_kid", e.new_kid);
  w.string("key_type", e.key_type);
  w.optional_string("key_attestation", e.key_attestation);
}

void write_fields(Writer& w, std::string&, const KeyRevoked& e) {
  w.string("key_id", e.key_id);
  w.string("kid", e.kid);
  w.string("revocation_reason", e.revocation_reason);
}

}  // namespace

std::string encode_event(const WalletEvent& event) {
  std::string out;
  out.reserve(512);
  Writer w(out);
  out += "{\"event_type\":\"";
  out += event_type_name(type_of(event));
  out += "\",\"payload\":{";
  std::visit(
      [&](const auto& e) {
        write_metadata(w, out, e.metadata);
        write_fields(w, out, e);
      },
      event);
  out += "}}";
  return out;
}

}  // namespace wallet_eventd
