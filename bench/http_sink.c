// A minimal HTTP/1.1 sink for the webhook benchmarks: answers every request with 200 and an empty
// body, keeps connections alive, and costs the shared 2 cores as little as possible (one thread,
// epoll), so that the benchmarks measure the fleet rather than its peer.
//
// usage: http_sink PORT [RECEIPTS]   (127.0.0.1; prints the number of requests answered on SIGTERM)
//
// With RECEIPTS (make bench), every request's receipt is appended to that file as two native
// 64-bit integers: the first integer in the request body (the fleet benchmark's row id; -1 when
// there is none) and the CLOCK_MONOTONIC time in nanoseconds when the request was complete. The
// file is flushed after each batch of ready connections.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUFFER 65536

struct connection {
    int fd;
    size_t used;      // bytes of the current request(s) in buf
    size_t body_left; // body bytes still to skip of a request too large for buf (answered already)
    char buf[BUFFER];
};

static volatile sig_atomic_t stopping = 0;
static void on_signal(int sig) { (void)sig; stopping = 1; }

static const char reply[] = "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
static FILE *receipts = NULL;

// Appends the receipt of one request whose body is body[0..<len].
static void record(const char *body, size_t len) {
    if (!receipts) return;
    long long id = -1;
    for (size_t i = 0; i < len; i++) {
        if (isdigit((unsigned char)body[i])) {
            id = 0;
            while (i < len && isdigit((unsigned char)body[i])) id = id * 10 + (body[i++] - '0');
            break;
        }
    }
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long entry[2] = {id, (long long)now.tv_sec * 1000000000LL + now.tv_nsec};
    fwrite(entry, sizeof entry, 1, receipts);
}

// The Content-Length of a request head (head_len bytes ending with the blank line), 0 if none.
static size_t content_length(const char *head, size_t head_len) {
    const char *line = memchr(head, '\n', head_len);
    while (line && (size_t)(line - head) < head_len) {
        line++;
        if ((size_t)(head + head_len - line) > 15 && strncasecmp(line, "content-length:", 15) == 0) {
            return strtoul(line + 15, NULL, 10);
        }
        line = memchr(line, '\n', head_len - (size_t)(line - head));
    }
    return 0;
}

// Consumes complete requests (head and body) from c->buf; returns the number answered, -1 on a
// write error.
static long serve(struct connection *c) {
    long answered = 0;
    size_t start = 0;
    for (;;) {
        if (c->body_left > 0) {
            size_t skip = c->used - start < c->body_left ? c->used - start : c->body_left;
            start += skip;
            c->body_left -= skip;
            if (c->body_left > 0) break;
        }
        char *head = c->buf + start;
        size_t available = c->used - start;
        char *end = available >= 4 ? memmem(head, available, "\r\n\r\n", 4) : NULL;
        if (!end) break;
        size_t head_len = (size_t)(end - head) + 4;
        size_t body_len = content_length(head, head_len);
        if (body_len > BUFFER - head_len) {
            // Too large to hold: answered (no receipt) and its body skipped as it comes.
            record("", 0);
            size_t here = available - head_len < body_len ? available - head_len : body_len;
            start += head_len + here;
            c->body_left = body_len - here;
        } else if (head_len + body_len > available) {
            break;  // the rest of the body is still to come
        } else {
            record(head + head_len, body_len);
            start += head_len + body_len;
        }
        if (write(c->fd, reply, sizeof reply - 1) != (ssize_t)(sizeof reply - 1)) return -1;
        answered++;
    }
    memmove(c->buf, c->buf + start, c->used - start);
    c->used -= start;
    return answered;
}

int main(int argc, char **argv) {
    if (argc != 2 && argc != 3) {
        fprintf(stderr, "usage: http_sink PORT [RECEIPTS]\n");
        return 64;
    }
    if (argc == 3 && !(receipts = fopen(argv[2], "wb"))) {
        perror("http_sink: receipts");
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    signal(SIGPIPE, SIG_IGN);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in address = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 1024) != 0) {
        perror("http_sink: bind/listen");
        return 1;
    }
    int poll = epoll_create1(0);
    struct epoll_event event = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(poll, EPOLL_CTL_ADD, listener, &event);
    long total = 0;
    struct epoll_event ready[256];
    while (!stopping) {
        int count = epoll_wait(poll, ready, 256, 200);
        for (int i = 0; i < count; i++) {
            struct connection *c = ready[i].data.ptr;
            if (c == NULL) {
                int fd;
                while ((fd = accept4(listener, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct connection *accepted = calloc(1, sizeof *accepted);
                    accepted->fd = fd;
                    struct epoll_event added = {.events = EPOLLIN, .data.ptr = accepted};
                    epoll_ctl(poll, EPOLL_CTL_ADD, fd, &added);
                }
                continue;
            }
            ssize_t n;
            int closed = 0;
            while ((n = read(c->fd, c->buf + c->used, BUFFER - c->used)) > 0) {
                c->used += (size_t)n;
                long answered = serve(c);
                if (answered < 0 || c->used == BUFFER) { // write error, or a request head larger than the buffer
                    closed = 1;
                    break;
                }
                total += answered;
            }
            if (closed || n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
                close(c->fd);
                free(c);
            }
        }
        if (receipts) fflush(receipts);
    }
    printf("%ld\n", total);
    return 0;
}
