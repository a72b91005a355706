/* connection_query: socks5ctl's connections command — its words to a request for the server's
 * live and recent connections, or for the accounting database's history, paged with before. */
#include "connection_query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin_text.h"
#include "commands.h"
#include "fleet_commands.h"
#include "output.h"
#include "time_argument.h"

#define ERROR_SIZE 512

const char *const connection_query_options[] = {
    "--live", "--recent", "--all", "--limit", "--offset", "--history", "--destination",
    "--since", "--until", "--status", NULL,
};

static int usage(char *error, size_t error_size, const char *problem)
{
    snprintf(error, error_size, "%s", problem);
    return CONSOLE_EXIT_USAGE;
}

/* "--limit N" or "--limit=N": the value's word, advancing *index past it; NULL when word is
 * not this option. *missing is set when the option has no value. */
static const char *option_value(const char *option, int argc, char **argv, int *index,
                                bool *missing)
{
    const char *word = argv[*index];
    size_t length = strlen(option);
    if (strncmp(word, option, length) != 0)
        return NULL;
    if (word[length] == '=')
        return word + length + 1;
    if (word[length] != '\0')
        return NULL;
    if (*index + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*index];
}

static bool parse_number(const char *word, uint64_t maximum, uint64_t *value)
{
    struct admin_span span = {word, strlen(word)};
    return admin_span_to_u64(span, value) && *value <= maximum;
}

/* What the words set, before it is known which command they ask for. */
struct words {
    struct admin_str8 user;
    uint8_t which;
    bool which_given, offset_given, limit_given, history;
    uint64_t offset, limit, since, until;
    struct admin_str8 destination, status;
};

/* One option with a value at argv[*i]; NULL when handled, else the problem (in problem). */
static const char *value_option(int argc, char **argv, int *i, int64_t now_ms,
                                struct words *words, char *problem, size_t size)
{
    static const char *const names[] = {"--limit", "--offset", "--destination", "--status",
                                        "--since", "--until"};
    const char *word = argv[*i];
    for (size_t n = 0; n < sizeof(names) / sizeof(names[0]); n++) {
        bool missing = false;
        const char *value = option_value(names[n], argc, argv, i, &missing);
        if (missing) {
            snprintf(problem, size, "%s needs a value", names[n]);
            return problem;
        }
        if (value == NULL)
            continue;
        const char *bad = NULL;
        int64_t time_ms = 0;
        switch (n) {
        case 0:
        case 1:
            if (!parse_number(value, UINT32_MAX, n == 0 ? &words->limit : &words->offset))
                bad = "takes a whole number";
            *(n == 0 ? &words->limit_given : &words->offset_given) = true;
            break;
        case 2:
        case 3:
            if (!admin_str8_set(n == 2 ? &words->destination : &words->status, value))
                bad = "is at most 255 bytes";
            else if (n == 3 && !admin_history_status_valid(value))
                bad = "is failed or a reply code 0..255";
            words->history = true;
            break;
        default:
            if (!time_argument_parse(value, strlen(value), now_ms, &time_ms, &bad))
                break;
            /* 0 on the wire is "no bound": an --until of the epoch itself would match all. */
            if (n == 5 && time_ms == 0) {
                bad = "must be later than 1970-01-01 00:00 UTC";
                break;
            }
            *(n == 4 ? &words->since : &words->until) = (uint64_t)time_ms;
            words->history = true;
            break;
        }
        if (bad != NULL) {
            snprintf(problem, size, "%s %s", names[n], bad);
            return problem;
        }
        return NULL;
    }
    snprintf(problem, size, "unknown option %s", word);
    return problem;
}

static int read_words(int argc, char **argv, int64_t now_ms, struct words *words, char *error,
                      size_t error_size)
{
    bool have_user = false, options_done = false;
    char problem[ERROR_SIZE];
    for (int i = 1; i < argc; i++) {
        const char *word = argv[i];
        if (options_done || word[0] != '-' || word[1] != '-') {
            if (have_user)
                return usage(error, error_size, "too many arguments");
            if (!admin_str8_set(&words->user, word))
                return usage(error, error_size, "user names are at most 255 bytes");
            have_user = true;
        } else if (strcmp(word, "--") == 0) {
            options_done = true;
        } else if (strcmp(word, "--live") == 0 || strcmp(word, "--recent") == 0 ||
                   strcmp(word, "--all") == 0 || strcmp(word, "--both") == 0) {
            words->which = word[2] == 'l' ? ADMIN_CONNECTIONS_LIVE
                           : word[2] == 'r' ? ADMIN_CONNECTIONS_RECENT
                                            : ADMIN_CONNECTIONS_BOTH;
            words->which_given = true;
        } else if (strcmp(word, "--history") == 0) {
            words->history = true;
        } else if (value_option(argc, argv, &i, now_ms, words, problem, sizeof(problem)) !=
                   NULL) {
            return usage(error, error_size, problem);
        }
    }
    return CONSOLE_EXIT_OK;
}

