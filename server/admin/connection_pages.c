/* connection_pages: the admin protocol's connections table (PROTOCOL.md 8.9) — one consistent
 * snapshot of live and recent connections across every worker, sorted and cut to one page. */
#include "connection_pages.h"

#include "connection_history.h"
#include "connection_record.h"
#include "counter.h"
#include "log.h"
#include "proxy.h"
#include "socks5_session.h"
#include "users.h"

#include <stdlib.h>
#include <string.h>

struct connection_row {
    const struct connection_record *record;
    const char *user; /* a history's records do not point back at their user */
    bool live;
};

/* Live records change and vanish on their workers' threads: they are copied out under each
 * worker's list lock (the user referenced, the destination duplicated), so that sorting and
 * formatting hold no worker back. Histories are read in place under the users lock. */
struct live_copies {
    struct connection_record *records;
    size_t count;
    size_t capacity;
};

struct row_list {
    struct connection_row *rows;
    size_t count;
    size_t capacity;
    bool failed;
    const struct user *only; /* NULL = everyone's */
    struct live_copies live;
};

/* items (count used of *capacity) with room for one more: the same pointer, a grown one
 * (*capacity updated), or NULL when out of memory (items untouched). */
static void *with_room_for_one(void *items, size_t *capacity, size_t count, size_t item_size)
{
    if (count < *capacity)
        return items;
    size_t grown_capacity = *capacity ? *capacity * 2 : 256;
    void *grown = realloc(items, grown_capacity * item_size);
    if (grown != NULL)
        *capacity = grown_capacity;
    return grown;
}

static void row_list_add(struct row_list *list, const struct connection_record *record,
                         const char *user, bool live)
{
    struct connection_row *rows =
        with_room_for_one(list->rows, &list->capacity, list->count, sizeof(*rows));
    if (rows == NULL) {
        list->failed = true;
        return;
    }
    list->rows = rows;
    list->rows[list->count++] = (struct connection_row){ record, user, live };
}

static void copy_live(const struct connection_record *record, void *context)
{
    struct row_list *list = context;
    struct live_copies *live = &list->live;
    if (list->only != NULL && record->owner != user_as_owner(list->only))
        return;
    struct connection_record *records =
        with_room_for_one(live->records, &live->capacity, live->count, sizeof(*records));
    if (records == NULL) {
        list->failed = true;
        return;
    }
    live->records = records;
    /* Field by field: the byte counts move under us and may only be read atomically. */
    struct connection_record *copy = &live->records[live->count];
    memset(copy, 0, sizeof(*copy));
    copy->id = record->id;
    copy->started_ms = record->started_ms;
    copy->owner = record->owner;
    memcpy(copy->client, record->client, sizeof(copy->client));
    memcpy(copy->destination_address, record->destination_address,
           sizeof(copy->destination_address));
    copy->bytes_up = counter_read(&record->bytes_up);
    copy->bytes_down = counter_read(&record->bytes_down);
    copy->status = record->status;
    copy->replied = record->replied;
    copy->destination = record->destination != NULL ? strdup(record->destination) : NULL;
    if (record->destination != NULL && copy->destination == NULL) {
        list->failed = true;
        return;
    }
    if (copy->owner != NULL)
        record_owner_ref(copy->owner);
    live->count++;
}

static void add_live_rows(struct row_list *list)
{
    for (size_t i = 0; i < list->live.count; i++) {
        const struct connection_record *record = &list->live.records[i];
        row_list_add(list, record, record->owner != NULL ? record->owner->name : ADMIN_TEXT_NONE,
                     true);
    }
}

static void free_live_copies(struct live_copies *live)
{
    for (size_t i = 0; i < live->count; i++) {
        free(live->records[i].destination);
        if (live->records[i].owner != NULL)
            record_owner_unref(live->records[i].owner);
    }
    free(live->records);
}

