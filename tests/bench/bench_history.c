/* bench_history: the history scenario — a connection history of N rows built through the
 * accounting store in a temp directory, then each kind of search timed: first and tenth page. */
#include "bench_history.h"

#include "accounting_store.h"
#include "bench_context.h"
#include "bench_options.h"
#include "bench_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ROWS_PER_BATCH 50000
#define USERS 1000
#define DESTINATIONS 10000
#define DAYS 90
#define DAY_MS (24 * 3600 * INT64_C(1000))
#define RUNS 20
#define PAGE_ROWS 100
#define TIMED_PAGE 10

static uint64_t random_state = 0x9E3779B97F4A7C15u;

static uint64_t next_random(void)
{
    random_state ^= random_state << 13;
    random_state ^= random_state >> 7;
    random_state ^= random_state << 17;
    return random_state;
}

static double now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec * 1e3 + (double)now.tv_nsec / 1e6;
}

/* A few users make most connections, as on a real server: the square of a uniform draw. */
static unsigned skewed(unsigned count)
{
    double uniform = (double)(next_random() % 1000000) / 1e6;
    return (unsigned)(uniform * uniform * count);
}

static void destination_address(unsigned destination, char *out, size_t size)
{
    if (destination % 5 == 4)
        snprintf(out, size, "[2001:db8:%x::%x]:443", destination % 97, destination);
    else
        snprintf(out, size, "10.%u.%u.%u:443", destination % 64, (destination / 64) % 256,
                 destination % 251 + 1);
}

/* Row i of rows, started at a time that grows with i over DAYS days before base_ms. */
static void make_connection(uint64_t i, uint64_t rows, int64_t base_ms,
                            struct accounting_connection *connection)
{
    memset(connection, 0, sizeof *connection);
    connection->server_id = i + 1;
    connection->started_ms = base_ms - DAYS * DAY_MS + (int64_t)((double)i / (double)rows *
                                                                 (double)(DAYS * DAY_MS));
    connection->ended_ms = connection->started_ms + (int64_t)(next_random() % 60000);
    connection->kind = next_random() % 50 == 0 ? CONNECTION_KIND_UDP : CONNECTION_KIND_CONNECT;
    unsigned user = skewed(USERS);
    connection->authenticated = next_random() % 100 >= 3;
    if (connection->authenticated)
        snprintf(connection->user, sizeof connection->user, "user%04u", user);
    snprintf(connection->client, sizeof connection->client, "192.0.2.%u:%u", user % 250 + 1,
             (unsigned)(10000 + next_random() % 50000));
    unsigned destination = skewed(DESTINATIONS);
    if (destination % 10 == 3) /* clients that send an address rather than a name */
        destination_address(destination, connection->destination,
                            sizeof connection->destination);
    else
        snprintf(connection->destination, sizeof connection->destination,
                 "host%05u.example%02u.com:443", destination, destination % 37);
    bool failed = next_random() % 100 < 5;
    connection->status = failed ? (uint8_t)(1 + next_random() % 8) : 0;
    connection->replied = true;
    if (failed)
        snprintf(connection->destination_address, sizeof connection->destination_address, "-");
    else
        destination_address(destination, connection->destination_address,
                            sizeof connection->destination_address);
    connection->bytes_up = next_random() % 100000;
    connection->bytes_down = next_random() % 10000000;
}

static bool build(struct accounting_store *store, uint64_t rows, int64_t base_ms,
                  char error[ACCOUNTING_ERROR_MAX])
{
    struct accounting_connection connection;
    for (uint64_t i = 0; i < rows;) {
        if (!accounting_store_begin(store, error))
            return false;
        for (unsigned n = 0; n < ROWS_PER_BATCH && i < rows; n++, i++) {
            make_connection(i, rows, base_ms, &connection);
            if (!accounting_store_add_connection(store, &connection, error)) {
                accounting_store_rollback(store);
                return false;
            }
        }
        if (!accounting_store_commit(store, error)) {
            accounting_store_rollback(store);
            return false;
        }
    }
    return true;
}

struct page {
    unsigned rows;
    uint64_t last_id;
};

