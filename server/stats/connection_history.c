/* connection_history: the finished connections of one user, newest first, capped so memory
 * stays bounded under endless traffic (the oldest are dropped; the user's totals keep them). */
#include "connection_history.h"

#include "connection_record.h"

#include <stdlib.h>

struct connection_history {
    size_t capacity;
    size_t count;
    size_t next; /* slot the next record goes to */
    struct connection_record **ring; /* grown on demand up to capacity */
    size_t allocated;
};

struct connection_history *connection_history_create(size_t capacity)
{
    struct connection_history *history = calloc(1, sizeof(*history));
    if (history != NULL)
        history->capacity = capacity;
    return history;
}

void connection_history_destroy(struct connection_history *history)
{
    if (history == NULL)
        return;
    for (size_t i = 0; i < history->count; i++)
        connection_record_free(history->ring[i]);
    free(history->ring);
    free(history);
}

/* Grows the ring while it is not yet full and has no wrap-around, so most users with few
 * connections never pay for a full-capacity array. */
static int history_make_room(struct connection_history *history)
{
    if (history->count < history->allocated || history->allocated == history->capacity)
        return 0;
    size_t allocated = history->allocated ? history->allocated * 2 : 8;
    if (allocated > history->capacity)
        allocated = history->capacity;
    struct connection_record **ring = realloc(history->ring, allocated * sizeof(*ring));
    if (ring == NULL)
        return -1;
    history->ring = ring;
    history->allocated = allocated;
    history->next = history->count; /* until full the ring is linear: oldest at slot 0 */
    return 0;
}

void connection_history_add(struct connection_history *history, struct connection_record *record)
{
    if (history->capacity == 0 || history_make_room(history) < 0) {
        connection_record_free(record);
        return;
    }
    if (history->count == history->capacity) {
        connection_record_free(history->ring[history->next]);
    } else {
        history->count++;
    }
    history->ring[history->next] = record;
    history->next = (history->next + 1) % history->allocated;
}

size_t connection_history_count(const struct connection_history *history)
{
    return history->count;
}

const struct connection_record *connection_history_at(const struct connection_history *history,
                                                      size_t index)
{
    if (index >= history->count)
        return NULL;
    size_t slot = (history->next + history->allocated - 1 - index) % history->allocated;
    return history->ring[slot];
}
