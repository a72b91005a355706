/* connection_pages: the admin protocol's connections table (PROTOCOL.md 8.9) — one consistent
 * snapshot of live and recent connections across every worker, sorted and cut to one page. */
#ifndef CONNECTION_PAGES_H
#define CONNECTION_PAGES_H

#include <stdbool.h>

#include "admin_commands.h"
#include "admin_text.h"

struct proxy_shared;
struct user;

/* Writes the page args asks for of only's connections (NULL = everybody's, anonymous
 * included) to body. False when out of memory: body then holds nothing to send. */
bool connection_page_write(struct proxy_shared *shared, const struct user *only,
                           const struct admin_args_connections *args, struct admin_text *body);

/* Whether this module's column table has every column the protocol library promises its
 * clients (a unit test holds the two together). */
bool connection_columns_cover_protocol(void);

#endif
