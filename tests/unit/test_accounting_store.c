/* test_accounting_store: Check suite for server/accounting/accounting_store — creation, reopening,
 * migration and refusals, batches, searches against a model with keyset paging and the plans
 * SQLite picks, retention and vacuum, usage and resets, and a full disk — in a temp directory. */
#include "accounting_search.h"
#include "accounting_store.h"

#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char directory[256];

static void make_directory(void)
{
    const char *base = getenv("TMPDIR");
    snprintf(directory, sizeof directory, "%s/test_accounting_store.XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    if (mkdtemp(directory) == NULL) {
        perror(directory);
        exit(EXIT_FAILURE);
    }
}

static void remove_directory(void)
{
    DIR *listing = opendir(directory);
    if (listing == NULL)
        return;
    struct dirent *entry;
    char path[512];
    while ((entry = readdir(listing)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", directory, entry->d_name);
        unlink(path);
    }
    closedir(listing);
    rmdir(directory);
}

/* A fresh path in the directory for each database. */
static const char *database_path(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    char side[600];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    return path;
}

static const char *database_path_existing(const char *name)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", directory, name);
    return path;
}

static struct accounting_store *open_store(const char *path)
{
    char error[ACCOUNTING_ERROR_MAX] = "";
    struct accounting_store *store = accounting_store_open(path, error);
    ck_assert_msg(store != NULL, "%s", error);
    return store;
}

static struct accounting_connection sample_connection(unsigned n)
{
    struct accounting_connection connection;
    memset(&connection, 0, sizeof connection);
    connection.server_id = 1000 + n;
    connection.started_ms = 1000000 + (int64_t)n * 1000;
    connection.ended_ms = connection.started_ms + 500 + (n % 7) * 100;
    connection.kind = (enum connection_kind)(n % 3);
    connection.status = (uint8_t)(n % 5 == 0 ? (n / 5) % 9 : 0);
    connection.replied = n % 11 != 0;
    static const char *const users[] = {"alice", "bob", "", "carol", "Alice"};
    const char *user = users[n % 5];
    connection.authenticated = user[0] != '\0';
    snprintf(connection.user, sizeof connection.user, "%s", user);
    snprintf(connection.client, sizeof connection.client, "127.0.0.1:%u", 40000 + n);
    static const char *const destinations[] = {
        "example.com:443", "example.com:80", "EXAMPLE.com:443", "ex%ample.org:443",
        "exa_ple.net:22", "10.1.2.3:8080", "", "[2001:db8::5]:443", "www.example.com:443",
        "example.co:443",
    };
    static const char *const addresses[] = {
        "93.184.216.34:443", "93.184.216.34:80", "10.9.8.7:443", "192.0.2.1:443",
        "[2001:db8::7]:22", "10.1.2.3:8080", "-", "[2001:db8::5]:443", "[::1]:443", "-",
    };
    snprintf(connection.destination, sizeof connection.destination, "%s",
             destinations[n % 10]);
    snprintf(connection.destination_address, sizeof connection.destination_address, "%s",
             addresses[(n / 2 + n) % 10]);
    connection.bytes_up = (uint64_t)n * 3 + (n == 7 ? UINT64_C(1) << 63 : 0);
    connection.bytes_down = (uint64_t)n * 5;
    connection.datagrams_up = n % 3 == 1 ? n : 0;
    connection.datagrams_down = n % 3 == 1 ? n * 2 : 0;
    connection.datagram_relay = n % 3 == 1;
    return connection;
}

/* Stores count sample connections numbered from first in one batch; the stored copies go to
 * out (when not NULL) with their history ids. */
static void add_samples(struct accounting_store *store, unsigned first, unsigned count,
                        struct accounting_connection *out)
{
    char error[ACCOUNTING_ERROR_MAX] = "";
    ck_assert_msg(accounting_store_begin(store, error), "%s", error);
    for (unsigned i = 0; i < count; i++) {
        struct accounting_connection connection = sample_connection(first + i);
        ck_assert_msg(accounting_store_add_connection(store, &connection, error), "%s", error);
        if (out != NULL)
            out[i] = connection;
    }
    ck_assert_msg(accounting_store_commit(store, error), "%s", error);
}

static uint64_t stored_rows(struct accounting_store *store)
{
    char error[ACCOUNTING_ERROR_MAX] = "";
    uint64_t rows, pages, free_pages;
    ck_assert_msg(accounting_store_counts(store, &rows, &pages, &free_pages, error), "%s", error);
    return rows;
}

struct collected {
    struct accounting_connection rows[400];
    unsigned count;
    unsigned stop_after; /* 0 = never stop */
};

static bool collect(void *context, const struct accounting_connection *connection)
{
    struct collected *collected = context;
    ck_assert_uint_lt(collected->count, 400);
    collected->rows[collected->count++] = *connection;
    return collected->stop_after == 0 || collected->count < collected->stop_after;
}

static bool search(struct accounting_store *store, const struct accounting_filter *filter,
                   struct collected *collected)
{
    char error[ACCOUNTING_ERROR_MAX] = "";
    bool more = false;
    ck_assert_msg(accounting_store_search(store, filter, collect, collected, &more, error), "%s",
                  error);
    return more;
}