int connection_query_parse(int argc, char **argv, int64_t now_ms,
                           struct connection_query *query, char *error, size_t error_size)
{
    struct words words = {.which = ADMIN_CONNECTIONS_BOTH};
    memset(query, 0, sizeof(*query));
    int code = read_words(argc, argv, now_ms, &words, error, error_size);
    if (code != CONSOLE_EXIT_OK)
        return code;
    struct admin_request *request = &query->request;
    query->history = words.history;
    query->limit_given = words.limit_given;
    if (!words.history) {
        admin_request_init(request, ADMIN_CMD_CONNECTIONS);
        request->args.connections.user = words.user;
        request->args.connections.which = words.which;
        request->args.connections.offset = (uint32_t)words.offset;
        request->args.connections.limit = (uint32_t)words.limit;
    } else {
        if (words.which_given || words.offset_given)
            return usage(error, error_size,
                         "the history holds finished connections and pages by itself: "
                         "--live, --recent, --all and --offset do not apply to it");
        if (words.since != 0 && words.until != 0 && words.until <= words.since)
            return usage(error, error_size, "--until must be later than --since");
        admin_request_init(request, ADMIN_CMD_HISTORY);
        struct admin_args_history *args = &request->args.history;
        args->user = words.user;
        args->destination = words.destination;
        args->status = words.status;
        args->since = words.since;
        args->until = words.until;
        query->wanted = words.limit;
        args->limit = (uint32_t)(words.limit > 0 && words.limit < ADMIN_HISTORY_LIMIT_MAX
                                     ? words.limit
                                     : ADMIN_HISTORY_LIMIT_MAX);
    }
    const char *problem = NULL;
    if (admin_request_validate(request, &problem) != ADMIN_STATUS_OK)
        return usage(error, error_size, problem);
    return CONSOLE_EXIT_OK;
}

static int64_t now_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

int connection_query_check(int argc, char **argv, char *error, size_t error_size)
{
    struct connection_query query;
    return connection_query_parse(argc, argv, now_ms(), &query, error, error_size);
}

/* ---- History pages ---- */

static bool append(char **buffer, size_t *length, size_t *capacity, const char *data,
                   size_t size)
{
    if (*length + size + 1 > *capacity) {
        size_t wanted = *capacity > 0 ? *capacity : 4096;
        while (wanted < *length + size + 1)
            wanted *= 2;
        char *grown = realloc(*buffer, wanted);
        if (grown == NULL)
            return false;
        *buffer = grown;
        *capacity = wanted;
    }
    memcpy(*buffer + *length, data, size);
    *length += size;
    (*buffer)[*length] = '\0';
    return true;
}

bool history_pages_add(struct history_pages *pages, const char *body, size_t length)
{
    struct admin_table table;
    if (!admin_table_open(&table, body, length))
        return false;
    long id_column = admin_table_column(&table, ADMIN_COLUMN_HISTORY_ID);
    if (id_column < 0)
        return false;
    struct admin_span more = {"no", 2};
    admin_record_find(body, length, ADMIN_KEY_MORE, &more);
    if (!admin_span_to_bool(more, &pages->more))
        return false;
    if (pages->header == NULL) {
        pages->header = malloc(table.header.length + 2);
        if (pages->header == NULL)
            return false;
        memcpy(pages->header, table.header.data, table.header.length);
        pages->header[table.header.length] = '\n';
        pages->header[table.header.length + 1] = '\0';
        pages->header_length = table.header.length + 1;
    }
    struct admin_row row;
    while (admin_table_next_row(&table, &row)) {
        struct admin_span id;
        uint64_t value;
        if (!admin_row_field(&row, (size_t)id_column, &id) || !admin_span_to_u64(id, &value))
            return false;
        if (!append(&pages->rows, &pages->rows_length, &pages->rows_capacity, row.line.data,
                    row.line.length) ||
            !append(&pages->rows, &pages->rows_length, &pages->rows_capacity, "\n", 1))
            return false;
        pages->last_history_id = value;
        pages->row_count++;
    }
    return true;
}

