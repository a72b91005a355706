/* user_columns: the server's users table as the dashboard lists it, one row per column — its
 * name, what its values are, heading, width — plus the rates the console measures per user. */
#include "user_columns.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "admin_commands.h"
#include "admin_text.h"
#include "compact_units.h"
#include "dashboard_model.h"

static column_text_fn name_text;
static column_text_fn limit_text;
static column_text_fn lifetime_text;

#define AT(member) offsetof(struct dashboard_user, member)

/* In the order the list shows them; the value of each is in struct dashboard_user at offset. */
const struct table_column user_columns[] = {
    { .key = ADMIN_COLUMN_USER, .type = COLUMN_TEXT, .title = "USER", .width = 8,
      .place = COLUMN_STRETCH, .widest = 32, .text = name_text },
    { .key = ADMIN_COLUMN_ROLE, .type = COLUMN_TEXT, .title = "ROLE", .width = 5,
      .offset = AT(usage.role) },
    { .key = ADMIN_COLUMN_CONNECTIONS_LIVE, .type = COLUMN_NUMBER, .title = "LIVE", .width = 6,
      .place = COLUMN_RIGHT, .offset = AT(usage.connections_live) },
    { .key = ADMIN_COLUMN_CONNECTIONS_TOTAL, .type = COLUMN_NUMBER, .title = "TOTAL", .width = 7,
      .place = COLUMN_RIGHT, .view = COLUMN_VIEW_SINCE_START,
      .offset = AT(usage.connections_total) },
    { .key = ADMIN_COLUMN_BYTES_UP, .type = COLUMN_BYTES, .title = "UP", .width = 7,
      .place = COLUMN_RIGHT, .view = COLUMN_VIEW_SINCE_START, .offset = AT(usage.bytes_up) },
    { .key = ADMIN_COLUMN_BYTES_DOWN, .type = COLUMN_BYTES, .title = "DOWN", .width = 7,
      .place = COLUMN_RIGHT, .view = COLUMN_VIEW_SINCE_START, .offset = AT(usage.bytes_down) },
    /* The same figures over every run of the server ("-" without an accounting database). */
    { .key = ADMIN_COLUMN_LIFETIME_CONNECTIONS_TOTAL, .type = COLUMN_NUMBER, .title = "LIFE#",
      .width = 7, .place = COLUMN_RIGHT, .view = COLUMN_VIEW_LIFETIME,
      .offset = AT(usage.lifetime_connections_total), .text = lifetime_text },
    { .key = ADMIN_COLUMN_LIFETIME_BYTES_UP, .type = COLUMN_BYTES, .title = "LIFE UP",
      .width = 7, .place = COLUMN_RIGHT, .view = COLUMN_VIEW_LIFETIME,
      .offset = AT(usage.lifetime_bytes_up), .text = lifetime_text },
    { .key = ADMIN_COLUMN_LIFETIME_BYTES_DOWN, .type = COLUMN_BYTES, .title = "LIFE DN",
      .width = 7, .place = COLUMN_RIGHT, .view = COLUMN_VIEW_LIFETIME,
      .offset = AT(usage.lifetime_bytes_down), .text = lifetime_text },
    { .type = COLUMN_RATE, .title = "UP/s", .width = 7, .place = COLUMN_RIGHT,
      .offset = AT(rate_up) },
    { .type = COLUMN_RATE, .title = "DOWN/s", .width = 7, .place = COLUMN_RIGHT,
      .offset = AT(rate_down) },
    { .type = COLUMN_TEXT, .title = "LIMIT", .width = 5, .text = limit_text },
};
const size_t user_column_count = sizeof(user_columns) / sizeof(user_columns[0]);

/* The name escaped: it is kept unescaped, to be sent back in requests. */
static void name_text(const void *row, const struct table_column *column, char *out, size_t size)
{
    (void)column;
    const struct dashboard_user *user = row;
    admin_text_escape(user->usage.name, strlen(user->usage.name), out, size);
}

/* A measured rate this close to its limit means the limit holds the user back. */
#define AT_RATE_LIMIT 0.9

static bool at_rate_limit(const struct rate *rate, uint64_t limit)
{
    return limit > 0 && rate_known(rate) && rate_per_second(rate) >= AT_RATE_LIMIT * (double)limit;
}

/* "-" for a user without limits, "set" for one with some, "FULL" for one at a limit now: all
 * its connection slots taken, or a direction running at its rate. */
static void limit_text(const void *row, const struct table_column *column, char *out, size_t size)
{
    (void)column;
    const struct dashboard_user *user = row;
    const struct dashboard_usage *usage = &user->usage;
    bool full = (usage->max_connections > 0 &&
                 usage->connections_live >= usage->max_connections) ||
                at_rate_limit(&user->rate_up, usage->upload_limit) ||
                at_rate_limit(&user->rate_down, usage->download_limit);
    bool limited = usage->max_connections > 0 || usage->upload_limit > 0 ||
                   usage->download_limit > 0;
    snprintf(out, size, "%s", full ? "FULL" : limited ? "set" : ADMIN_TEXT_NONE);
}

/* A lifetime figure, or "-" when the server has none for the user. */
static void lifetime_text(const void *row, const struct table_column *column, char *out,
                          size_t size)
{
    const struct dashboard_user *user = row;
    if (!user->usage.lifetime_known) {
        snprintf(out, size, "%s", ADMIN_TEXT_NONE);
        return;
    }
    struct table_column by_type = *column;
    by_type.text = NULL;
    user_column_text(user, &by_type, out, size);
}

void user_column_text(const struct dashboard_user *user, const struct table_column *column,
                      char *out, size_t size)
{
    if (column->text != NULL) {
        column->text(user, column, out, size);
        return;
    }
    const char *value = (const char *)user + column->offset;
    uint64_t number;
    switch (column->type) {
    case COLUMN_TEXT:
    case COLUMN_TIME:
        snprintf(out, size, "%s", value);
        return;
    case COLUMN_NUMBER:
        memcpy(&number, value, sizeof(number));
        snprintf(out, size, "%" PRIu64, number);
        return;
    case COLUMN_BYTES:
        memcpy(&number, value, sizeof(number));
        compact_bytes(number, out, size);
        return;
    case COLUMN_DURATION_MS:
        memcpy(&number, value, sizeof(number));
        compact_duration_ms(number, out, size);
        return;
    case COLUMN_RATE: {
        const struct rate *rate = (const struct rate *)value;
        if (rate_known(rate))
            compact_rate(rate_per_second(rate), out, size);
        else
            snprintf(out, size, "%s", ADMIN_TEXT_NONE);
        return;
    }
    }
}
