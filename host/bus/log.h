#ifndef WALLET_EVENTD_BUS_LOG_H_
#define WALLET_EVENTD_BUS_LOG_H_
#include "wallet_eventd/log.h"
#endif  // WALLET_EVENTD_BUS_LOG_H_
