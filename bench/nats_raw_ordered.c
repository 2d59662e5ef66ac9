/* The raw reference for `make bench-flight` (a): an ordered consumer straight over libnats (C),
 * counting COUNT messages of the stream from its start, as flight-server's DoGet reads them.
 * One thread delivers (the subscription's), so the counter needs no lock; main polls it every ms. */
#include <nats/nats.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile long received = 0;
static long target = 0;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void on_message(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
    (void)nc; (void)sub; (void)closure;
    natsMsg_Destroy(msg);
    received++;
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: %s URL SUBJECT COUNT\n", argv[0]); return 64; }
    target = atol(argv[3]);
    natsConnection *nc = NULL; jsCtx *js = NULL; natsSubscription *sub = NULL; jsErrCode err = 0;
    if (natsConnection_ConnectTo(&nc, argv[1]) != NATS_OK) { fprintf(stderr, "connect failed\n"); return 1; }
    natsConnection_JetStream(&js, nc, NULL);
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Ordered = true;
    so.Config.DeliverPolicy = js_DeliverAll;
    double start = now();
    if (js_Subscribe(&sub, js, argv[2], on_message, NULL, NULL, &so, &err) != NATS_OK) {
        fprintf(stderr, "subscribe failed (%d)\n", (int)err); return 1;
    }
    natsSubscription_SetPendingLimits(sub, -1, -1);
    while (received < target) nats_Sleep(1);
    double elapsed = now() - start;
    printf("%.0f\n", target / elapsed);
    natsSubscription_Destroy(sub);
    jsCtx_Destroy(js);
    natsConnection_Destroy(nc);
    return 0;
}
