#ifndef FRAISEQL_CMARIADB_SHIM_H
#define FRAISEQL_CMARIADB_SHIM_H
#include <mysql.h>
#include <mariadb_rpl.h>

// Swift cannot call C variadic functions or function-like macros: these name the few
// replication options the MariaDB module sets, one fixed signature each.
static inline MARIADB_RPL *fraiseql_rpl_init(MYSQL *mysql) { return mariadb_rpl_init(mysql); }
static inline int fraiseql_rpl_set_file(MARIADB_RPL *rpl, const char *name, size_t length) {
    return mariadb_rpl_optionsv(rpl, MARIADB_RPL_FILENAME, name, length);
}
static inline int fraiseql_rpl_set_start(MARIADB_RPL *rpl, unsigned long position) {
    return mariadb_rpl_optionsv(rpl, MARIADB_RPL_START, position);
}
static inline int fraiseql_rpl_set_server_id(MARIADB_RPL *rpl, unsigned int server_id) {
    return mariadb_rpl_optionsv(rpl, MARIADB_RPL_SERVER_ID, server_id);
}
static inline int fraiseql_rpl_set_flags(MARIADB_RPL *rpl, unsigned int flags) {
    return mariadb_rpl_optionsv(rpl, MARIADB_RPL_FLAGS, flags);
}
#endif
