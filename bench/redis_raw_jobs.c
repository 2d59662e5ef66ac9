/* The Redis ceiling for a job queue, over hiredis with no Swift in the way: XADD COUNT entries
 * (pipelined, 1000 per round trip), then XREADGROUP 1000 at a time and XACK each batch.
 * Prints jobs/s for the whole cycle (enqueue + consume + ack) on one connection.
 *   redis_raw_jobs HOST PORT COUNT */
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check(redisReply *reply, redisContext *c) {
    if (reply == NULL) { fprintf(stderr, "redis: %s\n", c->errstr); exit(1); }
    if (reply->type == REDIS_REPLY_ERROR) { fprintf(stderr, "redis: %s\n", reply->str); exit(1); }
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: redis_raw_jobs HOST PORT COUNT\n"); return 64; }
    int count = atoi(argv[3]);
    redisContext *c = redisConnect(argv[1], atoi(argv[2]));
    if (c == NULL || c->err) { fprintf(stderr, "cannot connect\n"); return 1; }
    char stream[64];
    snprintf(stream, sizeof stream, "bench:rawjobs:%d", (int)getpid());
    redisReply *reply = redisCommand(c, "XGROUP CREATE %s g 0 MKSTREAM", stream);
    check(reply, c);
    freeReplyObject(reply);
    /* A payload of the size of a noop Job's JSON. */
    const char *job = "{\"attempt\":0,\"backoff\":{\"base_ms\":500,\"cap_ms\":300000,\"jitter\":0.2,"
                      "\"kind\":\"exponential\"},\"enqueued_at\":\"2026-11-23T01:00:00.000000Z\","
                      "\"id\":\"6f1c1f4e-3b7a-4d44-9d1e-0b5e0f7a9c10\",\"kind\":\"noop\",\"max_attempts\":5,"
                      "\"payload\":null,\"queue\":\"default\"}";
    double start = now();
    for (int sent = 0; sent < count; sent += 1000) {
        int n = count - sent < 1000 ? count - sent : 1000;
        for (int i = 0; i < n; i++) redisAppendCommand(c, "XADD %s * job %s", stream, job);
        for (int i = 0; i < n; i++) {
            if (redisGetReply(c, (void **)&reply) != REDIS_OK) { fprintf(stderr, "%s\n", c->errstr); return 1; }
            check(reply, c);
            freeReplyObject(reply);
        }
    }
    int consumed = 0;
    const char **argvx = malloc(sizeof(char *) * 1003);
    size_t *lens = malloc(sizeof(size_t) * 1003);
    while (consumed < count) {
        reply = redisCommand(c, "XREADGROUP GROUP g c COUNT 1000 STREAMS %s >", stream);
        check(reply, c);
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements == 0) { freeReplyObject(reply); break; }
        redisReply *entries = reply->element[0]->element[1];
        argvx[0] = "XACK"; argvx[1] = stream; argvx[2] = "g";
        for (size_t i = 0; i < entries->elements; i++) argvx[3 + i] = entries->element[i]->element[0]->str;
        for (size_t i = 0; i < 3 + entries->elements; i++) lens[i] = strlen(argvx[i]);
        redisReply *ack = redisCommandArgv(c, 3 + (int)entries->elements, argvx, lens);
        check(ack, c);
        consumed += (int)entries->elements;
        freeReplyObject(ack);
        freeReplyObject(reply);
    }
    double elapsed = now() - start;
    printf("%.0f\n", consumed / elapsed);
    fprintf(stderr, "raw: %d jobs enqueued, read and acked in %.3f s\n", consumed, elapsed);
    reply = redisCommand(c, "DEL %s", stream);
    freeReplyObject(reply);
    redisFree(c);
    return 0;
}
