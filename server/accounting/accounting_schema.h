/* accounting_schema: the accounting database's tables as a list of migration steps (step N
 * brings schema version N-1 to N), and readying a newly opened handle: refusals, WAL, migration. */
#ifndef ACCOUNTING_SCHEMA_H
#define ACCOUNTING_SCHEMA_H

#include <stdbool.h>

struct sqlite3;

/* The schema version this build writes: the number of migration steps. */
unsigned accounting_schema_version(void);

/* Readies db (just opened on path, read-write): refuses a file that is not a database or is
 * damaged where it is read first, one with tables but no schema version, and one whose schema
 * is newer than this build's (never written to); otherwise sets incremental vacuum (a new
 * file), WAL and synchronous=NORMAL, and runs the missing migration steps in one transaction.
 * False with error "path: what went wrong". */
bool accounting_schema_ready(struct sqlite3 *db, const char *path, char *error,
                             unsigned error_size);

#endif