static void assert_same_connection(const struct accounting_connection *a,
                                   const struct accounting_connection *b)
{
    ck_assert_uint_eq(a->history_id, b->history_id);
    ck_assert_uint_eq(a->server_id, b->server_id);
    ck_assert_int_eq(a->started_ms, b->started_ms);
    ck_assert_int_eq(a->ended_ms, b->ended_ms);
    ck_assert_int_eq(a->kind, b->kind);
    ck_assert_uint_eq(a->status, b->status);
    ck_assert_int_eq(a->replied, b->replied);
    ck_assert_int_eq(a->authenticated, b->authenticated);
    ck_assert_str_eq(a->user, b->user);
    ck_assert_str_eq(a->client, b->client);
    ck_assert_str_eq(a->destination, b->destination);
    ck_assert_str_eq(a->destination_address, b->destination_address);
    ck_assert_uint_eq(a->bytes_up, b->bytes_up);
    ck_assert_uint_eq(a->bytes_down, b->bytes_down);
    ck_assert_uint_eq(a->datagrams_up, b->datagrams_up);
    ck_assert_uint_eq(a->datagrams_down, b->datagrams_down);
    ck_assert_int_eq(a->datagram_relay, b->datagram_relay);
}

static int64_t pragma_number(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *statement = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &statement, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(statement), SQLITE_ROW);
    int64_t value = sqlite3_column_int64(statement, 0);
    sqlite3_finalize(statement);
    sqlite3_close(db);
    return value;
}

static void write_file(const char *path, const void *bytes, size_t length)
{
    FILE *file = fopen(path, "wb");
    ck_assert_ptr_nonnull(file);
    ck_assert_uint_eq(fwrite(bytes, 1, length, file), length);
    ck_assert_int_eq(fclose(file), 0);
}

static size_t read_file(const char *path, unsigned char *bytes, size_t size)
{
    FILE *file = fopen(path, "rb");
    ck_assert_ptr_nonnull(file);
    size_t length = fread(bytes, 1, size, file);
    fclose(file);
    return length;
}

START_TEST(created_with_schema_wal_and_incremental_vacuum)
{
    const char *path = database_path("new.db");
    struct accounting_store *store = open_store(path);
    int64_t created = 0;
    char error[ACCOUNTING_ERROR_MAX] = "";
    ck_assert_msg(accounting_store_created(store, &created, error), "%s", error);
    ck_assert_int_gt(created, INT64_C(1700000000000));
    ck_assert_int_eq(pragma_number(path, "PRAGMA user_version"),
                     accounting_store_schema_version());
    ck_assert_int_eq(pragma_number(path, "PRAGMA auto_vacuum"), 2);
    /* 2 in the header's write and read versions is WAL. */
    ck_assert_int_eq(pragma_number(path, "SELECT count(*) FROM sqlite_master "
                                         "WHERE name = 'connections_by_user'"),
                     1);
    accounting_store_close(store);
    unsigned char header[20];
    ck_assert_uint_eq(read_file(path, header, sizeof header), sizeof header);
    ck_assert_uint_eq(header[18], 2);
    ck_assert_uint_eq(header[19], 2);
    ck_assert_uint_ge(accounting_store_schema_version(), 1);
}
END_TEST

START_TEST(reopening_keeps_everything)
{
    const char *path = database_path("reopen.db");
    struct accounting_store *store = open_store(path);
    struct accounting_connection stored[20];
    add_samples(store, 0, 20, stored);
    char error[ACCOUNTING_ERROR_MAX] = "";
    struct accounting_usage usage = {.connections_total = 12, .bytes_up = UINT64_MAX,
                                     .limit_refusals = 3, .first_seen_ms = 5, .last_seen_ms = 9};
    usage.failures[4] = 2;
    usage.failures[8] = 1;
    uint64_t global[ADMIN_METRIC_COUNT];
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++)
        global[i] = 100 + i;
    ck_assert(accounting_store_begin(store, error));
    ck_assert_msg(accounting_store_add_user_usage(store, "alice", &usage, error), "%s", error);
    ck_assert_msg(accounting_store_add_global_usage(store, global, error), "%s", error);
    ck_assert(accounting_store_commit(store, error));
    int64_t created = 0, created_again = 0;
    ck_assert(accounting_store_created(store, &created, error));
    accounting_store_close(store);

    store = open_store(path);
    ck_assert(accounting_store_created(store, &created_again, error));
    ck_assert_int_eq(created, created_again);
    struct accounting_filter filter;
    accounting_filter_init(&filter, 100);
    struct collected collected = {.count = 0};
    ck_assert(!search(store, &filter, &collected));
    ck_assert_uint_eq(collected.count, 20);
    for (unsigned i = 0; i < 20; i++)
        assert_same_connection(&collected.rows[i], &stored[19 - i]);

    uint64_t loaded[ADMIN_METRIC_COUNT];
    ck_assert(accounting_store_load_global(store, loaded, error));
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++)
        ck_assert_uint_eq(loaded[i], admin_metrics[i].kind == ADMIN_METRIC_COUNTER ? global[i] : 0);
    accounting_store_close(store);
}
END_TEST

START_TEST(an_empty_file_is_migrated)
{
    const char *path = database_path("empty.db");
    write_file(path, "", 0);
    struct accounting_store *store = open_store(path);
    add_samples(store, 0, 3, NULL);
    ck_assert_uint_eq(stored_rows(store), 3);
    accounting_store_close(store);
    ck_assert_int_eq(pragma_number(path, "PRAGMA auto_vacuum"), 2);
    ck_assert_int_eq(pragma_number(path, "PRAGMA user_version"),
                     accounting_store_schema_version());
}
END_TEST

