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

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A connection as its row is written: live rows are written while their worker's list lock
 * is held (their byte counts and status move), finished ones under the users lock. */
struct connection_cells {
    const struct connection_record *record;
    const char *user; /* a history's records do not point back at their user */
    bool live;
    int64_t now;
};

struct connection_column {
    const char *name;
    void (*put)(struct admin_text *row, const struct connection_cells *cells);
};

static void put_id(struct admin_text *row, const struct connection_cells *cells)
{
    admin_text_cell_u64(row, cells->record->id);
}

static void put_state(struct admin_text *row, const struct connection_cells *cells)
{
    admin_text_cell_str(row, cells->live ? ADMIN_TEXT_STATE_LIVE : ADMIN_TEXT_STATE_CLOSED);
}

static void put_started(struct admin_text *row, const struct connection_cells *cells)
{
    admin_text_cell_time(row, cells->record->started_ms);
}

static void put_user(struct admin_text *row, const struct connection_cells *cells)
{
    admin_text_cell_str(row, cells->user);
}

static void put_client(struct admin_text *row, const struct connection_cells *cells)
{
    admin_text_cell_str(row, cells->record->client);
}

static void put_destination(struct admin_text *row, const struct connection_cells *cells)
{
    const char *destination = cells->record->destination;
    admin_text_cell_str(row, destination != NULL ? destination : ADMIN_TEXT_NONE);
}

static void put_destination_address(struct admin_text *row, const struct connection_cells *cells)
{
    admin_text_cell_str(row, cells->record->destination_address);
}

static void put_bytes_up(struct admin_text *row, const struct connection_cells *cells)
{
    admin_text_cell_u64(row, counter_read(&cells->record->bytes_up));
}

static void put_bytes_down(struct admin_text *row, const struct connection_cells *cells)
{
    admin_text_cell_u64(row, counter_read(&cells->record->bytes_down));
}

/* A live connection's status is final only once its reply went out. */
static void put_status(struct admin_text *row, const struct connection_cells *cells)
{
    if (cells->live && !cells->record->replied)
        admin_text_cell_str(row, ADMIN_TEXT_NONE);
    else
        admin_text_cell_u64(row, cells->record->status);
}

static void put_kind(struct admin_text *row, const struct connection_cells *cells)
{
    admin_text_cell_str(row, connection_kind_name(cells->record->kind));
}

/* Only a UDP association relays datagrams: "-" says the count does not apply. */
static void put_datagrams(struct admin_text *row, const struct connection_record *record,
                          const uint64_t *count)
{
    if (record->kind == CONNECTION_KIND_UDP)
        admin_text_cell_u64(row, counter_read(count));
    else
        admin_text_cell_str(row, ADMIN_TEXT_NONE);
}

static void put_datagrams_up(struct admin_text *row, const struct connection_cells *cells)
{
    put_datagrams(row, cells->record, &cells->record->datagrams_up);
}

static void put_datagrams_down(struct admin_text *row, const struct connection_cells *cells)
{
    put_datagrams(row, cells->record, &cells->record->datagrams_down);
}

static void put_duration(struct admin_text *row, const struct connection_cells *cells)
{
    const struct connection_record *record = cells->record;
    int64_t ended = cells->live ? cells->now : record->ended_ms;
    admin_text_cell_u64(row, ended > record->started_ms ? (uint64_t)(ended - record->started_ms) : 0);
}

/* The columns in wire order: the only place of the server a column is added (PROTOCOL.md 8.9
 * documents them; clients find columns by name, so a new one breaks none). */
static const struct connection_column columns[] = {
    { ADMIN_COLUMN_ID, put_id },
    { ADMIN_COLUMN_STATE, put_state },
    { ADMIN_COLUMN_STARTED, put_started },
    { ADMIN_COLUMN_USER, put_user },
    { ADMIN_COLUMN_CLIENT, put_client },
    { ADMIN_COLUMN_DESTINATION, put_destination },
    { ADMIN_COLUMN_DESTINATION_ADDRESS, put_destination_address },
    { ADMIN_COLUMN_BYTES_UP, put_bytes_up },
    { ADMIN_COLUMN_BYTES_DOWN, put_bytes_down },
    { ADMIN_COLUMN_STATUS, put_status },
    { ADMIN_COLUMN_DURATION_MS, put_duration },
    /* Appended after the columns of the first release, so that even a client that wrongly
     * counts columns instead of naming them reads those as before; a kind's own counts
     * (datagrams for udp) follow it. */
    { ADMIN_COLUMN_KIND, put_kind },
    { ADMIN_COLUMN_DATAGRAMS_UP, put_datagrams_up },
    { ADMIN_COLUMN_DATAGRAMS_DOWN, put_datagrams_down },
};
#define COLUMN_COUNT (sizeof(columns) / sizeof(columns[0]))

