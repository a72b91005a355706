/* fleet_merge: one body out of every server's answer to the same command, with no I/O — tables
 * gain a `server` column, records become a row per server plus a total, changes a row each. */
#include "fleet_merge.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_metrics.h"

#define SERVER_NAME_TEXT_SIZE 1100 /* a host:port escaped (4 bytes a byte at most) */

/* Counts outside the metrics registry that mean the same on every server and add up: the
 * user-metrics record's (8.8) and those of other records and tables' summaries. The metrics
 * registry's counters and gauges (and their lifetime_ forms) come from admin_metrics[]. */
static const char *const summable_names[] = {
    ADMIN_KEY_CONNECTIONS_LIVE,         ADMIN_KEY_DATAGRAMS_UP,
    ADMIN_KEY_DATAGRAMS_DOWN,           ADMIN_KEY_LIFETIME_DATAGRAMS_UP,
    ADMIN_KEY_LIFETIME_DATAGRAMS_DOWN,  ADMIN_KEY_TOTAL,
    ADMIN_KEY_CLOSED,                   ADMIN_KEY_HISTORY_ROWS,
    ADMIN_KEY_ADMIN_SESSIONS,
};

static bool span_is(const char *name, size_t length, const char *text)
{
    return strlen(text) == length && memcmp(name, text, length) == 0;
}

bool fleet_merge_summable(const char *name, size_t length)
{
    for (size_t i = 0; i < sizeof(summable_names) / sizeof(summable_names[0]); i++)
        if (span_is(name, length, summable_names[i]))
            return true;
    size_t prefix = strlen(ADMIN_LIFETIME_PREFIX);
    bool lifetime = length > prefix && memcmp(name, ADMIN_LIFETIME_PREFIX, prefix) == 0;
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++) {
        if (span_is(name, length, admin_metrics[i].name))
            return true;
        /* The database keeps lifetime figures of the counters only (PROTOCOL.md 8.7). */
        if (lifetime && admin_metrics[i].kind == ADMIN_METRIC_COUNTER &&
            span_is(name + prefix, length - prefix, admin_metrics[i].name))
            return true;
    }
    return false;
}

/* ---- Writing ---- */

static void put(struct admin_text *out, const char *bytes, size_t length)
{
    admin_text_append_rows(out, bytes, length); /* raw bytes: the values are escaped already */
}

static void put_str(struct admin_text *out, const char *text)
{
    put(out, text, strlen(text));
}

static void put_span(struct admin_text *out, struct admin_span span)
{
    put(out, span.data, span.length);
}

/* A value as a cell: a raw TAB (which a server escapes, PROTOCOL.md 8.3) would split it. */
static void put_cell(struct admin_text *out, struct admin_span value)
{
    for (const char *tab; (tab = memchr(value.data, '\t', value.length)) != NULL;) {
        put(out, value.data, (size_t)(tab - value.data));
        put(out, "\\t", 2);
        value.length -= (size_t)(tab - value.data) + 1;
        value.data = tab + 1;
    }
    put_span(out, value);
}

static void put_server(struct admin_text *out, const char *server)
{
    char escaped[SERVER_NAME_TEXT_SIZE];
    admin_text_escape(server, strlen(server), escaped, sizeof(escaped));
    put_str(out, escaped);
}

static void put_u64(struct admin_text *out, uint64_t value)
{
    char digits[24];
    int length = snprintf(digits, sizeof(digits), "%" PRIu64, value);
    put(out, digits, (size_t)length);
}

/* A column or key as the merged table names it. */
static void put_name(struct admin_text *out, struct admin_span name)
{
    if (admin_span_equals(name, FLEET_MERGE_SERVER))
        put_str(out, FLEET_MERGE_SERVER_VERSION);
    else
        put_cell(out, name);
}

/* ---- Names ---- */

/* The keys or columns of every answer, each once, in order of first appearance. */
struct names {
    struct admin_span *items;
    size_t count;
    size_t capacity;
    bool failed;
};

