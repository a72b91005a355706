/* settings_store: the proxy settings' one owner — every change is made here, one at a time, and
 * published to whoever keeps a copy (each worker, for the sessions it starts from then on). */
#ifndef SETTINGS_STORE_H
#define SETTINGS_STORE_H

#include "proxy.h"

struct settings_store;

/* Called on the changer's thread once a change is readable: makes every copy current (each
 * reading settings_store_read on its own thread), so that when it returns the change holds
 * for every session started anywhere from then on. */
typedef void (*settings_publisher)(void *context);

/* NULL when out of memory. */
struct settings_store *settings_store_create(const struct proxy_settings *initial,
                                             settings_publisher publish, void *context);
void settings_store_destroy(struct settings_store *store);

/* A consistent copy of the current settings; from any thread. */
void settings_store_read(struct settings_store *store, struct proxy_settings *copy);

/* A change: begin hands out a copy of the current settings to edit, and holds every other
 * changer back until commit makes the edit current and publishes it — so changes from
 * several threads never undo one another. Keep the edit short: just the fields. */
struct proxy_settings *settings_store_begin_change(struct settings_store *store);
void settings_store_commit_change(struct settings_store *store);

#endif
