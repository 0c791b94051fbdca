#include "dispatch/handler_call.h"

#include <algorithm>

namespace wallet_eventd::dispatch {
namespace {

wep_str str(std::string_view s) { return {s.data(), s.size()}; }

}  // namespace

void HandlerCall::reset(size_t count) {
  rc = WEP_OK;
  std::fill(std::begin(err), std::end(err), '\0');
  // The message buffers are zeroed when allocated, and a slot the plugin wrote text into is
  // zeroed again here. Zeroing every slot of every batch (64 KiB per 64 events) was most of the
  // cost of building a call; this way a plugin that forgets the NUL still leaves zeros after
  // its text (or, had it written past an earlier NUL, bytes of its own), never stale bytes of
  // another part of the process.
  for (size_t j = 0; j < results.size(); ++j) {
    char* slot = messages.data() + j * kMessageCapacity;
    if (slot[0] != '\0') std::fill(slot, slot + kMessageCapacity, '\0');
  }
  if (messages.size() < count * kMessageCapacity) messages.resize(count * kMessageCapacity, '\0');
  events.assign(count, wep_event{});
  results.resize(count);
  event_ptrs.clear();
  result_ptrs.clear();
}

void HandlerCall::set(size_t j, const HandOver& r) {
  const CheckedEvent& ev = *r.event;
  wep_event& e = events[j];
  e.struct_size = sizeof(wep_event);
  e.event_type = static_cast<int32_t>(ev.type);
  e.event_type_name = str(event_type_name(ev.type));
  e.event_id = str(ev.event_id.in(r.text));
  e.timestamp = str(ev.timestamp_text.in(r.text));
  e.timestamp_unix_ns = ev.timestamp.time_since_epoch().count();
  e.correlation_id = str(ev.correlation_id.in(r.text));
  e.wallet_id = str(ev.wallet_id.in(r.text));
  e.schema_version = str(ev.schema_version.in(r.text));
  e.raw_json = str(r.value);
  e.topic = str(r.topic);
  e.partition = r.partition;
  e.offset = r.offset;
  e.key = str(r.key);
  e.headers = r.headers;
  e.header_count = r.header_count;
  e.delivery_attempt = r.attempt;
  results[j] = {sizeof(wep_event_result), WEP_RESULT_UNSET, 0,
                messages.data() + j * kMessageCapacity, kMessageCapacity};
}

void HandlerCall::seal(uint64_t deadline_ns) {
  const size_t k = events.size();
  event_ptrs.reserve(k);
  result_ptrs.reserve(k);
  for (size_t j = 0; j < k; ++j) {
    event_ptrs.push_back(&events[j]);
    result_ptrs.push_back(&results[j]);
  }
  batch = {sizeof(wep_batch), event_ptrs.data(), result_ptrs.data(), k, deadline_ns};
}

}  // namespace wallet_eventd::dispatch
