#ifndef FRAISEQL_CNATS_SHIM_H
#define FRAISEQL_CNATS_SHIM_H
#include <nats/nats.h>
#endif
