/* admin_text: the text bodies of admin responses (PROTOCOL.md section 8) — a builder for
 * `key: value` records and TSV tables with escaping, and allocation-free parsers for both. */
#include "admin_text.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- Escaping ---- */

static const char hex_digits[] = "0123456789abcdef";

/* The escape of one byte into unit (up to 4 bytes); returns its length. */
static size_t escape_byte(unsigned char byte, char unit[4])
{
    switch (byte) {
    case '\\': memcpy(unit, "\\\\", 2); return 2;
    case '\t': memcpy(unit, "\\t", 2); return 2;
    case '\n': memcpy(unit, "\\n", 2); return 2;
    case '\r': memcpy(unit, "\\r", 2); return 2;
    default: break;
    }
    /* Other control bytes could drive the admin's terminal: names come from SOCKS clients. */
    if (byte < 0x20 || byte == 0x7F) {
        unit[0] = '\\';
        unit[1] = 'x';
        unit[2] = hex_digits[byte >> 4];
        unit[3] = hex_digits[byte & 0x0F];
        return 4;
    }
    unit[0] = (char)byte;
    return 1;
}

size_t admin_text_escape(const char *value, size_t length, char *out, size_t capacity)
{
    size_t total = 0, written = 0;
    bool cut = capacity == 0;
    for (size_t i = 0; i < length; i++) {
        char unit[4];
        size_t unit_length = escape_byte((unsigned char)value[i], unit);
        if (!cut && written + unit_length <= capacity - 1) {
            memcpy(out + written, unit, unit_length);
            written += unit_length;
        } else {
            cut = true;
        }
        total += unit_length;
    }
    if (capacity > 0)
        out[written] = '\0';
    return total;
}

static int hex_value(char digit)
{
    if (digit >= '0' && digit <= '9')
        return digit - '0';
    if (digit >= 'a' && digit <= 'f')
        return digit - 'a' + 10;
    if (digit >= 'A' && digit <= 'F')
        return digit - 'A' + 10;
    return -1;
}

/* Decodes the escape at text[0] == '\\'; returns its length, or 0 when it is not one. */
static size_t unescape_sequence(const char *text, size_t left, char *byte)
{
    if (left < 2)
        return 0;
    switch (text[1]) {
    case '\\': *byte = '\\'; return 2;
    case 't': *byte = '\t'; return 2;
    case 'n': *byte = '\n'; return 2;
    case 'r': *byte = '\r'; return 2;
    case 'x':
        if (left >= 4 && hex_value(text[2]) >= 0 && hex_value(text[3]) >= 0) {
            *byte = (char)(hex_value(text[2]) << 4 | hex_value(text[3]));
            return 4;
        }
        return 0;
    default: return 0;
    }
}

size_t admin_text_unescape(struct admin_span escaped, char *out, size_t capacity)
{
    size_t total = 0;
    for (size_t i = 0; i < escaped.length;) {
        char byte = escaped.data[i];
        size_t step = 1;
        if (byte == '\\') {
            size_t sequence = unescape_sequence(escaped.data + i, escaped.length - i, &byte);
            if (sequence > 0)
                step = sequence;
        }
        if (capacity > 0 && total < capacity - 1)
            out[total] = byte;
        total++;
        i += step;
    }
    if (capacity > 0)
        out[total < capacity - 1 ? total : capacity - 1] = '\0';
    return total;
}

/* ---- Time ---- */

size_t admin_format_time(char out[ADMIN_TIME_TEXT_SIZE], int64_t unix_ms)
{
    if (unix_ms < 0)
        unix_ms = 0;
    time_t seconds = (time_t)(unix_ms / 1000);
    struct tm utc;
    if (gmtime_r(&seconds, &utc) == NULL)
        memset(&utc, 0, sizeof(utc));
    int length = snprintf(out, ADMIN_TIME_TEXT_SIZE, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                          utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour,
                          utc.tm_min, utc.tm_sec, (int)(unix_ms % 1000));
    return length < 0 ? 0 : (size_t)length;
}

