// notification_plugin.cc -- the C ABI face of the notification plugin: descriptor and hooks.
// No exception crosses into the host.
#include <memory>
#include <string>

#include "config.h"
#include "notifier.h"
#include "wallet_event_plugin.h"

namespace {

using wep_notification::Notifier;

Notifier* Self(wep_instance* instance) { return reinterpret_cast<Notifier*>(instance); }

int32_t Create(const wep_instance_info* info, wep_instance** out, char* err, size_t err_cap) {
  if (info == nullptr || out == nullptr || info->host == nullptr) {
    wep_write_message(err, err_cap, "create: missing instance info", 29);
    return WEP_ERR_INVALID_ARGUMENT;
  }
  try {
    std::unique_ptr<Notifier> notifier;
    std::string error;
    int32_t rc = Notifier::Create(*info, &notifier, &error);
    if (rc != WEP_OK) {
      wep_write_message(err, err_cap, error.data(), error.size());
      return rc;
    }
    *out = reinterpret_cast<wep_instance*>(notifier.release());
    return WEP_OK;
  } catch (const std::exception& ex) {
    std::string error = std::string("create: ") + ex.what();
    wep_write_message(err, err_cap, error.data(), error.size());
    return WEP_ERR_INTERNAL;
  }
}

void Destroy(wep_instance* instance) { delete Self(instance); }

int32_t HandleBatch(wep_instance* instance, const wep_batch* batch, char* err, size_t err_cap) {
  if (instance == nullptr || batch == nullptr) {
    wep_write_message(err, err_cap, "handle_batch: missing instance or batch", 39);
    return WEP_ERR_INVALID_ARGUMENT;
  }
  try {
    Self(instance)->HandleBatch(*batch);
    return WEP_OK;
  } catch (const std::exception& ex) {
    std::string error = std::string("handle_batch: ") + ex.what();
    wep_write_message(err, err_cap, error.data(), error.size());
    return WEP_ERR_INTERNAL;
  }
}

const wep_plugin_descriptor kDescriptor = {
    WEP_STRUCT_SIZE(wep_plugin_descriptor, shutdown),
    WEP_ABI_MAJOR,
    WEP_ABI_MINOR,
    /*min_host_abi_minor=*/0,
    /*flags=*/0,
    "notification",
    "1.0.0",
    "wallet-eventd",
    "OpenID4VCI Notification Requests (credential_accepted/failure/deleted) to issuers",
    WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_OFFER_SENT) |
        WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_OFFER_RECEIVED) |
        WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_ISSUED) | WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_STORED) |
        WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_ACKNOWLEDGED) |
        WEP_EVENT_BIT(WEP_EVENT_CREDENTIAL_DELETED),
    wep_notification::ConfigKeys(),
    wep_notification::ConfigKeyCount(),
    &Create,
    &Destroy,
    &HandleBatch,
    /*flush=*/nullptr,  // nothing buffered: every result is final when handle_batch returns
    /*shutdown=*/nullptr,
};

}  // namespace

WEP_PLUGIN_ENTRY {
  (void)host;
  return &kDescriptor;
}
