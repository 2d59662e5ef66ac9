#ifndef FRAISEQL_CMARIADB_SHIM_H
#define FRAISEQL_CMARIADB_SHIM_H
#include <mysql.h>
#include <mariadb_rpl.h>
#endif