static void names_add(struct names *names, struct admin_span name)
{
    for (size_t i = 0; i < names->count; i++)
        if (names->items[i].length == name.length &&
            memcmp(names->items[i].data, name.data, name.length) == 0)
            return;
    if (names->count == names->capacity) {
        size_t capacity = names->capacity == 0 ? 32 : names->capacity * 2;
        struct admin_span *grown = realloc(names->items, capacity * sizeof(*grown));
        if (grown == NULL) {
            names->failed = true;
            return;
        }
        names->items = grown;
        names->capacity = capacity;
    }
    names->items[names->count++] = name;
}

static void record_keys(const struct fleet_answer *answers, size_t count, struct names *names)
{
    for (size_t i = 0; i < count; i++) {
        if (!answers[i].ok)
            continue;
        struct admin_record_cursor cursor;
        struct admin_span key, value;
        admin_record_cursor_init(&cursor, answers[i].body, answers[i].length);
        while (admin_record_cursor_next(&cursor, &key, &value))
            names_add(names, key);
    }
}

static bool record_value(const struct fleet_answer *answer, struct admin_span key,
                         struct admin_span *value)
{
    struct admin_record_cursor cursor;
    struct admin_span found;
    admin_record_cursor_init(&cursor, answer->body, answer->length);
    while (admin_record_cursor_next(&cursor, &found, value))
        if (found.length == key.length && memcmp(found.data, key.data, key.length) == 0)
            return true;
    return false;
}

/* ---- Merged values ---- */

/* The sum of the numbers the ok answers give for key; false when none gives one (or the sum
 * overflows). */
static bool sum_of(const struct fleet_answer *answers, size_t count, struct admin_span key,
                   uint64_t *sum)
{
    bool any = false;
    *sum = 0;
    for (size_t i = 0; i < count; i++) {
        struct admin_span value;
        uint64_t number;
        if (!answers[i].ok || !record_value(&answers[i], key, &value) ||
            !admin_span_to_u64(value, &number))
            continue;
        if (__builtin_add_overflow(*sum, number, sum))
            return false;
        any = true;
    }
    return any;
}

/* A table summary's key that is not summed: the common value, "yes" when any yes/no says yes,
 * else "-". */
static void put_common_value(struct admin_text *out, const struct fleet_answer *answers,
                             size_t count, struct admin_span key)
{
    struct admin_span first = {NULL, 0};
    bool same = true, all_bool = true, any_yes = false;
    for (size_t i = 0; i < count; i++) {
        struct admin_span value;
        if (!answers[i].ok)
            continue;
        if (!record_value(&answers[i], key, &value))
            value = (struct admin_span){ADMIN_TEXT_NONE, 1};
        bool flag;
        if (admin_span_to_bool(value, &flag))
            any_yes |= flag;
        else
            all_bool = false;
        if (first.data == NULL)
            first = value;
        else if (first.length != value.length || memcmp(first.data, value.data, value.length))
            same = false;
    }
    if (same && first.data != NULL)
        put_cell(out, first);
    else if (all_bool)
        put_str(out, any_yes ? ADMIN_TEXT_YES : ADMIN_TEXT_NO);
    else
        put_str(out, ADMIN_TEXT_NONE);
}

/* ---- The three shapes ---- */

static void merge_changes(const struct fleet_answer *answers, size_t count,
                          struct admin_text *out)
{
    put_str(out, "\n" FLEET_MERGE_SERVER "\t" FLEET_MERGE_RESULT "\t" FLEET_MERGE_ERROR "\n");
    for (size_t i = 0; i < count; i++) {
        put_server(out, answers[i].server);
        if (answers[i].ok) {
            put_str(out, "\tok\t" ADMIN_TEXT_NONE "\n");
            continue;
        }
        const char *error = answers[i].error != NULL ? answers[i].error : "";
        put_str(out, "\terror\t");
        put_cell(out, (struct admin_span){error, strlen(error)}); /* the server escaped it */
        put(out, "\n", 1);
    }
}

