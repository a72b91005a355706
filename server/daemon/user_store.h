/* user_store: the users table's place on disk for this process — which file (-f, else systemd's
 * or the XDG state directory; none with -f off), loaded at start, saved after every change,
 * reread on SIGHUP. */
#ifndef USER_STORE_H
#define USER_STORE_H

#include <stdbool.h>
#include <stddef.h>

struct users;
struct user_store;

/* option: -f's value (NULL = the default place, "off" = memory only). The directory of the
 * default place is made, private. NULL when out of memory. */
struct user_store *user_store_create(const char *option, struct users *users);
void user_store_destroy(struct user_store *store);
/* NULL when the users live in memory only. */
const char *user_store_path(const struct user_store *store);

/* At start, into the empty table: false (logged, naming the line) when the file is corrupt;
 * *missing when there is no file yet. */
bool user_store_load(struct user_store *store, bool *missing);
/* The whole table, atomically. False (logged) on failure. No-op in memory only. */
bool user_store_save(struct user_store *store);
/* The file again, replacing the table's users: false with the reason in error when it is
 * refused (the table is then untouched). */
bool user_store_reread(struct user_store *store, char *error, size_t error_size);

#endif
