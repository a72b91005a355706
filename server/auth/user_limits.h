/* user_limits: a user's limits — simultaneous connections, upload and download bytes per
 * second — and their text form (users file, config, admin), parsed purely and byte by byte. */
#ifndef USER_LIMITS_H
#define USER_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A field no one set: the next source down decides (run time → per-user config → role →
 * default). After resolution no field is unset; 0 means unlimited. */
#define USER_LIMIT_UNSET UINT64_MAX

enum user_limit_field {
    USER_LIMIT_MAX_CONNECTIONS, /* live connections past admission; a count */
    USER_LIMIT_UPLOAD,          /* client → remote, bytes per second */
    USER_LIMIT_DOWNLOAD,        /* remote → client, bytes per second */
    USER_LIMIT_FIELD_COUNT,
};

struct user_limits {
    uint64_t value[USER_LIMIT_FIELD_COUNT];
};

/* Every field unset. */
struct user_limits user_limits_unset(void);
/* Every field 0: nobody is limited. */
struct user_limits user_limits_unlimited(void);
/* base with each field that top sets replaced by top's. */
struct user_limits user_limits_overlay(struct user_limits base, const struct user_limits *top);
bool user_limits_any_set(const struct user_limits *limits);
bool user_limits_equal(const struct user_limits *left, const struct user_limits *right);

/* "max-connections", "upload", "download". */
const char *user_limit_field_name(enum user_limit_field field);
bool user_limit_field_find(const char *key, size_t length, enum user_limit_field *field);

/* A value: decimal digits; upload and download may end in K, M or G (powers of 1024, either
 * case). At most USER_LIMIT_UNSET - 1. False with a message saying what was expected. */
bool user_limit_value_parse(enum user_limit_field field, const char *text, size_t length,
                            uint64_t *value, char *error, size_t error_size);

/* A list of key=value items separated by one ',' or one space, each key at most once, into
 * the fields it names (the others stay as they were). With allow_unset, the value "default"
 * unsets the field (the admin's set-limits); the users file does not allow it. */
bool user_limits_parse(const char *text, size_t length, bool allow_unset,
                       struct user_limits *limits, char *error, size_t error_size);

/* The fields that are set, as user_limits_parse reads them back: "upload=1048576,download=0".
 * "" when none is. Returns the length (output truncated to size like snprintf). */
#define USER_LIMITS_TEXT_MAX 96
size_t user_limits_format(const struct user_limits *limits, char *out, size_t size);

#endif