static void merge_records(const struct fleet_answer *answers, size_t count,
                          struct admin_text *out, struct names *keys)
{
    record_keys(answers, count, keys);
    bool summable = false;
    put_str(out, "\n" FLEET_MERGE_SERVER);
    for (size_t k = 0; k < keys->count; k++) {
        put(out, "\t", 1);
        put_name(out, keys->items[k]);
        summable |= fleet_merge_summable(keys->items[k].data, keys->items[k].length);
    }
    put(out, "\n", 1);
    for (size_t i = 0; i < count; i++) {
        if (!answers[i].ok)
            continue;
        put_server(out, answers[i].server);
        for (size_t k = 0; k < keys->count; k++) {
            struct admin_span value;
            put(out, "\t", 1);
            if (record_value(&answers[i], keys->items[k], &value))
                put_cell(out, value);
            else
                put_str(out, ADMIN_TEXT_NONE);
        }
        put(out, "\n", 1);
    }
    if (!summable)
        return;
    put_str(out, FLEET_MERGE_TOTAL);
    for (size_t k = 0; k < keys->count; k++) {
        uint64_t sum;
        put(out, "\t", 1);
        if (fleet_merge_summable(keys->items[k].data, keys->items[k].length) &&
            sum_of(answers, count, keys->items[k], &sum))
            put_u64(out, sum);
        else
            put_str(out, ADMIN_TEXT_NONE);
    }
    put(out, "\n", 1);
}

static void merge_tables(const struct fleet_answer *answers, size_t count,
                         struct admin_text *out, struct names *keys)
{
    record_keys(answers, count, keys);
    for (size_t k = 0; k < keys->count; k++) {
        struct admin_span key = keys->items[k];
        uint64_t sum;
        put_span(out, key);
        put(out, ": ", 2);
        if (fleet_merge_summable(key.data, key.length) && sum_of(answers, count, key, &sum))
            put_u64(out, sum);
        else
            put_common_value(out, answers, count, key);
        put(out, "\n", 1);
    }
    struct admin_table first;
    size_t first_index = 0;
    while (first_index < count &&
           !(answers[first_index].ok &&
             admin_table_open(&first, answers[first_index].body, answers[first_index].length)))
        first_index++;
    put_str(out, "\n" FLEET_MERGE_SERVER);
    size_t columns = first_index < count ? first.column_count : 0;
    for (size_t c = 0; c < columns; c++) {
        struct admin_span name;
        admin_table_column_name(&first, c, &name);
        put(out, "\t", 1);
        put_name(out, name);
    }
    put(out, "\n", 1);
    for (size_t i = first_index; i < count; i++) {
        struct admin_table table;
        if (!answers[i].ok || !admin_table_open(&table, answers[i].body, answers[i].length))
            continue;
        /* Where each of the first table's columns is in this one (-1: missing). */
        long *where = calloc(columns > 0 ? columns : 1, sizeof(*where));
        if (where == NULL) {
            keys->failed = true;
            return;
        }
        for (size_t c = 0; c < columns; c++) {
            struct admin_span name;
            admin_table_column_name(&first, c, &name);
            where[c] = -1;
            for (size_t d = 0; d < table.column_count; d++) {
                struct admin_span other;
                if (admin_table_column_name(&table, d, &other) && other.length == name.length &&
                    memcmp(other.data, name.data, name.length) == 0) {
                    where[c] = (long)d;
                    break;
                }
            }
        }
        struct admin_row row;
        while (admin_table_next_row(&table, &row)) {
            put_server(out, answers[i].server);
            for (size_t c = 0; c < columns; c++) {
                struct admin_span field;
                put(out, "\t", 1);
                if (where[c] >= 0 && admin_row_field(&row, (size_t)where[c], &field))
                    put_span(out, field);
                else
                    put_str(out, ADMIN_TEXT_NONE);
            }
            put(out, "\n", 1);
        }
        free(where);
    }
}

bool fleet_merge(enum admin_body_kind kind, const struct fleet_answer *answers, size_t count,
                 struct admin_text *out)
{
    bool any_ok = false;
    for (size_t i = 0; i < count; i++)
        any_ok |= answers[i].ok;
    struct names keys = {0};
    switch (kind) {
    case ADMIN_BODY_EMPTY: merge_changes(answers, count, out); break;
    case ADMIN_BODY_RECORD:
        if (any_ok)
            merge_records(answers, count, out, &keys);
        break;
    case ADMIN_BODY_TABLE:
        if (any_ok)
            merge_tables(answers, count, out, &keys);
        break;
    }
    bool failed = keys.failed;
    free(keys.items);
    return (any_ok || kind == ADMIN_BODY_EMPTY) && !failed && !admin_text_failed(out);
}
