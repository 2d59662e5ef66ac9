// LZ4 frame format (Debian liblz4-dev): the codec of Arrow IPC bodies compressed with LZ4_FRAME.
#include <lz4frame.h>
