/* accounting_connection: one finished connection as the accounting database stores it — a flat
 * copy of its record, made on the worker that closed it — and how a search hands them over. */
#ifndef ACCOUNTING_CONNECTION_H
#define ACCOUNTING_CONNECTION_H

#include <stdbool.h>
#include <stdint.h>

#include "accounting_filter.h"
#include "connection_record.h"

#define ACCOUNTING_USER_MAX 255

/* One finished connection as stored: a flat copy of its record, made on the worker that closed
 * it (a record's strings belong to the worker and its owner to the users table). */
struct accounting_connection {
    uint64_t history_id;  /* the database's id: assigned by accounting_store_add_connection,
                           * increasing, never reused (0 before it is stored) */
    uint64_t server_id;   /* the id the server gave it (restarts count from 1 again) */
    int64_t started_ms;   /* realtime */
    int64_t ended_ms;
    enum connection_kind kind;
    uint8_t status;       /* RFC 1928 reply code, 0 = success */
    bool replied;
    bool authenticated;   /* false: user is empty, the connection never logged in */
    uint64_t bytes_up;
    uint64_t bytes_down;
    uint64_t datagrams_up;
    uint64_t datagrams_down;
    bool datagram_relay;
    char user[ACCOUNTING_USER_MAX + 1];
    char client[NET_ADDRESS_TEXT_MAX];
    char destination[ACCOUNTING_DESTINATION_MAX + 1];           /* "" = no request */
    char destination_address[NET_ADDRESS_TEXT_MAX];             /* "-" = none */
};

/* Fills connection from a finished record (user: the owner's name, or "" when none). */
void accounting_connection_from_record(struct accounting_connection *connection,
                                       const struct connection_record *record);

/* A search's visitor: false stops it. */
typedef bool (*accounting_connection_visit)(void *context,
                                            const struct accounting_connection *connection);

#endif
