// UUID text checks. Internal to the event model; new_uuid() is in wallet_eventd/events.h.
#ifndef WALLET_EVENTD_EVENTS_UUID_H_
#define WALLET_EVENTD_EVENTS_UUID_H_

#include <string_view>

namespace wallet_eventd::events_internal {

// True for the hyphenated 8-4-4-4-12 hex form, any case. Version and variant are not checked:
// other producers may use v1, v6 or v7 UUIDs.
bool is_uuid(std::string_view text);

}  // namespace wallet_eventd::events_internal

#endif  // WALLET_EVENTD_EVENTS_UUID_H_
