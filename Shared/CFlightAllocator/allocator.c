// flight-server's jemalloc defaults. A stream builds and sends batches of megabytes, and jemalloc
// keeps freed pages for 10 s by default, so a busy server held ~60 MB more than it used
// (docs/benchmarks.md, flight-server). Freed pages go back to the system after 1 s instead; the
// MALLOC_CONF environment variable still overrides this (jemalloc reads it after this string).
const char *malloc_conf = "dirty_decay_ms:1000,muzzy_decay_ms:0";
