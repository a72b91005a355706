/* server_accounting: the accounting database for this process — which file (--accounting-db,
 * else beside the users file), what its writer samples (the users, the counters), start, stop. */
#ifndef SERVER_ACCOUNTING_H
#define SERVER_ACCOUNTING_H

#include <stdbool.h>

struct accounting;
struct admin_thread;
struct proxy_shared;
struct server_options;

/* Sets shared->accounting (NULL when off). users_file: the users file's path, NULL when none.
 * admin may be NULL (its counters are then left out) and set later. False (logged, naming the
 * file) when the database cannot be used and --accounting-optional was not given. */
bool server_accounting_start(const struct server_options *options, const char *users_file,
                             struct proxy_shared *shared);
/* The database's path once started ("" when off): the string stays where it is, so the admin
 * may keep the pointer from before the start. */
const char *server_accounting_path(void);
/* The admin's counters join the sampled server figures once the admin thread exists; NULL
 * before it is destroyed keeps its last figures. */
void server_accounting_set_admin(struct admin_thread *admin);
/* The workers' counters are read one last time and kept: call before the workers are freed
 * (their last sessions' records still reach the queue as they close). */
void server_accounting_workers_gone(void);
/* Commits what is queued and closes: after the workers have closed their sessions. */
void server_accounting_stop(struct proxy_shared *shared);

#endif
