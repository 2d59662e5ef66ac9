// flight-server's allocator settings (allocator.c): nothing to call; linking the target sets them.
#ifndef FRAISEQL_CFLIGHTALLOCATOR_H
#define FRAISEQL_CFLIGHTALLOCATOR_H
#endif
