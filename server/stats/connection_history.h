/* connection_history: the finished connections of one user, newest first, capped so memory
 * stays bounded under endless traffic (the oldest are dropped; the user's totals keep them). */
#ifndef CONNECTION_HISTORY_H
#define CONNECTION_HISTORY_H

#include <stddef.h>
#include <stdint.h>

struct connection_record;
struct connection_history;

struct connection_history *connection_history_create(size_t capacity);
void connection_history_destroy(struct connection_history *history);
/* Takes ownership of record; when full, the oldest record is freed. */
void connection_history_add(struct connection_history *history, struct connection_record *record);
size_t connection_history_count(const struct connection_history *history);
/* index 0 is the newest. */
const struct connection_record *connection_history_at(const struct connection_history *history,
                                                      size_t index);

#endif
