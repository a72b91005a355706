/* connection_query: socks5ctl's connections command — its words to a request for the server's
 * live and recent connections, or for the accounting database's history, paged with before. */
#ifndef CONNECTION_QUERY_H
#define CONNECTION_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "admin_commands.h"
#include "command_context.h"

/* What connections' words ask for. */
struct connection_query {
    struct admin_request request; /* CONNECTIONS, or HISTORY for the first page */
    bool history;                 /* any of --history --destination --since --until --status */
    bool limit_given;
    uint64_t wanted;              /* history: rows at most (--limit); 0 = every matching one */
};

/* connections [USER] [--live|--recent|--all] [--limit N] [--offset N] [--history]
 *             [--destination P] [--since T] [--until T] [--status S]
 * Reads the words (argv[0] is the command's name) without I/O; times relative to now_ms.
 * CONSOLE_EXIT_OK, or CONSOLE_EXIT_USAGE with error set. */
int connection_query_parse(int argc, char **argv, int64_t now_ms,
                           struct connection_query *query, char *error, size_t error_size);

/* The words the connections command takes after USER, for completion; NULL-terminated. */
extern const char *const connection_query_options[];

/* The console table's handlers of connections (commands.h). */
int connection_query_check(int argc, char **argv, char *error, size_t error_size);
int connection_query_run(struct console_context *context, int argc, char **argv);

/* Rows of history (a body's table part, after its header) gathered over pages. */
struct history_pages {
    char *header;       /* the first page's header line, with its LF */
    size_t header_length;
    char *rows;         /* the rows of every page, each with its LF */
    size_t rows_length;
    size_t rows_capacity;
    uint64_t row_count;
    uint64_t last_history_id; /* of the last (oldest) row; the next page's before */
    bool more;                /* the last page said older rows remain */
};

/* Adds one history reply body; false when it is not a history table or memory ran out. */
bool history_pages_add(struct history_pages *pages, const char *body, size_t length);
/* "more: yes|no", an empty line, the header and every row: one body for output_result. */
char *history_pages_body(const struct history_pages *pages, size_t *length);
void history_pages_free(struct history_pages *pages);

#endif
