/* The raw ceiling for `make bench-worker`: a durable pull consumer over libnats that fetches
 * batches and acks every message (async ack), until COUNT messages are done. Prints messages/s.
 *   nats_raw_pull URL STREAM SUBJECT CONSUMER COUNT BATCH */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 7) { fprintf(stderr, "usage: %s URL STREAM SUBJECT CONSUMER COUNT BATCH\n", argv[0]); return 64; }
    const char *url = argv[1], *stream = argv[2], *subject = argv[3], *consumer = argv[4];
    long count = atol(argv[5]);
    int batch = atoi(argv[6]);
    natsConnection *nc = NULL; jsCtx *js = NULL; jsErrCode err = 0; natsSubscription *sub = NULL;
    if (natsConnection_ConnectTo(&nc, url) != NATS_OK) { fprintf(stderr, "connect failed\n"); return 1; }
    natsConnection_JetStream(&js, nc, NULL);
    jsSubOptions so; jsSubOptions_Init(&so);
    so.Stream = stream;
    jsConsumerConfig cc; jsConsumerConfig_Init(&cc);
    cc.Durable = consumer;
    cc.AckPolicy = js_AckExplicit;
    cc.MaxAckPending = 100000;
    so.Config = cc;
    natsStatus s = js_PullSubscribe(&sub, js, subject, consumer, NULL, &so, &err);
    if (s != NATS_OK) { fprintf(stderr, "pull subscribe failed: %s (%d)\n", natsStatus_GetText(s), err); return 1; }
    long done = 0;
    double start = 0;
    while (done < count) {
        natsMsgList list;
        s = natsSubscription_Fetch(&list, sub, batch, 5000, &err);
        if (s == NATS_TIMEOUT) { if (done > 0) break; else continue; }
        if (s != NATS_OK) { fprintf(stderr, "fetch: %s\n", natsStatus_GetText(s)); return 1; }
        if (start == 0) start = now();
        for (int i = 0; i < list.Count; i++) { natsMsg_Ack(list.Msgs[i], NULL); done++; }
        natsMsgList_Destroy(&list);
    }
    natsConnection_Flush(nc);
    double elapsed = now() - start;
    printf("%.0f\n", done / elapsed);
    fprintf(stderr, "raw pull: %ld messages fetched and acked in %.3f s\n", done, elapsed);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return 0;
}
