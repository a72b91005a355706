/* output: how socks5ctl prints a response body — aligned records and tables with human units
 * for people, TSV and JSON Lines for scripts — read with the admin_text.h parsers. */
#include "output.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "admin_commands.h"
#include "admin_text.h"
#include "connection_columns.h"
#include "user_columns.h"

#define COLUMN_GAP 2
#define NUMBER_TEXT_SIZE 64

/* ---- What a key or column holds ---- */

/* Record keys the protocol types as text (PROTOCOL.md 8.6-8.13): JSON keeps them strings even
 * when they look like numbers (a user may be called "42" or "-"). Table columns are typed by
 * their tables (connection_columns, user_columns); these lists cover the columns no table
 * describes. */
static const char *const text_names[] = {
    ADMIN_KEY_SERVER,          ADMIN_KEY_STARTED,   ADMIN_KEY_SOCKS_LISTENERS,
    ADMIN_KEY_ADMIN_LISTENERS, ADMIN_KEY_AUTH_MODE, ADMIN_KEY_USER,
    ADMIN_KEY_ROLE,            ADMIN_KEY_SAFE_DEFAULTS, ADMIN_KEY_ALLOW_LOOPBACK,
    ADMIN_COLUMN_NAME,         ADMIN_COLUMN_ACTION, ADMIN_COLUMN_RULE,
    ADMIN_KEY_ACCOUNTING,      ADMIN_KEY_ACCOUNTING_DB, ADMIN_KEY_ACCOUNTING_ERROR,
    ADMIN_KEY_LIFETIME_SINCE,  ADMIN_KEY_FIRST_SEEN,
    ADMIN_KEY_LAST_SEEN,       ADMIN_KEY_USAGE_RESET, ADMIN_KEY_USAGE_RESET_BY,
    ADMIN_KEY_RESET_AT,        ADMIN_KEY_MORE,
};

/* Record values in bytes: shown with human units too. */
static const char *const byte_names[] = {
    ADMIN_KEY_BYTES_UP,         ADMIN_KEY_BYTES_DOWN,        ADMIN_KEY_BUFFER_SIZE,
    ADMIN_KEY_REQUEST_BODY_MAX, ADMIN_KEY_RESPONSE_BODY_MAX, ADMIN_KEY_LIFETIME_BYTES_UP,
    ADMIN_KEY_LIFETIME_BYTES_DOWN,
};

static bool name_in(struct admin_span name, const char *const *names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (admin_span_equals(name, names[i]))
            return true;
    return false;
}

static bool is_text_name(struct admin_span name)
{
    return name_in(name, text_names, sizeof(text_names) / sizeof(text_names[0]));
}

static bool is_bytes_name(struct admin_span name)
{
    return name_in(name, byte_names, sizeof(byte_names) / sizeof(byte_names[0]));
}

static bool ends_with(struct admin_span name, const char *suffix)
{
    size_t length = strlen(suffix);
    return name.length >= length &&
           memcmp(name.data + name.length - length, suffix, length) == 0;
}

/* The column as the console's tables describe it (a name in both has one type), or NULL. */
static const struct table_column *described_column(struct admin_span name)
{
    const struct table_column *column =
        table_column_find(connection_columns, connection_column_count, name.data, name.length);
    if (column == NULL)
        column = table_column_find(user_columns, user_column_count, name.data, name.length);
    return column;
}

static bool is_text_column(struct admin_span name)
{
    const struct table_column *column = described_column(name);
    if (column == NULL)
        return is_text_name(name);
    return column->type == COLUMN_TEXT || column->type == COLUMN_TIME;
}

static bool is_none(struct admin_span value)
{
    return admin_span_equals(value, ADMIN_TEXT_NONE);
}

/* ---- Human units ---- */

void output_format_bytes(uint64_t bytes, char *out, size_t size)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    if (bytes < 1024) {
        snprintf(out, size, "%" PRIu64 " B", bytes);
        return;
    }
    double value = (double)bytes / 1024.0;
    size_t unit = 0;
    /* 1023.95 would print as "1024.0": move to the next unit before it does. */
    while (value >= 1023.95 && unit + 1 < sizeof(units) / sizeof(units[0])) {
        value /= 1024.0;
        unit++;
    }
    snprintf(out, size, "%.1f %s", value, units[unit]);
}

