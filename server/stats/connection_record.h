/* connection_record: one client connection as the access log and the admin see it, and the
 * reference it holds on the user it belongs to, known only as a record_owner. */
#ifndef CONNECTION_RECORD_H
#define CONNECTION_RECORD_H

#include <stdbool.h>
#include <stdint.h>

#include "net.h"

/* What a record knows of its user: a name and a reference count. The auth layer's user
 * embeds one, so that a record keeps its user alive without this layer knowing users. */
struct record_owner {
    unsigned references; /* atomic */
    const char *name;
    void (*release)(struct record_owner *owner); /* runs when the last reference goes */
};

struct record_owner *record_owner_ref(struct record_owner *owner);
void record_owner_unref(struct record_owner *owner);

/* What a connection carries: a TCP stream to a destination it connected (CONNECT, and every
 * connection until its request names another command), UDP datagrams (UDP ASSOCIATE), or a
 * TCP stream from a peer that connected back (BIND). */
enum connection_kind {
    CONNECTION_KIND_CONNECT,
    CONNECTION_KIND_UDP,
    CONNECTION_KIND_BIND,
};

/* "connect", "udp", "bind": the admin's and the access log's spelling. */
const char *connection_kind_name(enum connection_kind kind);

/* One client connection, live or finished. */
struct connection_record {
    uint64_t id;          /* stable for the life of the server */
    int64_t started_ms;   /* realtime */
    int64_t ended_ms;     /* 0 while live */
    struct record_owner *owner; /* referenced; NULL until authenticated */
    char client[NET_ADDRESS_TEXT_MAX];
    char destination_address[NET_ADDRESS_TEXT_MAX]; /* "-" until connected */
    char *destination;    /* as the client sent it, "name:port"; NULL until the request */
    enum connection_kind kind;
    uint64_t bytes_up;    /* counter.h: read from other threads */
    uint64_t bytes_down;
    /* A UDP association's datagrams each way (counter.h); the bytes above count their
     * payloads, and the access log names both when datagram_relay is set. */
    uint64_t datagrams_up;
    uint64_t datagrams_down;
    bool datagram_relay;
    uint8_t status;       /* RFC 1928 reply code; 0 = success */
    bool replied;         /* a reply to the request was sent: status is final */
};

struct connection_record *connection_record_create(uint64_t id, const char *client);
/* Frees the record and drops its reference on the owner. */
void connection_record_free(struct connection_record *record);
/* Writes the access-log line of a finished connection. */
void connection_record_log(const struct connection_record *record);

#endif
