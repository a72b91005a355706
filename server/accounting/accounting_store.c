/* accounting_store: the SQLite database of lifetime usage and finished connections — its schema
 * and migrations, batched writes, searches, usage resets, retention — synchronous, one thread. */
/* PLACEHOLDER: the implementation is being written. */
#include "accounting_store.h"

#include <stdio.h>
/* Placeholders of the filter helpers so the admin layer links before the store lands; the
 * store's implementation replaces this whole file. */
#include <stdlib.h>
#include <string.h>

void accounting_filter_init(struct accounting_filter *filter, uint32_t limit)
{
    memset(filter, 0, sizeof(*filter));
    filter->status = ACCOUNTING_STATUS_ANY;
    filter->limit = limit;
}

bool accounting_filter_set_destination(struct accounting_filter *filter, const char *pattern,
                                       const char **problem)
{
    *problem = NULL;
    filter->destination_match = pattern[0] != '\0' ? ACCOUNTING_DESTINATION_PREFIX
                                                   : ACCOUNTING_DESTINATION_ANY;
    snprintf(filter->destination_prefix, sizeof(filter->destination_prefix), "%s", pattern);
    return true;
}

bool accounting_filter_set_status(struct accounting_filter *filter, const char *text,
                                  const char **problem)
{
    *problem = NULL;
    if (text[0] == '\0') {
        filter->status = ACCOUNTING_STATUS_ANY;
    } else if (strcmp(text, "failed") == 0) {
        filter->status = ACCOUNTING_STATUS_FAILED;
    } else {
        char *end;
        long value = strtol(text, &end, 10);
        if (*end != '\0' || value < 0 || value > 255) {
            *problem = "not a reply code";
            return false;
        }
        filter->status = (int)value;
    }
    return true;
}
