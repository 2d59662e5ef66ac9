// Zstandard (Debian libzstd-dev): the codec of Arrow IPC bodies compressed with ZSTD.
#include <zstd.h>