static void collect_history_of(struct user *user, struct row_list *list)
{
    struct connection_history *history = user_history(user);
    size_t count = history != NULL ? connection_history_count(history) : 0;
    for (size_t i = count; i-- > 0;) /* oldest first: ascending ids */
        row_list_add(list, connection_history_at(history, i), user_name(user), false);
}

static void collect_history(struct user *user, void *context)
{
    collect_history_of(user, context);
}

static int compare_rows(const void *left, const void *right)
{
    uint64_t a = ((const struct connection_row *)left)->record->id;
    uint64_t b = ((const struct connection_row *)right)->record->id;
    return a < b ? -1 : a > b;
}

static void put_connection_row(struct admin_text *body, const struct connection_row *row,
                               int64_t now)
{
    const struct connection_record *record = row->record;
    int64_t ended = row->live ? now : record->ended_ms;
    admin_text_cell_u64(body, record->id);
    admin_text_cell_str(body, row->live ? ADMIN_TEXT_STATE_LIVE : ADMIN_TEXT_STATE_CLOSED);
    admin_text_cell_time(body, record->started_ms);
    admin_text_cell_str(body, row->user);
    admin_text_cell_str(body, record->client);
    admin_text_cell_str(body, record->destination != NULL ? record->destination : ADMIN_TEXT_NONE);
    admin_text_cell_str(body, record->destination_address);
    admin_text_cell_u64(body, counter_read(&record->bytes_up));
    admin_text_cell_u64(body, counter_read(&record->bytes_down));
    if (row->live && !record->replied)
        admin_text_cell_str(body, ADMIN_TEXT_NONE);
    else
        admin_text_cell_u64(body, record->status);
    admin_text_cell_u64(body, ended > record->started_ms ? (uint64_t)(ended - record->started_ms) : 0);
    admin_text_end_row(body);
}

static void put_connection_page(struct admin_text *body, const struct admin_args_connections *args,
                                struct row_list *list)
{
    if (list->count > 1)
        qsort(list->rows, list->count, sizeof(*list->rows), compare_rows);
    admin_text_put_u64(body, ADMIN_KEY_TOTAL, list->count);
    admin_text_put_u64(body, ADMIN_KEY_OFFSET, args->offset);
    admin_text_begin_table(body, admin_connections_columns, ADMIN_CONNECTIONS_COLUMN_COUNT);
    int64_t now = log_realtime_ms();
    size_t end = list->count;
    if (args->limit != 0 && (size_t)args->offset + args->limit < end)
        end = (size_t)args->offset + args->limit;
    for (size_t i = args->offset; i < end; i++) {
        size_t mark = admin_text_mark(body);
        put_connection_row(body, &list->rows[i], now);
        if (admin_text_failed(body)) {
            admin_text_rollback(body, mark); /* as many whole rows as fit */
            break;
        }
    }
}

bool connection_page_write(struct proxy *proxy, const struct user *only,
                           const struct admin_args_connections *args, struct admin_text *body)
{
    struct row_list list = { .only = only };
    /* The users lock for the whole listing makes it one snapshot: a connection moves from a
     * worker's live list to its user's history under that lock (session_close). Each worker's
     * list lock is only held while its live records are copied out. */
    struct proxy_shared *shared = proxy->shared;
    users_lock(proxy->users);
    if (args->which != ADMIN_CONNECTIONS_RECENT) {
        for (size_t i = 0; i < shared->worker_count; i++) {
            session_list_lock(shared->workers[i]);
            session_for_each_live(shared->workers[i], copy_live, &list);
            session_list_unlock(shared->workers[i]);
        }
    }
    add_live_rows(&list);
    if (args->which != ADMIN_CONNECTIONS_LIVE) {
        if (only == NULL) {
            users_for_each(proxy->users, collect_history, &list);
            collect_history_of(users_anonymous(proxy->users), &list);
        } else {
            collect_history_of((struct user *)only, &list);
        }
    }
    bool written = !list.failed;
    if (written)
        put_connection_page(body, args, &list);
    users_unlock(proxy->users);
    free(list.rows);
    free_live_copies(&list.live);
    return written;
}