/* Reads exactly count digits at text; -1 if any is not a digit. */
static int read_digits(const char *text, size_t count)
{
    int value = 0;
    for (size_t i = 0; i < count; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value;
}

bool admin_span_to_time(struct admin_span span, int64_t *unix_ms)
{
    /* YYYY-MM-DDTHH:MM:SS[.mmm]Z */
    const char *t = span.data;
    if (span.length != 20 && span.length != 24)
        return false;
    if (t[4] != '-' || t[7] != '-' || t[10] != 'T' || t[13] != ':' || t[16] != ':' ||
        t[span.length - 1] != 'Z')
        return false;
    int fields[6] = {read_digits(t, 4),      read_digits(t + 5, 2),  read_digits(t + 8, 2),
                     read_digits(t + 11, 2), read_digits(t + 14, 2), read_digits(t + 17, 2)};
    for (size_t i = 0; i < 6; i++)
        if (fields[i] < 0)
            return false;
    int milliseconds = 0;
    if (span.length == 24) {
        if (t[19] != '.' || (milliseconds = read_digits(t + 20, 3)) < 0)
            return false;
    }
    if (fields[1] < 1 || fields[1] > 12 || fields[2] < 1 || fields[2] > 31 || fields[3] > 23 ||
        fields[4] > 59 || fields[5] > 60)
        return false;
    struct tm utc = {.tm_year = fields[0] - 1900, .tm_mon = fields[1] - 1, .tm_mday = fields[2],
                     .tm_hour = fields[3], .tm_min = fields[4], .tm_sec = fields[5]};
    time_t seconds = timegm(&utc);
    if (seconds == (time_t)-1)
        return false;
    *unix_ms = (int64_t)seconds * 1000 + milliseconds;
    return true;
}

/* ---- Builder ---- */

void admin_text_init(struct admin_text *text, size_t headroom, size_t limit)
{
    memset(text, 0, sizeof(*text));
    text->headroom = headroom;
    text->length = headroom;
    text->limit = limit;
}

void admin_text_free(struct admin_text *text)
{
    free(text->data);
    text->data = NULL;
    text->capacity = 0;
    text->length = text->headroom;
}

/* The spare byte past the body keeps it a C string, for logs and printing. */
static void text_terminate(struct admin_text *text)
{
    if (text->data != NULL)
        text->data[text->length] = '\0';
}

void admin_text_clear(struct admin_text *text)
{
    text->length = text->headroom;
    text_terminate(text);
    text->failed = false;
    text->row_open = false;
}

bool admin_text_failed(const struct admin_text *text)
{
    return text->failed;
}

/* Makes room for extra more body bytes; false (and failed set) past the limit or memory. */
static bool text_reserve(struct admin_text *text, size_t extra)
{
    if (text->failed)
        return false;
    if (text->length - text->headroom + extra > text->limit) {
        text->failed = true;
        return false;
    }
    /* One spare byte past the body, for the NUL that escaping writes. */
    size_t needed = text->length + extra + 1;
    if (text->data != NULL && needed <= text->capacity)
        return true;
    size_t capacity = text->capacity < 256 ? 256 : text->capacity;
    while (capacity < needed)
        capacity *= 2;
    char *data = realloc(text->data, capacity);
    if (data == NULL) {
        text->failed = true;
        return false;
    }
    text->data = data;
    text->capacity = capacity;
    data[text->length] = '\0';
    return true;
}

static void text_append(struct admin_text *text, const char *bytes, size_t length)
{
    if (!text_reserve(text, length))
        return;
    memcpy(text->data + text->length, bytes, length);
    text->length += length;
    text->data[text->length] = '\0';
}

static void text_append_escaped(struct admin_text *text, const char *value, size_t length)
{
    size_t escaped = admin_text_escape(value, length, NULL, 0);
    if (!text_reserve(text, escaped))
        return;
    admin_text_escape(value, length, text->data + text->length, escaped + 1);
    text->length += escaped;
}

const char *admin_text_body(const struct admin_text *text)
{
    return text->data == NULL ? "" : text->data + text->headroom;
}

size_t admin_text_body_length(const struct admin_text *text)
{
    return text->length - text->headroom;
}

uint8_t *admin_text_frame(struct admin_text *text)
{
    if (text->data == NULL && !text_reserve(text, 0))
        return NULL;
    return (uint8_t *)text->data;
}

size_t admin_text_frame_length(const struct admin_text *text)
{
    return text->length;
}

size_t admin_text_mark(const struct admin_text *text)
{
    return text->length;
}

void admin_text_rollback(struct admin_text *text, size_t mark)
{
    if (mark < text->length)
        text->length = mark;
    text_terminate(text);
    text->failed = false;
    text->row_open = false;
}

void admin_text_put_text(struct admin_text *text, const char *key, const char *value,
                         size_t length)
{
    text_append(text, key, strlen(key));
    text_append(text, ": ", 2);
    text_append_escaped(text, value, length);
    text_append(text, "\n", 1);
}

void admin_text_put_str(struct admin_text *text, const char *key, const char *value)
{
    admin_text_put_text(text, key, value, strlen(value));
}

void admin_text_put_u64(struct admin_text *text, const char *key, uint64_t value)
{
    char digits[24];
    int length = snprintf(digits, sizeof(digits), "%" PRIu64, value);
    admin_text_put_text(text, key, digits, (size_t)length);
}

void admin_text_put_bool(struct admin_text *text, const char *key, bool value)
{
    admin_text_put_str(text, key, value ? ADMIN_TEXT_YES : ADMIN_TEXT_NO);
}

void admin_text_put_time(struct admin_text *text, const char *key, int64_t unix_ms)
{
    char time_text[ADMIN_TIME_TEXT_SIZE];
    size_t length = admin_format_time(time_text, unix_ms);
    admin_text_put_text(text, key, time_text, length);
}

void admin_text_begin_table(struct admin_text *text, const char *const *columns, size_t count)
{
    text_append(text, "\n", 1);
    for (size_t i = 0; i < count; i++) {
        if (i > 0)
            text_append(text, "\t", 1);
        text_append(text, columns[i], strlen(columns[i]));
    }
    text_append(text, "\n", 1);
    text->row_open = false;
}

void admin_text_append_rows(struct admin_text *text, const char *rows, size_t length)
{
    text_append(text, rows, length);
    text->row_open = false;
}

void admin_text_cell_text(struct admin_text *text, const char *value, size_t length)
{
    if (text->row_open)
        text_append(text, "\t", 1);
    text->row_open = true;
    text_append_escaped(text, value, length);
}

void admin_text_cell_str(struct admin_text *text, const char *value)
{
    admin_text_cell_text(text, value, strlen(value));
}

void admin_text_cell_u64(struct admin_text *text, uint64_t value)
{
    char digits[24];
    int length = snprintf(digits, sizeof(digits), "%" PRIu64, value);
    admin_text_cell_text(text, digits, (size_t)length);
}

void admin_text_cell_time(struct admin_text *text, int64_t unix_ms)
{
    char time_text[ADMIN_TIME_TEXT_SIZE];
    size_t length = admin_format_time(time_text, unix_ms);
    admin_text_cell_text(text, time_text, length);
}

void admin_text_end_row(struct admin_text *text)
{
    text_append(text, "\n", 1);
    text->row_open = false;
}

/* ---- Spans ---- */

bool admin_span_equals(struct admin_span span, const char *text)
{
    size_t length = strlen(text);
    return span.length == length && memcmp(span.data, text, length) == 0;
}

bool admin_span_to_u64(struct admin_span span, uint64_t *value)
{
    if (span.length == 0 || span.length > 20)
        return false;
    uint64_t result = 0;
    for (size_t i = 0; i < span.length; i++) {
        char digit = span.data[i];
        if (digit < '0' || digit > '9')
            return false;
        uint64_t add = (uint64_t)(digit - '0');
        if (result > (UINT64_MAX - add) / 10)
            return false;
        result = result * 10 + add;
    }
    *value = result;
    return true;
}

bool admin_span_to_bool(struct admin_span span, bool *value)
{
    if (admin_span_equals(span, ADMIN_TEXT_YES)) {
        *value = true;
        return true;
    }
    if (admin_span_equals(span, ADMIN_TEXT_NO)) {
        *value = false;
        return true;
    }
    return false;
}

/* Splits off the next line of [*next, end): the line without its LF; advances *next. */
static struct admin_span next_line(const char **next, const char *end)
{
    const char *start = *next;
    const char *newline = memchr(start, '\n', (size_t)(end - start));
    const char *line_end = newline != NULL ? newline : end;
    *next = newline != NULL ? newline + 1 : end;
    return (struct admin_span){start, (size_t)(line_end - start)};
}

/* ---- Records ---- */

void admin_record_cursor_init(struct admin_record_cursor *cursor, const char *body,
                              size_t length)
{
    cursor->next = body;
    cursor->end = body + length;
}

/* Splits "key: value" (or "key:" at the end of the line, an empty value). */
static bool split_record_line(struct admin_span line, struct admin_span *key,
                              struct admin_span *value)
{
    const char *colon = memchr(line.data, ':', line.length);
    if (colon == NULL || colon == line.data)
        return false;
    size_t key_length = (size_t)(colon - line.data);
    size_t rest = line.length - key_length - 1;
    if (rest > 0 && colon[1] != ' ')
        return false;
    *key = (struct admin_span){line.data, key_length};
    *value = rest == 0 ? (struct admin_span){colon + 1, 0}
                       : (struct admin_span){colon + 2, rest - 1};
    return true;
}

bool admin_record_cursor_next(struct admin_record_cursor *cursor, struct admin_span *key,
                              struct admin_span *value)
{
    while (cursor->next < cursor->end) {
        struct admin_span line = next_line(&cursor->next, cursor->end);
        if (line.length == 0) {
            cursor->next = cursor->end; /* the record part ends at the first empty line */
            return false;
        }
        if (split_record_line(line, key, value))
            return true;
    }
    return false;
}

bool admin_record_find(const char *body, size_t length, const char *key,
                       struct admin_span *value)
{
    struct admin_record_cursor cursor;
    struct admin_span line_key, line_value;
    admin_record_cursor_init(&cursor, body, length);
    while (admin_record_cursor_next(&cursor, &line_key, &line_value)) {
        if (admin_span_equals(line_key, key)) {
            *value = line_value;
            return true;
        }
    }
    return false;
}

bool admin_record_get_u64(const char *body, size_t length, const char *key, uint64_t *value)
{
    struct admin_span span;
    return admin_record_find(body, length, key, &span) && admin_span_to_u64(span, value);
}

bool admin_record_get_text(const char *body, size_t length, const char *key, char *out,
                           size_t capacity)
{
    struct admin_span span;
    if (!admin_record_find(body, length, key, &span))
        return false;
    return admin_text_unescape(span, out, capacity) < capacity;
}

/* ---- Tables ---- */

static size_t count_fields(struct admin_span line)
{
    size_t count = 1;
    for (size_t i = 0; i < line.length; i++)
        count += line.data[i] == '\t';
    return count;
}

bool admin_table_open(struct admin_table *table, const char *body, size_t length)
{
    const char *next = body, *end = body + length;
    while (next < end) {
        struct admin_span line = next_line(&next, end);
        if (line.length != 0)
            continue;
        if (next >= end)
            return false;
        table->header = next_line(&next, end);
        if (table->header.length == 0)
            return false;
        table->column_count = count_fields(table->header);
        table->next_row = next;
        table->end = end;
        return true;
    }
    return false;
}

long admin_table_column(const struct admin_table *table, const char *name)
{
    struct admin_row header = {table->header};
    struct admin_span field;
    for (size_t i = 0; admin_row_field(&header, i, &field); i++)
        if (admin_span_equals(field, name))
            return (long)i;
    return -1;
}

bool admin_table_column_name(const struct admin_table *table, size_t index,
                             struct admin_span *name)
{
    struct admin_row header = {table->header};
    return admin_row_field(&header, index, name);
}

bool admin_table_next_row(struct admin_table *table, struct admin_row *row)
{
    if (table->next_row >= table->end)
        return false;
    struct admin_span line = next_line(&table->next_row, table->end);
    if (line.length == 0) {
        table->next_row = table->end; /* an empty line ends the table */
        return false;
    }
    row->line = line;
    return true;
}

bool admin_row_field(const struct admin_row *row, size_t index, struct admin_span *field)
{
    const char *start = row->line.data, *end = row->line.data + row->line.length;
    for (size_t i = 0;; i++) {
        const char *tab = memchr(start, '\t', (size_t)(end - start));
        const char *field_end = tab != NULL ? tab : end;
        if (i == index) {
            *field = (struct admin_span){start, (size_t)(field_end - start)};
            return true;
        }
        if (tab == NULL)
            return false;
        start = tab + 1;
    }
}

size_t admin_row_field_count(const struct admin_row *row)
{
    return count_fields(row->line);
}