bool connection_columns_cover_protocol(void)
{
    for (size_t wanted = 0; wanted < ADMIN_CONNECTIONS_COLUMN_COUNT; wanted++) {
        size_t i = 0;
        while (i < COLUMN_COUNT && strcmp(columns[i].name, admin_connections_columns[wanted]) != 0)
            i++;
        if (i == COLUMN_COUNT)
            return false;
    }
    return true;
}

/* Where one row's cells sit in the listing's scratch text, by id for sorting. Rows are written
 * as they are collected, so a live record is never copied and no field can be left behind. */
struct encoded_row {
    uint64_t id;
    size_t offset;
    size_t length;
};

struct row_list {
    struct admin_text cells; /* every row, encoded */
    struct encoded_row *rows;
    size_t count;
    size_t capacity;
    bool failed;
    const struct user *only; /* NULL = everyone's */
    int64_t now;
};

static void row_list_add(struct row_list *list, const struct connection_record *record,
                         const char *user, bool live)
{
    if (list->count == list->capacity) {
        size_t capacity = list->capacity ? list->capacity * 2 : 256;
        struct encoded_row *rows = realloc(list->rows, capacity * sizeof(*rows));
        if (rows == NULL) {
            list->failed = true;
            return;
        }
        list->rows = rows;
        list->capacity = capacity;
    }
    struct connection_cells cells = { record, user, live, list->now };
    size_t mark = admin_text_mark(&list->cells);
    for (size_t i = 0; i < COLUMN_COUNT; i++)
        columns[i].put(&list->cells, &cells);
    admin_text_end_row(&list->cells);
    if (admin_text_failed(&list->cells)) {
        list->failed = true;
        return;
    }
    list->rows[list->count++] = (struct encoded_row){
        .id = record->id,
        .offset = mark,
        .length = admin_text_mark(&list->cells) - mark,
    };
}

static void add_live(const struct connection_record *record, void *context)
{
    struct row_list *list = context;
    if (list->only != NULL && record->owner != user_as_owner(list->only))
        return;
    row_list_add(list, record, record->owner != NULL ? record->owner->name : ADMIN_TEXT_NONE, true);
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
    uint64_t a = ((const struct encoded_row *)left)->id;
    uint64_t b = ((const struct encoded_row *)right)->id;
    return a < b ? -1 : a > b;
}

static void put_connection_page(struct admin_text *body, const struct admin_args_connections *args,
                                struct row_list *list)
{
    if (list->count > 1)
        qsort(list->rows, list->count, sizeof(*list->rows), compare_rows);
    admin_text_put_u64(body, ADMIN_KEY_TOTAL, list->count);
    admin_text_put_u64(body, ADMIN_KEY_OFFSET, args->offset);
    const char *names[COLUMN_COUNT];
    for (size_t i = 0; i < COLUMN_COUNT; i++)
        names[i] = columns[i].name;
    admin_text_begin_table(body, names, COLUMN_COUNT);
    size_t end = list->count;
    if (args->limit != 0 && (size_t)args->offset + args->limit < end)
        end = (size_t)args->offset + args->limit;
    for (size_t i = args->offset; i < end; i++) {
        size_t mark = admin_text_mark(body);
        const struct encoded_row *row = &list->rows[i];
        admin_text_append_rows(body, list->cells.data + row->offset, row->length);
        if (admin_text_failed(body)) {
            admin_text_rollback(body, mark); /* as many whole rows as fit */
            break;
        }
    }
}

bool connection_page_write(struct proxy_shared *shared, const struct user *only,
                           const struct admin_args_connections *args, struct admin_text *body)
{
    struct row_list list = { .only = only, .now = log_realtime_ms() };
    admin_text_init(&list.cells, 0, SIZE_MAX);
    /* The users lock for the whole listing makes it one snapshot: a connection moves from a
     * worker's live list to its user's history under that lock (session_close). Each worker's
     * list lock is only held while its live records are copied out. */
    users_lock(shared->users);
    if (args->which != ADMIN_CONNECTIONS_RECENT) {
        for (size_t i = 0; i < shared->worker_count; i++) {
            session_list_lock(shared->workers[i]);
            session_for_each_live(shared->workers[i], add_live, &list);
            session_list_unlock(shared->workers[i]);
        }
    }
    if (args->which != ADMIN_CONNECTIONS_LIVE) {
        if (only == NULL) {
            users_for_each(shared->users, collect_history, &list);
            collect_history_of(users_anonymous(shared->users), &list);
        } else {
            collect_history_of((struct user *)only, &list);
        }
    }
    bool written = !list.failed;
    if (written)
        put_connection_page(body, args, &list);
    users_unlock(shared->users);
    free(list.rows);
    admin_text_free(&list.cells);
    return written;
}