static bool count_row(void *context, const struct accounting_connection *connection)
{
    struct page *page = context;
    page->rows++;
    page->last_id = connection->history_id;
    return true;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Times one page of filter RUNS times: the median and the slowest, in ms. */
static bool time_page(struct accounting_store *store, const struct accounting_filter *filter,
                      double *p50, double *max, struct page *page,
                      char error[ACCOUNTING_ERROR_MAX])
{
    double times[RUNS];
    for (unsigned run = 0; run < RUNS; run++) {
        bool more;
        *page = (struct page){0};
        double start = now_ms();
        if (!accounting_store_search(store, filter, count_row, page, &more, error))
            return false;
        times[run] = now_ms() - start;
    }
    qsort(times, RUNS, sizeof times[0], compare_doubles);
    *p50 = (times[RUNS / 2 - 1] + times[RUNS / 2]) / 2;
    *max = times[RUNS - 1];
    return true;
}

struct search_kind {
    const char *key;
    const char *title;
    const char *user;
    const char *destination;
    const char *status;
    int64_t since_days_ago; /* 0 = no bound */
    int64_t until_days_ago;
};

static const struct search_kind kinds[] = {
    {"none", "no filter (newest first)", NULL, "", "", 0, 0},
    {"user", "user", "user0100", "", "", 0, 0},
    {"destination", "destination prefix host001", NULL, "host001", "", 0, 0},
    {"cidr", "CIDR 10.5.0.0/16", NULL, "10.5.0.0/16", "", 0, 0},
    {"cidr6", "CIDR 2001:db8:5::/48", NULL, "2001:db8:5::/48", "", 0, 0},
    {"window", "started 31 to 30 days ago", NULL, "", "", 31, 30},
    {"since", "started in the last 24 hours", NULL, "", "", 1, 0},
    {"failed", "status failed", NULL, "", "failed", 0, 0},
    {"status", "status 5", NULL, "", "5", 0, 0},
    {"user_since", "user0100, last 7 days", "user0100", "", "", 7, 0},
    {"combined", "host0 prefix, failed, 60 to 1 days ago", NULL, "host0", "failed", 60, 1},
    /* Broad terms: what an index narrows least, and a window far from the newest rows. */
    {"broad_prefix", "destination prefix host (most rows)", NULL, "host", "", 0, 0},
    {"wide_window", "started 90 to 30 days ago", NULL, "", "", 90, 30},
    {"heavy_user_status", "busiest user, status 5", "user0000", "", "5", 0, 0},
};

static bool run_kind(const struct bench_context *context, struct accounting_store *store,
                     const struct search_kind *kind, int64_t base_ms,
                     char error[ACCOUNTING_ERROR_MAX])
{
    struct accounting_filter filter;
    const char *problem = "";
    accounting_filter_init(&filter, PAGE_ROWS);
    filter.user = kind->user;
    if (!accounting_filter_set_destination(&filter, kind->destination, &problem) ||
        !accounting_filter_set_status(&filter, kind->status, &problem)) {
        snprintf(error, ACCOUNTING_ERROR_MAX, "%s: %s", kind->key, problem);
        return false;
    }
    if (kind->since_days_ago != 0)
        filter.since_ms = base_ms - kind->since_days_ago * DAY_MS;
    if (kind->until_days_ago != 0)
        filter.until_ms = base_ms - kind->until_days_ago * DAY_MS;
    char key[64];
    snprintf(key, sizeof key, "history.%s", kind->key);
    report_section(context->report, key, kind->title);
    context_progress(context, "history: %s", kind->title);

    double p50, max;
    struct page page;
    if (!time_page(store, &filter, &p50, &max, &page, error))
        return false;
    report_value(context->report, "page 1: rows", "page1_rows", page.rows, 0);
    report_value(context->report, "page 1: p50 ms", "page1_p50_ms", p50, 2);
    report_value(context->report, "page 1: max ms", "page1_max_ms", max, 2);
    /* Walk to the tenth page as a client would, with before = the last row's id. */
    unsigned pages = 1;
    while (pages < TIMED_PAGE && page.rows == PAGE_ROWS) {
        filter.before_history_id = page.last_id;
        bool more;
        page = (struct page){0};
        if (!accounting_store_search(store, &filter, count_row, &page, &more, error))
            return false;
        pages++;
    }
    if (pages < TIMED_PAGE || page.rows == 0) {
        report_value(context->report, "pages (fewer than 10)", "pages", pages, 0);
        return true;
    }
    if (!time_page(store, &filter, &p50, &max, &page, error))
        return false;
    report_value(context->report, "page 10: rows", "page10_rows", page.rows, 0);
    report_value(context->report, "page 10: p50 ms", "page10_p50_ms", p50, 2);
    report_value(context->report, "page 10: max ms", "page10_max_ms", max, 2);
    return true;
}

static double file_mib(const char *path)
{
    struct stat status;
    return stat(path, &status) == 0 ? (double)status.st_size / (1024.0 * 1024.0) : 0;
}

static void remove_database(const char *directory, const char *path)
{
    char side[600];
    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    rmdir(directory);
}

int history_run(const struct bench_context *context)
{
    const char *base = getenv("TMPDIR");
    char directory[256], path[512], error[ACCOUNTING_ERROR_MAX] = "";
    snprintf(directory, sizeof directory, "%s/socks5-bench-history.XXXXXX",
             base != NULL && base[0] != '\0' ? base : "/tmp");
    report_section(context->report, "history", "history (accounting database searches)");
    if (mkdtemp(directory) == NULL) {
        report_failure(context->report, "cannot make a temporary directory");
        return -1;
    }
    snprintf(path, sizeof path, "%s/accounting.db", directory);
    struct accounting_store *store = accounting_store_open(path, error);
    uint64_t rows = context->options->history_rows;
    struct timespec wall;
    clock_gettime(CLOCK_REALTIME, &wall);
    int64_t base_ms = (int64_t)wall.tv_sec * 1000;
    bool ok = store != NULL;
    if (ok) {
        context_progress(context, "history: storing %llu rows", (unsigned long long)rows);
        double start = now_ms();
        ok = build(store, rows, base_ms, error);
        double seconds = (now_ms() - start) / 1000;
        report_value(context->report, "rows", "rows", (double)rows, 0);
        report_value(context->report, "build rows/s", "build_rows_per_s",
                     seconds > 0 ? (double)rows / seconds : 0, 0);
    }
    for (size_t i = 0; ok && i < sizeof kinds / sizeof kinds[0]; i++)
        ok = run_kind(context, store, &kinds[i], base_ms, error);
    accounting_store_close(store);
    if (ok) {
        char wal[600];
        snprintf(wal, sizeof wal, "%s-wal", path);
        report_section(context->report, "history.file", "database file");
        report_value(context->report, "size MiB", "db_mib", file_mib(path), 1);
        report_value(context->report, "WAL MiB (after close)", "wal_mib", file_mib(wal), 1);
        report_value(context->report, "bytes per row", "bytes_per_row",
                     rows > 0 ? file_mib(path) * 1024 * 1024 / (double)rows : 0, 0);
    } else {
        report_failure(context->report, error);
    }
    remove_database(directory, path);
    return ok ? 0 : -1;
}
