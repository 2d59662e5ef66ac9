#ifndef FRAISEQL_CHIREDIS_SHIM_H
#define FRAISEQL_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#endif