/* Opening is refused with "path: ..." and the file left byte for byte as it was. */
static void refused_unchanged(const char *path, const char *expected_error)
{
    static unsigned char before[65536], after[65536];
    size_t before_length = read_file(path, before, sizeof before);
    char error[ACCOUNTING_ERROR_MAX] = "";
    ck_assert_ptr_null(accounting_store_open(path, error));
    ck_assert_msg(strncmp(error, path, strlen(path)) == 0 && error[strlen(path)] == ':', "%s",
                  error);
    ck_assert_msg(strstr(error, expected_error) != NULL, "%s", error);
    size_t after_length = read_file(path, after, sizeof after);
    ck_assert_uint_eq(before_length, after_length);
    ck_assert(memcmp(before, after, before_length) == 0);
}

static void make_foreign_database(const char *path, int version)
{
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    char sql[200];
    snprintf(sql, sizeof sql,
             "CREATE TABLE future (x); INSERT INTO future VALUES (1); PRAGMA user_version = %d",
             version);
    ck_assert_int_eq(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

START_TEST(a_newer_schema_is_refused_and_left_alone)
{
    const char *path = database_path("future.db");
    make_foreign_database(path, 99);
    char expected[128];
    snprintf(expected, sizeof expected,
             "schema version 99 is newer than this socks5d's (%u); refusing to change it",
             accounting_store_schema_version());
    refused_unchanged(path, expected);
}
END_TEST

START_TEST(a_foreign_database_is_refused)
{
    const char *path = database_path("foreign.db");
    make_foreign_database(path, 0);
    refused_unchanged(path, "not a socks5d accounting database");
}
END_TEST

START_TEST(garbage_is_refused_with_the_path)
{
    const char *path = database_path("garbage.db");
    char garbage[8192];
    for (size_t i = 0; i < sizeof garbage; i++)
        garbage[i] = (char)(i * 7 + 3);
    write_file(path, garbage, sizeof garbage);
    refused_unchanged(path, "file is not a database");

    /* A real header whose pages are then wrecked. */
    const char *damaged = database_path("damaged.db");
    make_foreign_database(damaged, 1);
    static unsigned char bytes[65536];
    size_t length = read_file(damaged, bytes, sizeof bytes);
    memset(bytes + 100, 0xEE, length - 100);
    write_file(damaged, bytes, length);
    refused_unchanged(damaged, "malformed");

    char error[ACCOUNTING_ERROR_MAX] = "";
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no/such/dir.db", directory);
    ck_assert_ptr_null(accounting_store_open(missing, error));
    ck_assert_msg(strncmp(error, missing, strlen(missing)) == 0, "%s", error);
    ck_assert_msg(strstr(error, "unable to open") != NULL, "%s", error);
}
END_TEST

START_TEST(batches_commit_and_roll_back)
{
    const char *path = database_path("batches.db");
    struct accounting_store *store = open_store(path);
    char error[ACCOUNTING_ERROR_MAX] = "";
    ck_assert(accounting_store_begin(store, error));
    ck_assert(!accounting_store_begin(store, error));
    ck_assert(strstr(error, "already open") != NULL);
    struct accounting_connection connection = sample_connection(1);
    ck_assert(accounting_store_add_connection(store, &connection, error));
    uint64_t first_id = connection.history_id;
    ck_assert_uint_gt(first_id, 0);
    accounting_store_rollback(store);
    ck_assert_uint_eq(stored_rows(store), 0);
    ck_assert(!accounting_store_commit(store, error));
    ck_assert(strstr(error, "no batch") != NULL);

    struct accounting_connection stored[5];
    add_samples(store, 0, 5, stored);
    for (unsigned i = 1; i < 5; i++)
        ck_assert_uint_gt(stored[i].history_id, stored[i - 1].history_id);
    ck_assert_uint_eq(stored_rows(store), 5);
    /* A reader on another handle sees committed batches only. */
    ck_assert(accounting_store_begin(store, error));
    connection = sample_connection(9);
    ck_assert(accounting_store_add_connection(store, &connection, error));
    ck_assert_int_eq(pragma_number(path, "SELECT count(*) FROM connections"), 5);
    ck_assert(accounting_store_commit(store, error));
    ck_assert_int_eq(pragma_number(path, "SELECT count(*) FROM connections"), 6);
    /* Closing with a batch open rolls it back. */
    ck_assert(accounting_store_begin(store, error));
    ck_assert(accounting_store_add_connection(store, &connection, error));
    accounting_store_close(store);
    ck_assert_int_eq(pragma_number(path, "SELECT count(*) FROM connections"), 6);
}
END_TEST

/* ---- Searching, against a model ---- */

#define MODEL_ROWS 240

static bool model_matches(const struct accounting_filter *filter,
                          const struct accounting_connection *connection)
{
    if (filter->user != NULL) {
        if (filter->user[0] == '\0' ? connection->authenticated
                                    : !connection->authenticated ||
                                          strcmp(filter->user, connection->user) != 0)
            return false;
    }
    if (filter->destination_match == ACCOUNTING_DESTINATION_PREFIX &&
        strncmp(connection->destination, filter->destination_prefix,
                strlen(filter->destination_prefix)) != 0)
        return false;
    if (filter->destination_match == ACCOUNTING_DESTINATION_NETWORK) {
        uint8_t address[16];
        if (!accounting_address_bytes(connection->destination_address, address) ||
            memcmp(address, filter->network_low, 16) < 0 ||
            memcmp(address, filter->network_high, 16) > 0)
            return false;
    }
    if (filter->since_ms != 0 && connection->started_ms < filter->since_ms)
        return false;
    if (filter->until_ms != 0 && connection->started_ms >= filter->until_ms)
        return false;
    if (filter->status == ACCOUNTING_STATUS_FAILED && connection->status == 0)
        return false;
    if (filter->status >= 0 && connection->status != filter->status)
        return false;
    if (filter->before_history_id != 0 && connection->history_id >= filter->before_history_id)
        return false;
    return true;
}

/* Searches through the store (its own choice of index), or on another handle walking one
 * given index. */
struct searcher {
    struct accounting_store *store;
    sqlite3 *db;
    enum accounting_search_index index;
};

static bool search_with(const struct searcher *searcher, const struct accounting_filter *filter,
                        struct collected *collected)
{
    if (searcher->db == NULL)
        return search(searcher->store, filter, collected);
    char error[ACCOUNTING_ERROR_MAX] = "";
    bool more = false;
    ck_assert_msg(accounting_search_run_with(searcher->db, "reader", filter, searcher->index,
                                             collect, collected, &more, error, sizeof error),
                  "%s", error);
    return more;
}

/* Pages through the search with limit, checking each page and `more` against the model. */
static unsigned check_paging(const struct searcher *searcher, struct accounting_filter filter,
                             const struct accounting_connection *stored, unsigned count)
{
    unsigned expected[MODEL_ROWS], matches = 0;
    for (unsigned i = count; i-- > 0;)
        if (model_matches(&filter, &stored[i]))
            expected[matches++] = i;
    unsigned seen = 0;
    for (unsigned pages = 0;; pages++) {
        ck_assert_uint_le(pages, MODEL_ROWS);
        struct collected collected = {.count = 0};
        bool more = search_with(searcher, &filter, &collected);
        unsigned wanted = matches - seen < filter.limit ? matches - seen : filter.limit;
        ck_assert_uint_eq(collected.count, wanted);
        for (unsigned i = 0; i < collected.count; i++)
            assert_same_connection(&collected.rows[i], &stored[expected[seen + i]]);
        seen += collected.count;
        ck_assert_int_eq(more, seen < matches);
        if (!more || filter.limit == 0)
            break;
        filter.before_history_id = collected.rows[collected.count - 1].history_id;
    }
    return matches;
}

static struct accounting_store *model_store(struct accounting_connection *stored)
{
    struct accounting_store *store = open_store(database_path("search.db"));
    add_samples(store, 0, MODEL_ROWS / 2, stored);
    add_samples(store, MODEL_ROWS / 2, MODEL_ROWS / 2, stored + MODEL_ROWS / 2);
    return store;
}

static const char *const model_users[] = {NULL, "", "alice", "Alice", "bob", "nobody"};
static const char *const model_destinations[] = {
    "", "example.com", "example.com:443", "EXAMPLE", "ex%", "exa_", "93.184.216.34",
    "10.0.0.0/8", "2001:db8::/32", "::1", "0.0.0.0/0", "::/0", "10.1.2.3:", "[2001:db8::5]",
    "\xff",
};
static const char *const model_statuses[] = {"", "failed", "0", "3", "8"};
static const int64_t model_windows[][2] = {
    {0, 0}, {1000000 + 100 * 1000, 0}, {0, 1000000 + 60 * 1000}, {1000000 + 30 * 1000,
    1000000 + 170 * 1000}, {1000000 + 900 * 1000, 0},
};

#define FOR_EACH_MODEL_FILTER(filter, limit, ...)                                              \
    for (size_t u = 0; u < sizeof model_users / sizeof model_users[0]; u++)                   \
        for (size_t d = 0; d < sizeof model_destinations / sizeof model_destinations[0]; d++) \
            for (size_t s = 0; s < sizeof model_statuses / sizeof model_statuses[0]; s++)     \
                for (size_t w = 0; w < sizeof model_windows / sizeof model_windows[0]; w++) {  \
                    struct accounting_filter filter;                                           \
                    const char *problem = NULL;                                                \
                    accounting_filter_init(&filter, (limit));                                  \
                    filter.user = model_users[u];                                              \
                    ck_assert(accounting_filter_set_destination(&filter,                       \
                                                                model_destinations[d],         \
                                                                &problem));                    \
                    ck_assert(accounting_filter_set_status(&filter, model_statuses[s],         \
                                                           &problem));                         \
                    filter.since_ms = model_windows[w][0];                                     \
                    filter.until_ms = model_windows[w][1];                                     \
                    __VA_ARGS__                                                                \
                }

START_TEST(every_filter_and_combination_pages_like_the_model)
{
    static struct accounting_connection stored[MODEL_ROWS];
    struct accounting_store *store = model_store(stored);
    /* Every index a filter allows, walked on a second handle as the admin thread's reader
     * would be, must give what the model gives, as must the store's own choice. */
    sqlite3 *reader = NULL;
    ck_assert_int_eq(sqlite3_open_v2(database_path_existing("search.db"), &reader,
                                     SQLITE_OPEN_READONLY, NULL),
                     SQLITE_OK);
    unsigned combinations = 0, matched_some = 0, walks = 0;
    FOR_EACH_MODEL_FILTER(filter, 9, {
        struct searcher chosen = {.store = store};
        unsigned matches = check_paging(&chosen, filter, stored, MODEL_ROWS);
        combinations++;
        matched_some += matches > 0;
        enum accounting_search_index candidates[ACCOUNTING_SEARCH_INDEXES];
        unsigned count = accounting_search_candidates(&filter, candidates);
        ck_assert_int_eq(candidates[count - 1], ACCOUNTING_SEARCH_WALK);
        filter.limit = 40;
        for (unsigned i = 0; i < count; i++) {
            struct searcher walking = {.db = reader, .index = candidates[i]};
            check_paging(&walking, filter, stored, MODEL_ROWS);
            walks++;
        }
    })
    /* Many combinations find something: the model's data reaches every kind of filter. */
    ck_assert_uint_gt(matched_some, combinations / 5);
    ck_assert_uint_gt(walks, combinations * 2);
    sqlite3_close(reader);
    accounting_store_close(store);
}
END_TEST

START_TEST(more_at_the_page_boundary)
{
    static struct accounting_connection stored[MODEL_ROWS];
    struct accounting_store *store = model_store(stored);
    struct accounting_filter filter;
    accounting_filter_init(&filter, 0);
    filter.user = "alice"; /* every fifth row: 48 */
    for (uint32_t limit = 0; limit <= 50; limit++) {
        filter.limit = limit;
        struct collected collected = {.count = 0};
        bool more = search(store, &filter, &collected);
        ck_assert_uint_eq(collected.count, limit < 48 ? limit : 48);
        ck_assert_int_eq(more, limit < 48);
        struct searcher chosen = {.store = store};
        check_paging(&chosen, filter, stored, MODEL_ROWS);
    }
    /* A visitor that stops early: more says whether a matching row follows its last one. */
    filter.limit = 100;
    struct collected collected = {.count = 0, .stop_after = 3};
    ck_assert(search(store, &filter, &collected));
    ck_assert_uint_eq(collected.count, 3);
    collected = (struct collected){.count = 0, .stop_after = 48};
    ck_assert(!search(store, &filter, &collected));
    ck_assert_uint_eq(collected.count, 48);
    /* Past the oldest row: nothing, and nothing more. */
    filter.before_history_id = stored[0].history_id;
    collected = (struct collected){.count = 0};
    ck_assert(!search(store, &filter, &collected));
    ck_assert_uint_eq(collected.count, 0);
    accounting_store_close(store);
}
END_TEST

/* How SQLite runs a query: the EXPLAIN QUERY PLAN lines joined. */
static void query_plan(sqlite3 *db, const char *sql, char *plan, size_t size)
{
    char explain[1200];
    snprintf(explain, sizeof explain, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *statement = NULL;
    ck_assert_msg(sqlite3_prepare_v2(db, explain, -1, &statement, NULL) == SQLITE_OK, "%s: %s",
                  sql, sqlite3_errmsg(db));
    plan[0] = '\0';
    size_t length = 0;
    while (sqlite3_step(statement) == SQLITE_ROW) {
        const char *detail = (const char *)sqlite3_column_text(statement, 3);
        int written = snprintf(plan + length, size - length, "%s | ", detail);
        if (written > 0 && (size_t)written < size - length)
            length += (size_t)written;
    }
    sqlite3_finalize(statement);
}

START_TEST(every_index_is_used_and_sorts_only_rowids)
{
    const char *path = database_path("plans.db");
    accounting_store_close(open_store(path));
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    static const char *const names[] = {
        [ACCOUNTING_SEARCH_BY_USER] = "connections_by_user",
        [ACCOUNTING_SEARCH_FAILED] = "connections_failed",
        [ACCOUNTING_SEARCH_BY_STATUS] = "connections_by_status",
        [ACCOUNTING_SEARCH_BY_ADDRESS] = "connections_by_address",
        [ACCOUNTING_SEARCH_BY_DESTINATION] = "connections_by_destination",
        [ACCOUNTING_SEARCH_BY_STARTED] = "connections_by_started",
    };
    for (int paged = 0; paged < 2; paged++) {
        FOR_EACH_MODEL_FILTER(filter, 100, {
            filter.before_history_id = paged ? 12345 : 0;
            enum accounting_search_index candidates[ACCOUNTING_SEARCH_INDEXES];
            unsigned count = accounting_search_candidates(&filter, candidates);
            enum accounting_search_index chosen;
            ck_assert(accounting_search_choose(db, &filter, &chosen));
            for (unsigned i = 0; i < count; i++) {
                enum accounting_search_index index = candidates[i];
                char sql[1024], plan[2048];
                accounting_search_sql(&filter, index, sql, sizeof sql);
                query_plan(db, sql, plan, sizeof plan);
                /* The page's rows are read by rowid, in order. */
                ck_assert_msg(strstr(plan, "SEARCH connections USING INTEGER PRIMARY KEY "
                                           "(rowid=?)") != NULL,
                              "%s\n%s", sql, plan);
                const char *sort = strstr(plan, "USE TEMP B-TREE FOR ORDER BY");
                ck_assert_msg(sort == NULL || strstr(sort + 8, "TEMP B-TREE") == NULL,
                              "%s\n%s", sql, plan);
                bool unordered = index == ACCOUNTING_SEARCH_BY_ADDRESS ||
                                 index == ACCOUNTING_SEARCH_BY_DESTINATION ||
                                 index == ACCOUNTING_SEARCH_BY_STARTED;
                /* Only an index whose order is not history_id's leaves a sort, of rowids. */
                ck_assert_msg((sort != NULL) == unordered, "%s\n%s", sql, plan);
                if (index == ACCOUNTING_SEARCH_WALK) {
                    ck_assert_msg(strstr(plan, "SCAN connections |") != NULL ||
                                      strstr(plan, "PRIMARY KEY (rowid<?)") != NULL,
                                  "%s\n%s", sql, plan);
                    continue;
                }
                char used[128];
                snprintf(used, sizeof used, "INDEX %s", names[index]);
                ck_assert_msg(strstr(plan, used) != NULL, "%s\n%s", sql, plan);
                /* A whole index is walked only when it holds nothing but the failed rows. */
                ck_assert_msg(strstr(plan, "SCAN connections USING") == NULL ||
                                  index == ACCOUNTING_SEARCH_FAILED,
                              "%s\n%s", sql, plan);
            }
        })
    }
    sqlite3_close(db);
}
END_TEST

/* ---- Retention ---- */

START_TEST(prune_by_rows_then_by_age_oldest_first)
{
    struct accounting_store *store = open_store(database_path("prune.db"));
    static struct accounting_connection stored[100];
    add_samples(store, 0, 100, stored);
    char error[ACCOUNTING_ERROR_MAX] = "";
    unsigned deleted = 99;
    /* Nothing to do. */
    ck_assert(accounting_store_prune(store, 0, 0, 10, &deleted, error));
    ck_assert_uint_eq(deleted, 0);
    ck_assert(accounting_store_prune(store, 0, 100, 10, &deleted, error));
    ck_assert_uint_eq(deleted, 0);
    /* Keep the newest 75, 10 at a time. */
    ck_assert(accounting_store_prune(store, 0, 75, 10, &deleted, error));
    ck_assert_uint_eq(deleted, 10);
    ck_assert(accounting_store_prune(store, 0, 75, 10, &deleted, error));
    ck_assert_uint_eq(deleted, 10);
    ck_assert(accounting_store_prune(store, 0, 75, 10, &deleted, error));
    ck_assert_uint_eq(deleted, 5);
    ck_assert_uint_eq(stored_rows(store), 75);
    struct accounting_filter filter;
    accounting_filter_init(&filter, 1000);
    struct collected collected = {.count = 0};
    search(store, &filter, &collected);
    ck_assert_uint_eq(collected.count, 75);
    ck_assert_uint_eq(collected.rows[74].history_id, stored[25].history_id);

    /* By age: ended before stored[40]'s end (the samples end in order). */
    int64_t bound = stored[40].ended_ms;
    unsigned total = 0;
    do {
        ck_assert(accounting_store_prune(store, bound, 0, 4, &deleted, error));
        total += deleted;
    } while (deleted == 4);
    ck_assert_uint_eq(total, 15);
    collected = (struct collected){.count = 0};
    search(store, &filter, &collected);
    ck_assert_uint_eq(collected.count, 60);
    ck_assert_uint_eq(collected.rows[59].history_id, stored[40].history_id);

    /* Both bounds in one step, inside a batch (counted with it, undone with it). */
    ck_assert(accounting_store_begin(store, error));
    ck_assert(accounting_store_prune(store, stored[50].ended_ms, 55, 100, &deleted, error));
    ck_assert_uint_eq(deleted, 10);
    accounting_store_rollback(store);
    ck_assert_uint_eq(stored_rows(store), 60);
    ck_assert(accounting_store_begin(store, error));
    ck_assert(accounting_store_prune(store, stored[50].ended_ms, 55, 3, &deleted, error));
    ck_assert_uint_eq(deleted, 3);
    ck_assert(accounting_store_prune(store, stored[50].ended_ms, 55, 100, &deleted, error));
    ck_assert_uint_eq(deleted, 7);
    ck_assert(accounting_store_commit(store, error));
    ck_assert_uint_eq(stored_rows(store), 50);
    /* The cached count followed: keeping 50 deletes nothing. */
    ck_assert(accounting_store_prune(store, 0, 50, 100, &deleted, error));
    ck_assert_uint_eq(deleted, 0);
    accounting_store_close(store);
}
END_TEST

START_TEST(ids_are_never_reused)
{
    const char *path = database_path("ids.db");
    struct accounting_store *store = open_store(path);
    struct accounting_connection stored[10];
    add_samples(store, 0, 10, stored);
    char error[ACCOUNTING_ERROR_MAX] = "";
    unsigned deleted = 0;
    ck_assert(accounting_store_prune(store, INT64_MAX, 0, 100, &deleted, error));
    ck_assert_uint_eq(deleted, 10);
    ck_assert_uint_eq(stored_rows(store), 0);
    struct accounting_connection again[1];
    add_samples(store, 0, 1, again);
    ck_assert_uint_gt(again[0].history_id, stored[9].history_id);
    ck_assert(accounting_store_prune(store, 0, 0, 100, &deleted, error));
    ck_assert(accounting_store_prune(store, INT64_MAX, 0, 100, &deleted, error));
    accounting_store_close(store);
    store = open_store(path);
    struct accounting_connection after_reopen[1];
    add_samples(store, 0, 1, after_reopen);
    ck_assert_uint_gt(after_reopen[0].history_id, again[0].history_id);
    accounting_store_close(store);
}
END_TEST

START_TEST(incremental_vacuum_returns_free_pages)
{
    struct accounting_store *store = open_store(database_path("vacuum.db"));
    for (unsigned batch = 0; batch < 10; batch++)
        add_samples(store, batch * 300, 300, NULL);
    char error[ACCOUNTING_ERROR_MAX] = "";
    uint64_t rows, pages, free_pages;
    ck_assert(accounting_store_counts(store, &rows, &pages, &free_pages, error));
    ck_assert_uint_eq(rows, 3000);
    ck_assert_uint_eq(free_pages, 0);
    unsigned deleted;
    do
        ck_assert(accounting_store_prune(store, 0, 100, 500, &deleted, error));
    while (deleted == 500);
    uint64_t pages_pruned, free_pruned;
    ck_assert(accounting_store_counts(store, &rows, &pages_pruned, &free_pruned, error));
    ck_assert_uint_eq(rows, 100);
    ck_assert_uint_gt(free_pruned, 20);
    ck_assert_uint_eq(pages_pruned, pages);
    ck_assert_msg(accounting_store_vacuum_step(store, 10, error), "%s", error);
    uint64_t pages_step, free_step;
    ck_assert(accounting_store_counts(store, &rows, &pages_step, &free_step, error));
    ck_assert_uint_eq(free_step, free_pruned - 10);
    ck_assert_uint_eq(pages_step, pages - 10);
    ck_assert(accounting_store_vacuum_step(store, 1000000, error));
    ck_assert(accounting_store_counts(store, &rows, &pages_step, &free_step, error));
    ck_assert_uint_eq(free_step, 0);
    ck_assert_uint_eq(pages_step, pages - free_pruned);
    ck_assert_uint_eq(rows, 100);
    accounting_store_close(store);
}
END_TEST

/* ---- Usage ---- */

struct loaded_users {
    char names[8][16];
    struct accounting_usage usage[8];
    unsigned count;
};

static void load_user(void *context, const char *user, const struct accounting_usage *usage)
{
    struct loaded_users *loaded = context;
    ck_assert_uint_lt(loaded->count, 8);
    snprintf(loaded->names[loaded->count], sizeof loaded->names[0], "%s", user);
    loaded->usage[loaded->count++] = *usage;
}

static struct accounting_usage some_usage(uint64_t base)
{
    struct accounting_usage usage;
    memset(&usage, 0, sizeof usage);
#define SET_USAGE(name) usage.name = base++;
    ACCOUNTING_USAGE_FIELDS(SET_USAGE)
#undef SET_USAGE
    for (unsigned code = 1; code < ACCOUNTING_STATUS_CODES; code++)
        usage.failures[code] = base++;
    usage.first_seen_ms = 1000;
    usage.last_seen_ms = 2000;
    return usage;
}

static void assert_usage(const struct accounting_usage *a, const struct accounting_usage *b)
{
#define SAME_USAGE(name) ck_assert_uint_eq(a->name, b->name);
    ACCOUNTING_USAGE_FIELDS(SAME_USAGE)
#undef SAME_USAGE
    for (unsigned code = 0; code < ACCOUNTING_STATUS_CODES; code++)
        ck_assert_uint_eq(a->failures[code], b->failures[code]);
    ck_assert_int_eq(a->first_seen_ms, b->first_seen_ms);
    ck_assert_int_eq(a->last_seen_ms, b->last_seen_ms);
}

START_TEST(usage_is_added_and_reset)
{
    struct accounting_store *store = open_store(database_path("usage.db"));
    char error[ACCOUNTING_ERROR_MAX] = "";
    struct accounting_usage alice = some_usage(10), bob = some_usage(100);
    uint64_t global[ADMIN_METRIC_COUNT];
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++)
        global[i] = 7 + i;
    ck_assert(accounting_store_begin(store, error));
    /* Two growths of alice's (two processes, or two batches) add up; first seen keeps the
     * earlier, last seen the later. */
    struct accounting_usage earlier = some_usage(1);
    earlier.first_seen_ms = 500;
    earlier.last_seen_ms = 600;
    ck_assert(accounting_store_add_user_usage(store, "alice", &earlier, error));
    ck_assert(accounting_store_add_user_usage(store, "alice", &alice, error));
#define ADD_EARLIER(name) alice.name += earlier.name;
    ACCOUNTING_USAGE_FIELDS(ADD_EARLIER)
#undef ADD_EARLIER
    for (unsigned code = 1; code < ACCOUNTING_STATUS_CODES; code++)
        alice.failures[code] += earlier.failures[code];
    alice.first_seen_ms = 500;
    ck_assert(accounting_store_add_user_usage(store, "bob", &bob, error));
    ck_assert(accounting_store_add_global_usage(store, global, error));
    ck_assert(accounting_store_commit(store, error));
    struct loaded_users loaded = {.count = 0};
    ck_assert(accounting_store_load_users(store, load_user, &loaded, error));
    ck_assert_uint_eq(loaded.count, 2);
    ck_assert_str_eq(loaded.names[0], "alice");
    assert_usage(&loaded.usage[0], &alice);
    assert_usage(&loaded.usage[1], &bob);

    struct accounting_reset reset;
    ck_assert(accounting_store_last_reset(store, "alice", &reset, error));
    ck_assert_int_eq(reset.at_ms, 0);
    /* One user, in a transaction of its own. */
    ck_assert_msg(accounting_store_reset_usage(store, "alice", "root", 5000, error), "%s", error);
    loaded.count = 0;
    ck_assert(accounting_store_load_users(store, load_user, &loaded, error));
    struct accounting_usage zero;
    memset(&zero, 0, sizeof zero);
    zero.first_seen_ms = 500;
    zero.last_seen_ms = 2000;
    assert_usage(&loaded.usage[0], &zero);
    assert_usage(&loaded.usage[1], &bob);
    ck_assert(accounting_store_last_reset(store, "alice", &reset, error));
    ck_assert_int_eq(reset.at_ms, 5000);
    ck_assert_str_eq(reset.by, "root");
    ck_assert(accounting_store_last_reset(store, "", &reset, error));
    ck_assert_int_eq(reset.at_ms, 0);
    uint64_t values[ADMIN_METRIC_COUNT];
    ck_assert(accounting_store_load_global(store, values, error));
    ck_assert_uint_eq(values[ADMIN_METRIC_INDEX_bytes_up], global[ADMIN_METRIC_INDEX_bytes_up]);

    /* Everything, inside a batch: a rollback undoes it. */
    ck_assert(accounting_store_begin(store, error));
    ck_assert(accounting_store_reset_usage(store, "", "admin2", 6000, error));
    accounting_store_rollback(store);
    ck_assert(accounting_store_last_reset(store, "", &reset, error));
    ck_assert_int_eq(reset.at_ms, 0);
    ck_assert(accounting_store_begin(store, error));
    ck_assert(accounting_store_reset_usage(store, "", "admin2", 6000, error));
    ck_assert(accounting_store_commit(store, error));
    loaded.count = 0;
    ck_assert(accounting_store_load_users(store, load_user, &loaded, error));
    ck_assert_uint_eq(loaded.count, 2);
    zero.first_seen_ms = 1000; /* bob's, kept by the reset */
    assert_usage(&loaded.usage[1], &zero);
    ck_assert(accounting_store_load_global(store, values, error));
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++)
        ck_assert_uint_eq(values[i], 0);
    ck_assert(accounting_store_last_reset(store, "", &reset, error));
    ck_assert_int_eq(reset.at_ms, 6000);
    ck_assert_str_eq(reset.by, "admin2");
    ck_assert(accounting_store_last_reset(store, "alice", &reset, error));
    ck_assert_int_eq(reset.at_ms, 5000);
    accounting_store_close(store);
}
END_TEST

/* ---- A full disk ---- */

START_TEST(a_full_disk_fails_the_batch_and_leaves_the_store_usable)
{
    const char *path = database_path("full.db");
    struct accounting_store *store = open_store(path);
    add_samples(store, 0, 10, NULL);
    char error[ACCOUNTING_ERROR_MAX] = "";
    uint64_t rows, pages, free_pages;
    ck_assert(accounting_store_counts(store, &rows, &pages, &free_pages, error));
    ck_assert_msg(accounting_store_set_max_pages(store, pages, error), "%s", error);

    ck_assert(accounting_store_begin(store, error));
    bool failed = false;
    for (unsigned i = 0; i < 20000 && !failed; i++) {
        struct accounting_connection connection = sample_connection(i);
        failed = !accounting_store_add_connection(store, &connection, error);
    }
    if (!failed)
        failed = !accounting_store_commit(store, error);
    ck_assert(failed);
    ck_assert_msg(strncmp(error, path, strlen(path)) == 0, "%s", error);
    ck_assert_msg(strstr(error, "full") != NULL, "%s", error);
    accounting_store_rollback(store);
    ck_assert_uint_eq(stored_rows(store), 10);
    struct accounting_filter filter;
    accounting_filter_init(&filter, 100);
    struct collected collected = {.count = 0};
    search(store, &filter, &collected);
    ck_assert_uint_eq(collected.count, 10);
    /* Small writes still fit; then the cap goes and big ones do too. */
    add_samples(store, 100, 1, NULL);
    ck_assert(accounting_store_set_max_pages(store, 0, error));
    add_samples(store, 200, 5000, NULL);
    ck_assert_uint_eq(stored_rows(store), 5011);
    accounting_store_close(store);
    sqlite3 *db = NULL;
    ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *check = NULL;
    ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &check, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_step(check), SQLITE_ROW);
    ck_assert_str_eq((const char *)sqlite3_column_text(check, 0), "ok");
    sqlite3_finalize(check);
    sqlite3_close(db);
}
END_TEST

