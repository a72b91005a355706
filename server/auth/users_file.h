/* users_file: the users table on disk — one "name:role:crypt-hash[:limits]" line per user —
 * read with errors that name the line, and written atomically (temp, fsync, rename, fsync dir). */
#ifndef USERS_FILE_H
#define USERS_FILE_H

#include <stdbool.h>
#include <stddef.h>

#include "users.h"

struct users_file_entry {
    char *name;
    char *hash;
    enum user_role role;
    /* The run-time limits (set-limits), an optional 4th field of key=value items separated by
     * ',' ("upload=8388608,max-connections=4"); written only when one is set, so that a file
     * without limits reads as it always did. Every field unset when absent. */
    struct user_limits limits;
};

struct users_file_contents {
    struct users_file_entry *entries;
    size_t count;
};

/* Parses text (a whole file) into contents. On error returns false with a message naming
 * the line in error. Blank lines and lines starting with '#' are ignored. */
bool users_file_parse(const char *text, size_t length, struct users_file_contents *contents,
                      char *error, size_t error_size);
/* Reads and parses path. A missing file is *missing = true and an empty contents. */
bool users_file_read(const char *path, struct users_file_contents *contents, bool *missing,
                     char *error, size_t error_size);
void users_file_contents_free(struct users_file_contents *contents);

/* Makes the table match contents: adds, updates and removes users, run-time limits included.
 * Usage counters of users that stay are kept. Returns false (table untouched) if contents has
 * no admin. */
bool users_file_apply(struct users *users, const struct users_file_contents *contents,
                      char *error, size_t error_size);

/* Writes every user of the table to path atomically; when it returns true the change is on
 * disk and survives a crash or power loss. */
bool users_file_write(const char *path, struct users *users, char *error, size_t error_size);

#endif