char *history_pages_body(const struct history_pages *pages, size_t *length)
{
    char *body = NULL;
    size_t capacity = 0;
    *length = 0;
    const char *more = pages->more ? ADMIN_KEY_MORE ": " ADMIN_TEXT_YES "\n\n"
                                   : ADMIN_KEY_MORE ": " ADMIN_TEXT_NO "\n\n";
    if (!append(&body, length, &capacity, more, strlen(more)) ||
        !append(&body, length, &capacity, pages->header != NULL ? pages->header : "",
                pages->header_length) ||
        !append(&body, length, &capacity, pages->rows != NULL ? pages->rows : "",
                pages->rows_length)) {
        free(body);
        return NULL;
    }
    return body;
}

void history_pages_free(struct history_pages *pages)
{
    free(pages->header);
    free(pages->rows);
    memset(pages, 0, sizeof(*pages));
}

/* Asks page after page (each older than the last) until wanted rows or the end; the table
 * format without --limit shows one page, as a screenful is what it is read for. */
static int run_history(struct console_context *context, const char *name,
                       struct connection_query *query)
{
    uint64_t wanted = query->wanted;
    if (!query->limit_given && context->format == CONSOLE_FORMAT_TABLE)
        wanted = ADMIN_HISTORY_LIMIT_DEFAULT;
    struct admin_args_history *args = &query->request.args.history;
    struct history_pages pages = {0};
    int code = CONSOLE_EXIT_OK;
    do {
        if (wanted > 0)
            args->limit = (uint32_t)(wanted - pages.row_count < ADMIN_HISTORY_LIMIT_MAX
                                         ? wanted - pages.row_count
                                         : ADMIN_HISTORY_LIMIT_MAX);
        struct admin_reply reply;
        code = commands_call(context, name, &query->request, &reply);
        if (code != CONSOLE_EXIT_OK)
            break;
        uint64_t before = pages.row_count;
        bool read = history_pages_add(&pages, reply.body, reply.body_length);
        admin_reply_free(&reply);
        if (!read) {
            fprintf(context->err, "%s: the server's history table is malformed\n", name);
            code = CONSOLE_EXIT_SERVER_ERROR;
            break;
        }
        if (pages.row_count == before || fleet_commands_active(context))
            break; /* "more" without rows would never end; several servers: one page each */
        args->before = pages.last_history_id;
    } while (pages.more && (wanted == 0 || pages.row_count < wanted));
    /* Several servers: one page of at most the limit each; say when a server has more. */
    if (code == CONSOLE_EXIT_OK && fleet_commands_active(context) && pages.more)
        fprintf(context->err, "%s: some servers have older rows than these (at most %llu per "
                "server): narrow with --since, --until, --destination or --status\n", name,
                (unsigned long long)(args->limit != 0 ? args->limit
                                                      : ADMIN_HISTORY_LIMIT_DEFAULT));
    if (code == CONSOLE_EXIT_OK) {
        size_t length;
        char *body = history_pages_body(&pages, &length);
        if (body == NULL) {
            fprintf(context->err, "%s: out of memory\n", name);
            code = CONSOLE_EXIT_SERVER_ERROR;
        } else {
            output_result(context->out, context->format, name, body, length);
            fflush(context->out);
            free(body);
        }
    }
    history_pages_free(&pages);
    return code;
}

int connection_query_run(struct console_context *context, int argc, char **argv)
{
    struct connection_query query;
    char error[ERROR_SIZE];
    if (connection_query_parse(argc, argv, now_ms(), &query, error, sizeof(error)) !=
        CONSOLE_EXIT_OK) {
        fprintf(context->err, "%s: %s\n", argv[0], error);
        return CONSOLE_EXIT_USAGE;
    }
    if (query.history)
        return run_history(context, argv[0], &query);
    struct admin_reply reply;
    int code = commands_call(context, argv[0], &query.request, &reply);
    if (code != CONSOLE_EXIT_OK)
        return code;
    output_result(context->out, context->format, argv[0], reply.body, reply.body_length);
    fflush(context->out);
    admin_reply_free(&reply);
    return CONSOLE_EXIT_OK;
}
