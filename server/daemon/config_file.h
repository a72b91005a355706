/* config_file: socks5d's configuration file — a key per long option, and the rules and limits
 * sections — parsed from memory into options and a policy, every problem naming its line. */
#ifndef CONFIG_FILE_H
#define CONFIG_FILE_H

#include <stdbool.h>
#include <stddef.h>

struct server_options;
struct policy;

/* The text a file's options point to (options keep their values by reference): it must
 * outlive the options it was given to. */
struct config_strings;

struct config_strings *config_strings_create(void); /* NULL when out of memory */
void config_strings_destroy(struct config_strings *strings);

/* The whole file into memory (*text NUL-terminated, free it): false with
 * "PATH: why" in error when it cannot be read. */
bool config_file_read(const char *path, char **text, size_t *length, char *error,
                      size_t error_size);

/* Parses text (name: what messages call it, the file's path) and applies it: each top-level
 * key through options_set over options, the `rules` section into policy->rules and `limits`
 * into policy->limits. Does no I/O (an @include is refused). Returns how many problems it
 * found, each one line "NAME:LINE: what was expected" added to problems (cut short when
 * problems_size is reached); 0 means everything was applied. On problems, options and policy
 * hold a part of the file and are to be thrown away. */
size_t config_file_apply(const char *name, const char *text, size_t length,
                         struct server_options *options, struct policy *policy,
                         struct config_strings *strings, char *problems, size_t problems_size);

#endif
