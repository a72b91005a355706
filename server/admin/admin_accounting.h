/* admin_accounting: the admin answers that read the accounting database — lifetime figures in
 * server-info, metrics, user-metrics and users, the history table, and reset-usage. */
#ifndef ADMIN_ACCOUNTING_H
#define ADMIN_ACCOUNTING_H

#include <stdbool.h>
#include <stdint.h>

#include "admin_commands.h"
#include "admin_metrics.h"
#include "admin_server.h"
#include "admin_text.h"

struct accounting;
struct user;
struct users;

/* Each takes the running accounting, NULL when it is off: then every lifetime figure is "-"
 * and history and reset-usage answer ADMIN_STATUS_UNAVAILABLE. */

/* server-info: accounting state, database, error, retention and stored rows. */
void admin_accounting_put_info(struct admin_text *body, struct accounting *accounting,
                               const struct admin_server_hooks *hooks);
/* metrics: lifetime_<name> of every counter, given the since-start values, and
 * lifetime_since. */
void admin_accounting_put_metrics(struct admin_text *body, struct accounting *accounting,
                                  const uint64_t since_start[ADMIN_METRIC_COUNT]);
/* user-metrics: user's lifetime keys. */
void admin_accounting_put_user(struct admin_text *body, struct accounting *accounting,
                               struct user *user);
/* users table: user's lifetime cells, in the columns' order. */
void admin_accounting_user_cells(struct admin_text *body, struct accounting *accounting,
                                 struct user *user);

/* history for a session of user own (NULL: an admin's, who may ask for anyone). */
void admin_accounting_history(struct accounting *accounting,
                              const struct admin_args_history *args, const char *own,
                              struct admin_response *response);
/* reset-usage by the admin named by; the named user must be in users (or be anonymous). */
void admin_accounting_reset_usage(struct accounting *accounting, struct users *users,
                                  const struct admin_args_reset_usage *args, const char *by,
                                  struct admin_response *response);

/* Whether this module's history columns are the protocol's (a unit test holds them). */
bool admin_history_columns_cover_protocol(void);

#endif