void output_format_duration_ms(uint64_t milliseconds, char *out, size_t size)
{
    uint64_t seconds = milliseconds / 1000;
    if (milliseconds < 1000)
        snprintf(out, size, "%" PRIu64 " ms", milliseconds);
    else if (seconds < 60)
        snprintf(out, size, "%" PRIu64 ".%" PRIu64 " s", seconds, milliseconds % 1000 / 100);
    else if (seconds < 3600)
        snprintf(out, size, "%" PRIu64 "m%02" PRIu64 "s", seconds / 60, seconds % 60);
    else if (seconds < 86400)
        snprintf(out, size, "%" PRIu64 "h%02" PRIu64 "m", seconds / 3600, seconds % 3600 / 60);
    else
        snprintf(out, size, "%" PRIu64 "d%02" PRIu64 "h", seconds / 86400, seconds % 86400 / 3600);
}

/* ---- Terminal-safe text ---- */

/* Length of the valid UTF-8 sequence at text (1..4), or 0 when it is not one; *code_point set. */
static size_t utf8_sequence(const unsigned char *text, size_t left, uint32_t *code_point)
{
    unsigned char lead = text[0];
    size_t length;
    uint32_t value, minimum;
    if (lead < 0x80) {
        *code_point = lead;
        return 1;
    }
    if ((lead & 0xE0) == 0xC0) {
        length = 2, value = lead & 0x1F, minimum = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
        length = 3, value = lead & 0x0F, minimum = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
        length = 4, value = lead & 0x07, minimum = 0x10000;
    } else {
        return 0;
    }
    if (left < length)
        return 0;
    for (size_t i = 1; i < length; i++) {
        if ((text[i] & 0xC0) != 0x80)
            return 0;
        value = value << 6 | (text[i] & 0x3F);
    }
    if (value < minimum || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        return 0;
    *code_point = value;
    return length;
}

/* A growing string for one cell. */
struct scratch {
    char *data;
    size_t length;
    size_t capacity;
};

static void scratch_reserve(struct scratch *scratch, size_t extra)
{
    if (scratch->length + extra + 1 <= scratch->capacity)
        return;
    size_t capacity = (scratch->length + extra + 1) * 2;
    char *grown = realloc(scratch->data, capacity);
    if (grown == NULL)
        abort(); /* a console with no memory for one cell has nothing better to do */
    scratch->data = grown;
    scratch->capacity = capacity;
}

static void scratch_append(struct scratch *scratch, const char *bytes, size_t length)
{
    scratch_reserve(scratch, length);
    memcpy(scratch->data + scratch->length, bytes, length);
    scratch->length += length;
    scratch->data[scratch->length] = '\0';
}

static void scratch_clear(struct scratch *scratch)
{
    scratch_reserve(scratch, 0);
    scratch->length = 0;
    scratch->data[0] = '\0';
}

/* Appends an escaped value for a terminal: the server escaped C0 controls already; C1
 * controls (U+0080..U+009F, which some terminals obey) and bytes that are not UTF-8 are
 * escaped here. Returns the columns added (one per code point). */
static size_t append_display(struct scratch *scratch, struct admin_span value)
{
    const unsigned char *text = (const unsigned char *)value.data;
    size_t columns = 0;
    for (size_t at = 0; at < value.length;) {
        uint32_t code_point = 0;
        size_t length = utf8_sequence(text + at, value.length - at, &code_point);
        char escape[16];
        if (length == 0) {
            snprintf(escape, sizeof(escape), "\\x%02x", text[at]);
            scratch_append(scratch, escape, 4);
            columns += 4;
            at++;
        } else if (code_point >= 0x80 && code_point <= 0x9F) {
            snprintf(escape, sizeof(escape), "\\u%04" PRIx32, code_point);
            scratch_append(scratch, escape, 6);
            columns += 6;
            at += length;
        } else {
            scratch_append(scratch, (const char *)text + at, length);
            columns++;
            at += length;
        }
    }
    return columns;
}

/* ---- TABLE format: records ---- */

/* Appends " (47.1 KiB)" or " (20m30s)" after the exact number, where it helps. */
static void append_human_note(struct scratch *scratch, struct admin_span key,
                              struct admin_span value)
{
    uint64_t number;
    if (!admin_span_to_u64(value, &number))
        return;
    char human[NUMBER_TEXT_SIZE], note[NUMBER_TEXT_SIZE + 4];
    if (is_bytes_name(key) && number >= 1024)
        output_format_bytes(number, human, sizeof(human));
    else if (ends_with(key, "_seconds") && number >= 60)
        output_format_duration_ms(number * 1000, human, sizeof(human));
    else
        return;
    int length = snprintf(note, sizeof(note), " (%s)", human);
    scratch_append(scratch, note, (size_t)length);
}

static void print_record_part(FILE *out, const char *body, size_t length)
{
    struct admin_record_cursor cursor;
    struct admin_span key, value;
    size_t key_width = 0;
    admin_record_cursor_init(&cursor, body, length);
    while (admin_record_cursor_next(&cursor, &key, &value))
        if (key.length > key_width)
            key_width = key.length;

    struct scratch line = {0};
    admin_record_cursor_init(&cursor, body, length);
    while (admin_record_cursor_next(&cursor, &key, &value)) {
        scratch_clear(&line);
        append_display(&line, value);
        append_human_note(&line, key, value);
        fprintf(out, "%.*s:%*s%s\n", (int)key.length, key.data,
                (int)(key_width - key.length + 1), "", line.data);
    }
    free(line.data);
}

static bool has_record_part(const char *body, size_t length)
{
    struct admin_record_cursor cursor;
    struct admin_span key, value;
    admin_record_cursor_init(&cursor, body, length);
    return admin_record_cursor_next(&cursor, &key, &value);
}

/* ---- TABLE format: tables ---- */

enum cell_kind { CELL_TEXT, CELL_BYTES, CELL_DURATION };

struct column {
    enum cell_kind kind;
    bool numeric; /* every field a number or "-": right-aligned */
    size_t width;
};

static enum cell_kind column_kind(struct admin_span name)
{
    const struct table_column *column = described_column(name);
    if (column != NULL)
        return column->type == COLUMN_BYTES         ? CELL_BYTES
               : column->type == COLUMN_DURATION_MS ? CELL_DURATION
                                                    : CELL_TEXT;
    if (is_bytes_name(name))
        return CELL_BYTES;
    if (ends_with(name, "_ms"))
        return CELL_DURATION;
    return CELL_TEXT;
}

/* The cell as shown; returns its width in columns. */
static size_t format_cell(struct scratch *cell, enum cell_kind kind, struct admin_span field)
{
    scratch_clear(cell);
    uint64_t number;
    if (kind != CELL_TEXT && admin_span_to_u64(field, &number)) {
        char human[NUMBER_TEXT_SIZE];
        if (kind == CELL_BYTES)
            output_format_bytes(number, human, sizeof(human));
        else
            output_format_duration_ms(number, human, sizeof(human));
        scratch_append(cell, human, strlen(human));
        return strlen(human);
    }
    return append_display(cell, field);
}

static void print_padded(FILE *out, const struct column *column, const char *text, size_t width,
                         bool last)
{
    size_t pad = column->width > width ? column->width - width : 0;
    if (column->numeric)
        fprintf(out, "%*s%s", (int)pad, "", text);
    else if (last)
        fputs(text, out);
    else
        fprintf(out, "%s%*s", text, (int)pad, "");
    if (!last)
        fprintf(out, "%*s", COLUMN_GAP, "");
}

static void measure_columns(struct admin_table table, struct column *columns,
                            struct scratch *cell)
{
    struct admin_span name;
    for (size_t i = 0; i < table.column_count; i++) {
        admin_table_column_name(&table, i, &name);
        /* Text columns stay left-aligned even when every value happens to be "-". */
        columns[i] = (struct column){column_kind(name), !is_text_column(name),
                                     append_display(cell, name)};
        scratch_clear(cell);
    }
    struct admin_row row;
    while (admin_table_next_row(&table, &row)) {
        for (size_t i = 0; i < table.column_count; i++) {
            struct admin_span field = {"", 0};
            admin_row_field(&row, i, &field);
            uint64_t number;
            if (!admin_span_to_u64(field, &number) && !is_none(field))
                columns[i].numeric = false;
            size_t width = format_cell(cell, columns[i].kind, field);
            if (width > columns[i].width)
                columns[i].width = width;
        }
    }
}

static void print_table_part(FILE *out, struct admin_table table)
{
    struct column *columns = calloc(table.column_count, sizeof(*columns));
    if (columns == NULL)
        return;
    struct scratch cell = {0};
    measure_columns(table, columns, &cell);

    struct admin_span name;
    for (size_t i = 0; i < table.column_count; i++) {
        admin_table_column_name(&table, i, &name);
        scratch_clear(&cell);
        size_t width = append_display(&cell, name);
        print_padded(out, &columns[i], cell.data, width, i + 1 == table.column_count);
    }
    fputc('\n', out);
    struct admin_row row;
    while (admin_table_next_row(&table, &row)) {
        for (size_t i = 0; i < table.column_count; i++) {
            struct admin_span field = {"", 0};
            admin_row_field(&row, i, &field);
            size_t width = format_cell(&cell, columns[i].kind, field);
            print_padded(out, &columns[i], cell.data, width, i + 1 == table.column_count);
        }
        fputc('\n', out);
    }
    free(cell.data);
    free(columns);
}

static void print_human(FILE *out, const char *body, size_t length)
{
    struct admin_table table;
    bool is_table = admin_table_open(&table, body, length);
    bool record = has_record_part(body, length);
    if (record)
        print_record_part(out, body, length);
    if (!is_table)
        return;
    if (record)
        fputc('\n', out);
    print_table_part(out, table);
}

/* ---- TSV ---- */

static void print_tsv(FILE *out, const char *body, size_t length)
{
    struct admin_table table;
    if (admin_table_open(&table, body, length)) {
        fprintf(out, "%.*s\n", (int)table.header.length, table.header.data);
        struct admin_row row;
        while (admin_table_next_row(&table, &row))
            fprintf(out, "%.*s\n", (int)row.line.length, row.line.data);
        return;
    }
    if (!has_record_part(body, length))
        return;
    struct admin_record_cursor cursor;
    struct admin_span key, value;
    fputs("key\tvalue\n", out);
    admin_record_cursor_init(&cursor, body, length);
    while (admin_record_cursor_next(&cursor, &key, &value))
        fprintf(out, "%.*s\t%.*s\n", (int)key.length, key.data, (int)value.length, value.data);
}

/* ---- JSON ---- */

void output_json_string(FILE *out, const char *text, size_t length)
{
    const unsigned char *bytes = (const unsigned char *)text;
    fputc('"', out);
    for (size_t at = 0; at < length;) {
        uint32_t code_point = 0;
        size_t sequence = utf8_sequence(bytes + at, length - at, &code_point);
        if (sequence == 0) {
            fputs("\\ufffd", out);
            at++;
            continue;
        }
        switch (code_point) {
        case '"': fputs("\\\"", out); break;
        case '\\': fputs("\\\\", out); break;
        case '\n': fputs("\\n", out); break;
        case '\t': fputs("\\t", out); break;
        case '\r': fputs("\\r", out); break;
        default:
            if (code_point < 0x20 || code_point == 0x7F)
                fprintf(out, "\\u%04" PRIx32, code_point);
            else
                fwrite(bytes + at, 1, sequence, out);
        }
        at += sequence;
    }
    fputc('"', out);
}

static void print_json_value(FILE *out, bool is_text, struct admin_span value)
{
    uint64_t number;
    if (!is_text && admin_span_to_u64(value, &number)) {
        fprintf(out, "%" PRIu64, number);
        return;
    }
    if (!is_text && is_none(value)) {
        fputs("null", out);
        return;
    }
    char *text = malloc(value.length + 1); /* unescaping never makes a value longer */
    if (text == NULL)
        abort();
    size_t length = admin_text_unescape(value, text, value.length + 1);
    output_json_string(out, text, length);
    free(text);
}

static void print_json_member(FILE *out, bool *first, struct admin_span name, bool is_text,
                              struct admin_span value)
{
    if (!*first)
        fputc(',', out);
    *first = false;
    output_json_string(out, name.data, name.length);
    fputc(':', out);
    print_json_value(out, is_text, value);
}

static void print_json_rows(FILE *out, struct admin_table table)
{
    struct admin_row row;
    bool first_row = true;
    fputs(",\"rows\":[", out);
    while (admin_table_next_row(&table, &row)) {
        fputs(first_row ? "{" : ",{", out);
        first_row = false;
        bool first = true;
        struct admin_span name, field;
        for (size_t i = 0; i < table.column_count; i++) {
            admin_table_column_name(&table, i, &name);
            if (!admin_row_field(&row, i, &field))
                field = (struct admin_span){"", 0};
            print_json_member(out, &first, name, is_text_column(name), field);
        }
        fputc('}', out);
    }
    fputc(']', out);
}

static void print_json(FILE *out, const char *command, const char *body, size_t length)
{
    fputs("{\"command\":", out);
    output_json_string(out, command, strlen(command));
    struct admin_table table;
    bool is_table = admin_table_open(&table, body, length);
    if (is_table || has_record_part(body, length)) {
        struct admin_record_cursor cursor;
        struct admin_span key, value;
        bool first = true;
        fputs(",\"record\":{", out);
        admin_record_cursor_init(&cursor, body, length);
        while (admin_record_cursor_next(&cursor, &key, &value))
            print_json_member(out, &first, key, is_text_name(key), value);
        fputc('}', out);
    }
    if (is_table)
        print_json_rows(out, table);
    fputs("}\n", out);
}

void output_result(FILE *out, enum console_format format, const char *command,
                   const char *body, size_t length)
{
    switch (format) {
    case CONSOLE_FORMAT_TABLE: print_human(out, body, length); break;
    case CONSOLE_FORMAT_TSV: print_tsv(out, body, length); break;
    case CONSOLE_FORMAT_JSON: print_json(out, command, body, length); break;
    }
}
