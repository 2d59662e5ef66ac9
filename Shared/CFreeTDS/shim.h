#ifndef FRAISEQL_CFREETDS_SHIM_H
#define FRAISEQL_CFREETDS_SHIM_H
#include <sybfront.h>
#include <sybdb.h>

// Swift cannot call the db-lib macros: these name the ones the FreeTDS module uses.
static inline DBPROCESS *fraiseql_dbopen(LOGINREC *login, const char *server) { return dbopen(login, server); }
static inline RETCODE fraiseql_setluser(LOGINREC *login, const char *value) { return DBSETLUSER(login, value); }
static inline RETCODE fraiseql_setlpwd(LOGINREC *login, const char *value) { return DBSETLPWD(login, value); }
static inline RETCODE fraiseql_setlapp(LOGINREC *login, const char *value) { return DBSETLAPP(login, value); }
static inline RETCODE fraiseql_setlcharset(LOGINREC *login, const char *value) { return DBSETLCHARSET(login, value); }
static inline RETCODE fraiseql_setldbname(LOGINREC *login, const char *value) { return DBSETLDBNAME(login, value); }
static inline RETCODE fraiseql_setlencrypt(LOGINREC *login, int value) { return DBSETLENCRYPT(login, value); }
static inline RETCODE fraiseql_setlversion(LOGINREC *login) { return DBSETLVERSION(login, DBVERSION_74); }
#endif
