/* accounting_connection: one finished connection as the accounting database stores it — a flat
 * copy of its record, made on the worker that closed it — and how a search hands them over. */
#include "accounting_connection.h"

#include <stdio.h>
#include <string.h>

void accounting_connection_from_record(struct accounting_connection *connection,
                                       const struct connection_record *record)
{
    memset(connection, 0, sizeof *connection);
    connection->server_id = record->id;
    connection->started_ms = record->started_ms;
    connection->ended_ms = record->ended_ms;
    connection->kind = record->kind;
    connection->status = record->status;
    connection->replied = record->replied;
    connection->authenticated = record->owner != NULL;
    connection->bytes_up = record->bytes_up;
    connection->bytes_down = record->bytes_down;
    connection->datagrams_up = record->datagrams_up;
    connection->datagrams_down = record->datagrams_down;
    connection->datagram_relay = record->datagram_relay;
    snprintf(connection->user, sizeof connection->user, "%s",
             record->owner != NULL && record->owner->name != NULL ? record->owner->name : "");
    snprintf(connection->client, sizeof connection->client, "%s", record->client);
    snprintf(connection->destination, sizeof connection->destination, "%s",
             record->destination != NULL ? record->destination : "");
    snprintf(connection->destination_address, sizeof connection->destination_address, "%s",
             record->destination_address);
}
