/* handover_message: the messages of an upgrade's hand-over (a new socks5d taking the running
 * one's listening sockets over its upgrade socket) — formatted and parsed, no I/O. */
#ifndef HANDOVER_MESSAGE_H
#define HANDOVER_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>

/* The protocol's version, in the new process's hello; the running one refuses any other. */
#define HANDOVER_VERSION 1
/* One message, in one SOCK_SEQPACKET packet: a batch of listeners with their descriptors. */
#define HANDOVER_MESSAGE_MAX 4096
/* Descriptors per batch: well under the kernel's SCM_MAX_FD (253), and a batch's lines fit
 * HANDOVER_MESSAGE_MAX with addresses of the longest kind. */
#define HANDOVER_BATCH_MAX 16
/* An address as logged ("[::1]:1080"), or a unix socket's path (sun_path: 108 bytes). */
#define HANDOVER_ADDRESS_MAX 200
#define HANDOVER_REASON_MAX 300
/* Bounds "end N": every worker's socket on every address, and the others. */
#define HANDOVER_TOTAL_MAX 100000

/* Every kind of listening socket a hand-over passes: one line here names its kind on the
 * wire. */
#define HANDOVER_KINDS(X)                                                                      \
    X(SOCKS, "socks")     /* a worker's SOCKS listener (one per worker and address) */        \
    X(ADMIN, "admin")     /* the admin port */                                               \
    X(UPGRADE, "upgrade") /* the upgrade socket itself, for the next upgrade */          \
    X(METRICS, "metrics") /* the Prometheus endpoint (--metrics-listen) */

enum handover_kind {
#define HANDOVER_KIND_ENUM(name, text) HANDOVER_##name,
    HANDOVER_KINDS(HANDOVER_KIND_ENUM)
#undef HANDOVER_KIND_ENUM
    HANDOVER_KIND_COUNT
};

enum handover_type {
    HANDOVER_HELLO,     /* new → running: "take-over VERSION" */
    HANDOVER_LISTENERS, /* running → new: "listeners", a line per descriptor passed with it */
    HANDOVER_END,       /* running → new: "end TOTAL PID", every listener sent, and the
                         * running process's pid (SO_PEERCRED names whoever bound the socket,
                         * an older process once it has been passed on) */
    HANDOVER_STARTED,   /* new → running: serving; the running one stops accepting */
    HANDOVER_STOPPING,  /* running → new: "stopping TUNNELS GRACE": it no longer accepts */
    HANDOVER_REFUSED,   /* either way: "refused REASON"; the running one goes on serving */
};

struct handover_listener {
    enum handover_kind kind;
    char address[HANDOVER_ADDRESS_MAX + 1];
};

struct handover_message {
    enum handover_type type;
    unsigned long number;  /* HELLO: version; END: total; STOPPING: live tunnels */
    unsigned long second;  /* END: pid; STOPPING: grace time (s) */
    size_t listener_count; /* LISTENERS: 1 to HANDOVER_BATCH_MAX */
    struct handover_listener listeners[HANDOVER_BATCH_MAX];
    char reason[HANDOVER_REASON_MAX + 1]; /* REFUSED */
};

const char *handover_kind_name(enum handover_kind kind);

/* The packet for message, in out: its length, or 0 when it cannot be written (a field out of
 * range, a control character in a text, out too small). */
size_t handover_message_format(const struct handover_message *message, char *out, size_t size);

/* One whole packet. False for anything but a well-formed message: a known type, every line
 * ended by '\n', no control character or NUL, numbers in decimal within their bounds, known
 * kinds, texts within their limits. */
bool handover_message_parse(const char *data, size_t length, struct handover_message *message);

#endif
