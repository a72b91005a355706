/* admin_text: the text bodies of admin responses (PROTOCOL.md section 8) — a builder for
 * `key: value` records and TSV tables with escaping, and allocation-free parsers for both. */
#ifndef ADMIN_TEXT_H
#define ADMIN_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Text values of the typed fields. */
#define ADMIN_TEXT_YES "yes"
#define ADMIN_TEXT_NO "no"
#define ADMIN_TEXT_NONE "-" /* a value that does not exist (yet) */
/* "2026-11-25T09:20:01.123Z" plus NUL, with room for years past 9999. */
#define ADMIN_TIME_TEXT_SIZE 32

/* ---- Builder ---- */

/* A growing buffer that holds a body, after `headroom` bytes left free in front of it for
 * the frame header, so a response goes out as one contiguous block. Appends past `limit`
 * body bytes (or a failed allocation) set `failed` and are dropped; use mark/rollback to
 * keep only whole rows. */
struct admin_text {
    char *data;
    size_t length; /* headroom included */
    size_t capacity;
    size_t headroom;
    size_t limit;
    bool failed;
    bool row_open;
};

void admin_text_init(struct admin_text *text, size_t headroom, size_t limit);
void admin_text_free(struct admin_text *text);
/* Empties the body; keeps the memory. */
void admin_text_clear(struct admin_text *text);
bool admin_text_failed(const struct admin_text *text);
/* The body so far; always NUL-terminated (the NUL is not part of the body). */
const char *admin_text_body(const struct admin_text *text);
size_t admin_text_body_length(const struct admin_text *text);
/* The headroom followed by the body: the whole frame once the header is written. */
uint8_t *admin_text_frame(struct admin_text *text);
size_t admin_text_frame_length(const struct admin_text *text);

size_t admin_text_mark(const struct admin_text *text);
/* Drops everything appended since mark and clears `failed`. */
void admin_text_rollback(struct admin_text *text, size_t mark);

/* Record lines: "key: value\n", value escaped. Keys are [a-z0-9_]+ and written as given. */
void admin_text_put_text(struct admin_text *text, const char *key, const char *value,
                         size_t length);
void admin_text_put_str(struct admin_text *text, const char *key, const char *value);
void admin_text_put_u64(struct admin_text *text, const char *key, uint64_t value);
void admin_text_put_bool(struct admin_text *text, const char *key, bool value);
/* ISO-8601 UTC with milliseconds; unix_ms is milliseconds since 1970. */
void admin_text_put_time(struct admin_text *text, const char *key, int64_t unix_ms);

/* Ends the record part with an empty line and writes the table's header line. */
void admin_text_begin_table(struct admin_text *text, const char *const *columns, size_t count);
/* Cells of one row, left to right; admin_text_end_row ends the line. */
void admin_text_cell_text(struct admin_text *text, const char *value, size_t length);
void admin_text_cell_str(struct admin_text *text, const char *value);
void admin_text_cell_u64(struct admin_text *text, uint64_t value);
void admin_text_cell_time(struct admin_text *text, int64_t unix_ms);
void admin_text_end_row(struct admin_text *text);
/* Appends whole rows another admin_text encoded (cells and the end of each row included). */
void admin_text_append_rows(struct admin_text *text, const char *rows, size_t length);

/* Writes value escaped (PROTOCOL.md 8.3) into out, NUL-terminated when capacity > 0, cut
 * (when it must be) before an escape sequence, never inside one. Returns the whole escaped
 * length, which exceeds capacity - 1 when out was cut. */
size_t admin_text_escape(const char *value, size_t length, char *out, size_t capacity);
/* "2026-11-25T09:20:01.123Z"; returns the length. */
size_t admin_format_time(char out[ADMIN_TIME_TEXT_SIZE], int64_t unix_ms);

/* ---- Parsers (no allocation; spans point into the body) ---- */

struct admin_span {
    const char *data;
    size_t length;
};

bool admin_span_equals(struct admin_span span, const char *text);
/* Decimal digits only, no sign, no overflow. */
bool admin_span_to_u64(struct admin_span span, uint64_t *value);
/* "yes" / "no". */
bool admin_span_to_bool(struct admin_span span, bool *value);
/* The time format above, with or without the milliseconds. */
bool admin_span_to_time(struct admin_span span, int64_t *unix_ms);
/* Undoes the escaping into out, NUL-terminated when capacity > 0. Returns the unescaped
 * length, which may exceed capacity - 1 (then out is cut). Unknown escapes are kept as is. */
size_t admin_text_unescape(struct admin_span escaped, char *out, size_t capacity);

/* Walks the record part of a body: the lines before the first empty line. Lines without
 * ": " are skipped, so a client never trips over something it does not understand. */
struct admin_record_cursor {
    const char *next;
    const char *end;
};

void admin_record_cursor_init(struct admin_record_cursor *cursor, const char *body,
                              size_t length);
bool admin_record_cursor_next(struct admin_record_cursor *cursor, struct admin_span *key,
                              struct admin_span *value);

/* Looks a key up in the record part; value is still escaped. */
bool admin_record_find(const char *body, size_t length, const char *key,
                       struct admin_span *value);
bool admin_record_get_u64(const char *body, size_t length, const char *key, uint64_t *value);
/* Unescaped and NUL-terminated; false when absent or when it does not fit. */
bool admin_record_get_text(const char *body, size_t length, const char *key, char *out,
                           size_t capacity);

/* The table part of a body: a header line after the first empty line, then rows. */
struct admin_table {
    struct admin_span header;
    size_t column_count;
    const char *next_row;
    const char *end;
};

struct admin_row {
    struct admin_span line; /* without its LF */
};

/* False when the body has no table part. */
bool admin_table_open(struct admin_table *table, const char *body, size_t length);
/* The index of a column by its header name, or -1: clients look columns up by name, as
 * later servers may add columns. */
long admin_table_column(const struct admin_table *table, const char *name);
bool admin_table_column_name(const struct admin_table *table, size_t index,
                             struct admin_span *name);
bool admin_table_next_row(struct admin_table *table, struct admin_row *row);
/* The escaped field at index; false when the row is shorter. */
bool admin_row_field(const struct admin_row *row, size_t index, struct admin_span *field);
size_t admin_row_field_count(const struct admin_row *row);

#endif
