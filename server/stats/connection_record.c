/* connection_record: one client connection as the access log and the admin see it, and the
 * reference it holds on the user it belongs to, known only as a record_owner. */
#include "connection_record.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct record_owner *record_owner_ref(struct record_owner *owner)
{
    __atomic_add_fetch(&owner->references, 1, __ATOMIC_RELAXED);
    return owner;
}

void record_owner_unref(struct record_owner *owner)
{
    if (__atomic_sub_fetch(&owner->references, 1, __ATOMIC_ACQ_REL) == 0)
        owner->release(owner);
}

const char *connection_kind_name(enum connection_kind kind)
{
    switch (kind) {
    case CONNECTION_KIND_CONNECT:
        return "connect";
    case CONNECTION_KIND_UDP:
        return "udp";
    case CONNECTION_KIND_BIND:
        return "bind";
    }
    return "connect";
}

struct connection_record *connection_record_create(uint64_t id, const char *client)
{
    struct connection_record *record = calloc(1, sizeof(*record));
    if (record == NULL)
        return NULL;
    record->id = id;
    record->started_ms = log_realtime_ms();
    snprintf(record->client, sizeof(record->client), "%s", client);
    strcpy(record->destination_address, "-");
    record->status = 0x01; /* general failure until something better is known */
    return record;
}

void connection_record_free(struct connection_record *record)
{
    if (record == NULL)
        return;
    if (record->owner != NULL)
        record_owner_unref(record->owner);
    free(record->destination);
    free(record);
}

void connection_record_log(const struct connection_record *record)
{
    if (!log_access_enabled())
        return;
    /* Names can hold any byte: keep the line one line and free of control characters. */
    char destination[4 * 262 + 1] = "-";
    if (record->destination != NULL) {
        size_t out = 0;
        for (const unsigned char *c = (const unsigned char *)record->destination; *c; c++) {
            if (*c < 0x20 || *c == 0x7f || *c == ' ' || *c == '\\')
                out += (size_t)snprintf(destination + out, sizeof(destination) - out, "\\x%02x", *c);
            else
                destination[out++] = (char)*c;
        }
        destination[out] = '\0';
    }
    char datagrams[64] = "";
    if (record->datagram_relay)
        snprintf(datagrams, sizeof(datagrams), " datagrams_up=%llu datagrams_down=%llu",
                 (unsigned long long)record->datagrams_up,
                 (unsigned long long)record->datagrams_down);
    log_access("user=%s client=%s dest=%s dest_addr=%s up=%llu down=%llu status=%u kind=%s%s",
               record->owner != NULL ? record->owner->name : "-", record->client,
               destination, record->destination_address,
               (unsigned long long)record->bytes_up, (unsigned long long)record->bytes_down,
               record->status, connection_kind_name(record->kind), datagrams);
}