int main(void)
{
    make_directory();
    Suite *suite = suite_create("accounting_store");
    TCase *files = tcase_create("files");
    tcase_add_test(files, created_with_schema_wal_and_incremental_vacuum);
    tcase_add_test(files, reopening_keeps_everything);
    tcase_add_test(files, an_empty_file_is_migrated);
    tcase_add_test(files, a_newer_schema_is_refused_and_left_alone);
    tcase_add_test(files, a_foreign_database_is_refused);
    tcase_add_test(files, garbage_is_refused_with_the_path);
    tcase_add_test(files, batches_commit_and_roll_back);
    tcase_add_test(files, a_full_disk_fails_the_batch_and_leaves_the_store_usable);
    suite_add_tcase(suite, files);
    TCase *searches = tcase_create("search");
    tcase_set_timeout(searches, 60);
    tcase_add_test(searches, every_filter_and_combination_pages_like_the_model);
    tcase_add_test(searches, more_at_the_page_boundary);
    tcase_add_test(searches, every_index_is_used_and_sorts_only_rowids);
    suite_add_tcase(suite, searches);
    TCase *retention = tcase_create("retention and usage");
    tcase_add_test(retention, prune_by_rows_then_by_age_oldest_first);
    tcase_add_test(retention, ids_are_never_reused);
    tcase_add_test(retention, incremental_vacuum_returns_free_pages);
    tcase_add_test(retention, usage_is_added_and_reset);
    suite_add_tcase(suite, retention);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    remove_directory();
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
