/* The raw ceiling for `make bench-clients`: JetStream async publish straight over libnats,
 * with a Nats-Msg-Id per message, then wait for every PubAck. Same work as the Swift client. */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile long acked = 0, failed = 0;

static void on_ack(jsCtx *js, natsMsg *msg, jsPubAck *pa, jsPubAckErr *pae, void *closure) {
    (void)js; (void)closure;
    if (pa != NULL) acked++; else if (pae != NULL) failed++;
    natsMsg_Destroy(msg);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 6) { fprintf(stderr, "usage: %s URL STREAM SUBJECT COUNT PAYLOAD_BYTES\n", argv[0]); return 64; }
    const char *url = argv[1], *stream = argv[2], *subject = argv[3];
    long count = atol(argv[4]);
    int size = atoi(argv[5]);
    natsConnection *nc = NULL; jsCtx *js = NULL; jsOptions o; jsStreamConfig sc; jsErrCode err = 0;
    if (natsConnection_ConnectTo(&nc, url) != NATS_OK) { fprintf(stderr, "connect failed\n"); return 1; }
    jsOptions_Init(&o);
    o.PublishAsync.AckHandler = on_ack;
    o.PublishAsync.MaxPending = 16384;
    o.PublishAsync.StallWait = 5000;
    natsConnection_JetStream(&js, nc, &o);
    jsStreamConfig_Init(&sc);
    sc.Name = stream;
    const char *subjects[1] = {subject};
    sc.Subjects = subjects; sc.SubjectsLen = 1;
    sc.Duplicates = 120LL * 1000000000LL;
    js_AddStream(NULL, js, &sc, NULL, &err);
    char *payload = malloc(size); memset(payload, 'x', size);
    char id[64];
    double start = now();
    for (long i = 0; i < count; i++) {
        natsMsg *msg = NULL;
        natsMsg_Create(&msg, subject, NULL, payload, size);
        snprintf(id, sizeof id, "raw-%ld", i);
        natsMsgHeader_Set(msg, "Nats-Msg-Id", id);
        if (js_PublishMsgAsync(js, &msg, NULL) != NATS_OK) { natsMsg_Destroy(msg); failed++; }
    }
    jsPubOptions po; jsPubOptions_Init(&po); po.MaxWait = 60000;
    js_PublishAsyncComplete(js, &po);
    double elapsed = now() - start;
    printf("%.0f\n", acked / elapsed);
    fprintf(stderr, "raw: %ld acked, %ld failed in %.3f s\n", acked, failed, elapsed);
    js_DeleteStream(js, stream, NULL, NULL);
    jsCtx_Destroy(js); natsConnection_Destroy(nc); free(payload);
    return failed ? 1 : 0;
}
