/* metrics: a worker's usage counters (every one the original report kept; the server's are
 * their sum) and the record of one client connection for the access log and the admin. */
#include "metrics.h"

#include "counter.h"
#include "log.h"
#include "users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void metrics_add_up(struct metrics *total, const struct metrics *part)
{
    /* The struct is nothing but uint64_t counters. */
    uint64_t *sum = (uint64_t *)total;
    const uint64_t *add = (const uint64_t *)part;
    for (size_t i = 0; i < sizeof(*total) / sizeof(uint64_t); i++)
        sum[i] += counter_read(&add[i]);
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
    if (record->user != NULL)
        user_unref(record->user);
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
    log_access("user=%s client=%s dest=%s dest_addr=%s up=%llu down=%llu status=%u",
               record->user != NULL ? user_name(record->user) : "-", record->client,
               destination, record->destination_address,
               (unsigned long long)record->bytes_up, (unsigned long long)record->bytes_down,
               record->status);
}
