/* fleet_merge: one body out of every server's answer to the same command, with no I/O — tables
 * gain a `server` column, records become a row per server plus a total, changes a row each. */
#ifndef FLEET_MERGE_H
#define FLEET_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "admin_commands.h"
#include "admin_text.h"

#define FLEET_MERGE_SERVER "server" /* the first column: which server a row is from */
#define FLEET_MERGE_TOTAL "total"   /* the server cell of the records' sum row */
#define FLEET_MERGE_RESULT "result" /* a change's: "ok" or "error" */
#define FLEET_MERGE_ERROR "error"   /* a change's reason; "-" when it succeeded */
/* The server-info record's own `server` key (implementation and version), renamed so that
 * the merged table's columns stay unique. */
#define FLEET_MERGE_SERVER_VERSION "server_version"

/* One server's answer. */
struct fleet_answer {
    const char *server; /* its name, as the server column shows it (escaped when written) */
    bool ok;            /* it answered STATUS OK */
    const char *body;   /* ok: the body (record or table, PROTOCOL.md section 8) */
    size_t length;
    const char *error;  /* not ok: why, one line, as safe to print as a server's message */
};

/* Writes into out (admin_text_init'ed by the caller) the merged body of a command whose
 * result the protocol's table calls kind:
 * ADMIN_BODY_EMPTY (a change): a table `server result error`, one row per answer in order.
 * ADMIN_BODY_RECORD: a table `server` + every key any server sent (in order of first
 *   appearance; `-` where a server lacks one), one row per ok answer, then a row `total` with
 *   the sum of every summable key (fleet_merge_summable; `-` for the others, or when no server
 *   gave a number) — when some key is summable.
 * ADMIN_BODY_TABLE: a record part (summable keys summed; others the servers' common value, for
 *   yes/no "yes" when any says yes, else `-`), then `server` + the first ok answer's columns,
 *   and every ok answer's rows (columns found by name; `-` where missing).
 * Answers that are not ok appear only in a change's table. Values stay escaped as sent.
 * Returns false when no ok answer (except for a change) or out failed (memory, its limit). */
bool fleet_merge(enum admin_body_kind kind, const struct fleet_answer *answers, size_t count,
                 struct admin_text *out);

/* Whether values of the key or column name may be added up across servers: the counters and
 * gauges of the metrics registry (protocol/admin_metrics.h) and their lifetime_ forms, the
 * user-metrics counters, and the counts a record gives (total, closed, ...). Limits, settings,
 * times, ids and text are not. */
bool fleet_merge_summable(const char *name, size_t length);

#endif
