/* fuzz_admin_response: libFuzzer harness for the admin response decoder (with its caller-sized
 * body) and the text-body parsers and escaping — checked against PROTOCOL.md 5.2 and 8. */
#include "fuzz_feed.h"
#include "admin_protocol.h"
#include "admin_text.h"

#include <errno.h>
#include <string.h>

/* Input: the shared plan and message layout; bits 3-4 of byte 0 also say what the chunked
 * decoder does at HEADER: 0 or 3 hands it a buffer, 1 hands it NULL, 2 never calls set_body. */
enum body_mode { BODY_BUFFER, BODY_NULL, BODY_NEVER_SET };

static enum body_mode body_mode_from_input(const uint8_t *data, size_t size)
{
    unsigned bits = size > 0 ? (data[0] >> 3) & 3u : 0;
    return bits == 1 ? BODY_NULL : bits == 2 ? BODY_NEVER_SET : BODY_BUFFER;
}

static uint32_t read_u32(const uint8_t *bytes)
{
    return (uint32_t)bytes[0] << 24 | (uint32_t)bytes[1] << 16 | (uint32_t)bytes[2] << 8 |
           bytes[3];
}

/* ---- The response frame (PROTOCOL.md 5.2) ---- */

/* What a decoder fed msg[0..n) whole (set_body right at HEADER) must end with. */
struct frame_model {
    enum admin_decode_result result;
    enum admin_decode_error error;
    size_t consumed;
    uint32_t body_length;
};

static struct frame_model frame_model(const uint8_t *msg, size_t n)
{
    struct frame_model model = {ADMIN_DECODE_MORE, ADMIN_DECODE_ERROR_NONE, n, 0};
    if (n >= 1 && msg[0] != ADMIN_PROTOCOL_VERSION)
        return (struct frame_model){ADMIN_DECODE_ERROR, ADMIN_DECODE_ERROR_VERSION, 1, 0};
    if (n >= 2 && msg[1] != ADMIN_RESERVED)
        return (struct frame_model){ADMIN_DECODE_ERROR, ADMIN_DECODE_ERROR_RESERVED, 2, 0};
    if (n < ADMIN_RESPONSE_HEADER_SIZE)
        return model;
    model.body_length = read_u32(msg + 3);
    if (model.body_length > ADMIN_RESPONSE_BODY_MAX) {
        model.result = ADMIN_DECODE_ERROR;
        model.error = ADMIN_DECODE_ERROR_BODY_TOO_LARGE;
        model.consumed = ADMIN_RESPONSE_HEADER_SIZE;
        return model;
    }
    size_t end = ADMIN_RESPONSE_HEADER_SIZE + (size_t)model.body_length;
    if (model.body_length == 0 || n >= end) {
        model.result = ADMIN_DECODE_DONE;
        model.consumed = end;
    } else if (n == ADMIN_RESPONSE_HEADER_SIZE) {
        model.result = ADMIN_DECODE_HEADER;
    }
    return model;
}

/* Room for the body bytes that can arrive: the exact size when all of them can, so ASan sees
 * a write past body_length. */
static uint8_t *body_buffer_for(uint32_t body_length, size_t n)
{
    size_t available = n - ADMIN_RESPONSE_HEADER_SIZE;
    size_t size = body_length < available ? body_length : available;
    uint8_t *buffer = malloc(size ? size : 1);
    FUZZ_CHECK(buffer != NULL);
    return buffer;
}

struct decoded {
    enum admin_decode_result result;
    size_t consumed;
    uint8_t *buffer; /* ours to free; NULL when none was handed over */
    bool body_kept;  /* the decoder was given buffer */
};

/* Feeds msg whole: once up to HEADER, then (after set_body) the rest. */
static struct decoded decode_whole(struct admin_response_decoder *decoder, const uint8_t *msg,
                                   size_t n)
{
    struct decoded out = {ADMIN_DECODE_MORE, SIZE_MAX, NULL, false};
    admin_response_decoder_init(decoder);
    out.result = admin_response_decoder_feed(decoder, msg, n, &out.consumed);
    if (out.result != ADMIN_DECODE_HEADER)
        return out;
    FUZZ_CHECK(out.consumed == ADMIN_RESPONSE_HEADER_SIZE && decoder->body_length > 0);
    out.buffer = body_buffer_for(decoder->body_length, n);
    admin_response_decoder_set_body(decoder, out.buffer);
    out.body_kept = true;
    if (out.consumed == n)
        return out;
    size_t more = SIZE_MAX;
    out.result = admin_response_decoder_feed(decoder, msg + out.consumed, n - out.consumed, &more);
    FUZZ_CHECK(more <= n - out.consumed);
    out.consumed += more;
    return out;
}

static void check_whole_against_model(const struct decoded *whole,
                                      const struct admin_response_decoder *decoder,
                                      const uint8_t *msg, size_t n)
{
    struct frame_model model = frame_model(msg, n);
    FUZZ_CHECK(whole->result == model.result && whole->consumed == model.consumed);
    FUZZ_CHECK(decoder->error == model.error);
    if (n < ADMIN_RESPONSE_HEADER_SIZE || model.error != ADMIN_DECODE_ERROR_NONE)
        return;
    FUZZ_CHECK(decoder->status == msg[2] && decoder->body_length == model.body_length);
    size_t received = whole->consumed - ADMIN_RESPONSE_HEADER_SIZE;
    FUZZ_CHECK(decoder->body_received == received);
    if (whole->body_kept)
        FUZZ_CHECK(memcmp(whole->buffer, msg + ADMIN_RESPONSE_HEADER_SIZE, received) == 0);
}

/* Feeds msg in the plan's pieces, doing at HEADER what mode says. */
static struct decoded decode_in_pieces(struct admin_response_decoder *decoder,
                                       struct fuzz_plan *plan, enum body_mode mode,
                                       uint8_t *trap)
{
    const uint8_t *msg = plan->message;
    size_t n = plan->message_length, consumed;
    struct decoded out = {ADMIN_DECODE_MORE, 0, NULL, false};
    admin_response_decoder_init(decoder);
    /* Before HEADER no buffer can have been sized: set_body must be ignored. */
    admin_response_decoder_set_body(decoder, trap);
    FUZZ_CHECK(decoder->body == NULL);
    while (out.consumed < n &&
           (out.result == ADMIN_DECODE_MORE || out.result == ADMIN_DECODE_HEADER)) {
        if (out.result == ADMIN_DECODE_HEADER) {
            if (mode == BODY_BUFFER) {
                out.buffer = body_buffer_for(decoder->body_length, n);
                admin_response_decoder_set_body(decoder, out.buffer);
                out.body_kept = true;
            } else if (mode == BODY_NULL) {
                admin_response_decoder_set_body(decoder, NULL);
            }
            /* A second call is too late: the decoder is no longer waiting for a buffer. */
            if (mode != BODY_NEVER_SET)
                admin_response_decoder_set_body(decoder, trap);
            FUZZ_CHECK(decoder->body == (out.body_kept ? out.buffer : NULL));
        }
        size_t piece = fuzz_plan_next_piece(plan, n - out.consumed);
        if (piece == 0) {
            consumed = SIZE_MAX;
            FUZZ_CHECK(admin_response_decoder_feed(decoder, msg + out.consumed, 0, &consumed) ==
                       ADMIN_DECODE_MORE);
            FUZZ_CHECK(consumed == 0);
            piece = 1;
        }
        consumed = SIZE_MAX;
        out.result = admin_response_decoder_feed(decoder, msg + out.consumed, piece, &consumed);
        FUZZ_CHECK(consumed <= piece);
        FUZZ_CHECK(out.result != ADMIN_DECODE_MORE || consumed == piece);
        out.consumed += consumed;
        FUZZ_CHECK(out.result != ADMIN_DECODE_HEADER ||
                   out.consumed == ADMIN_RESPONSE_HEADER_SIZE);
    }
    return out;
}

/* ---- Escaping (PROTOCOL.md 8.3), modelled independently ---- */

static int model_hex(char digit)
{
    if (digit >= '0' && digit <= '9')
        return digit - '0';
    if (digit >= 'a' && digit <= 'f')
        return digit - 'a' + 10;
    if (digit >= 'A' && digit <= 'F')
        return digit - 'A' + 10;
    return -1;
}

/* Unescapes into out (room for length bytes); returns the length. A backslash that starts no
 * escape is kept, and what follows it is read on its own. */
static size_t model_unescape(const char *text, size_t length, char *out)
{
    size_t written = 0;
    for (size_t i = 0; i < length; i++) {
        char byte = text[i];
        if (byte == '\\' && i + 1 < length) {
            char next = text[i + 1];
            if (next == '\\' || next == 't' || next == 'n' || next == 'r') {
                byte = next == '\\' ? '\\' : next == 't' ? '\t' : next == 'n' ? '\n' : '\r';
                i++;
            } else if (next == 'x' && i + 3 < length && model_hex(text[i + 2]) >= 0 &&
                       model_hex(text[i + 3]) >= 0) {
                byte = (char)(model_hex(text[i + 2]) << 4 | model_hex(text[i + 3]));
                i += 3;
            }
        }
        out[written++] = byte;
    }
    return written;
}

/* Escaping then unescaping gives back the input; escaped text holds no line break, TAB or
 * control byte; a cut escape is a prefix cut between two escapes. */
static void check_escape_round_trip(const char *text, size_t length, const uint8_t *cuts,
                                    size_t cut_count)
{
    size_t escaped_length = admin_text_escape(text, length, NULL, 0);
    FUZZ_CHECK(escaped_length >= length && escaped_length <= 4 * length);
    char *escaped = malloc(escaped_length + 1);
    char *back = malloc(escaped_length + 1);
    FUZZ_CHECK(escaped != NULL && back != NULL);
    FUZZ_CHECK(admin_text_escape(text, length, escaped, escaped_length + 1) == escaped_length);
    FUZZ_CHECK(escaped[escaped_length] == '\0' && strlen(escaped) == escaped_length);
    for (size_t i = 0; i < escaped_length; i++) {
        unsigned char c = (unsigned char)escaped[i];
        FUZZ_CHECK(c >= 0x20 && c != 0x7F);
    }
    struct admin_span span = {escaped, escaped_length};
    FUZZ_CHECK(admin_text_unescape(span, back, escaped_length + 1) == length);
    FUZZ_CHECK(memcmp(back, text, length) == 0 && back[length] == '\0');

    for (size_t c = 0; c < cut_count; c++) {
        size_t capacity = (size_t)cuts[c] + 1;
        if (capacity > escaped_length + 1)
            continue;
        char cut[257];
        FUZZ_CHECK(admin_text_escape(text, length, cut, capacity) == escaped_length);
        size_t cut_length = strlen(cut);
        FUZZ_CHECK(cut_length < capacity && cut_length + 4 > capacity - 1);
        FUZZ_CHECK(memcmp(cut, escaped, cut_length) == 0);
        size_t prefix = admin_text_unescape((struct admin_span){cut, cut_length}, back,
                                            escaped_length + 1);
        FUZZ_CHECK(prefix <= length && memcmp(back, text, prefix) == 0);
        FUZZ_CHECK(admin_text_escape(text, prefix, NULL, 0) == cut_length);
    }
    free(escaped);
    free(back);
}

/* admin_text_unescape agrees with the model, and cuts its output without changing the total. */
static void check_unescape(struct admin_span span)
{
    char *want = malloc(span.length + 1), *got = malloc(span.length + 1);
    FUZZ_CHECK(want != NULL && got != NULL);
    size_t want_length = model_unescape(span.data, span.length, want);
    FUZZ_CHECK(admin_text_unescape(span, got, span.length + 1) == want_length);
    FUZZ_CHECK(memcmp(got, want, want_length) == 0 && got[want_length] == '\0');
    FUZZ_CHECK(admin_text_unescape(span, NULL, 0) == want_length);
    size_t capacity = want_length / 2 + 1;
    FUZZ_CHECK(admin_text_unescape(span, got, capacity) == want_length);
    FUZZ_CHECK(memcmp(got, want, capacity - 1) == 0 && got[capacity - 1] == '\0');
    free(want);
    free(got);
}

/* ---- Records and tables (PROTOCOL.md 8.1, 8.2), modelled independently ---- */

struct line_walk {
    const char *next, *end;
};

static bool walk_line(struct line_walk *walk, struct admin_span *line)
{
    if (walk->next >= walk->end)
        return false;
    const char *start = walk->next, *stop = start;
    while (stop < walk->end && *stop != '\n')
        stop++;
    *line = (struct admin_span){start, (size_t)(stop - start)};
    walk->next = stop < walk->end ? stop + 1 : stop;
    return true;
}

static bool span_has_nul(struct admin_span span)
{
    return memchr(span.data, 0, span.length) != NULL;
}

static bool spans_equal(struct admin_span a, struct admin_span b)
{
    return a.length == b.length && memcmp(a.data, b.data, a.length) == 0;
}

/* Lookups take C strings: only keys without NUL can be looked up. */
static void span_to_c(struct admin_span span, char *out, size_t capacity)
{
    size_t length = span.length < capacity - 1 ? span.length : capacity - 1;
    memcpy(out, span.data, length);
    out[length] = '\0';
}

static void check_value_readers(struct admin_span value)
{
    /* strtoull is the independent reader: digits only, 1..20 of them, no overflow. */
    uint64_t number = 0;
    bool digits = value.length > 0 && value.length <= 20;
    for (size_t i = 0; i < value.length && digits; i++)
        digits = value.data[i] >= '0' && value.data[i] <= '9';
    unsigned long long wide = 0;
    bool fits = false;
    if (digits) {
        char text[21];
        span_to_c(value, text, sizeof(text));
        errno = 0;
        wide = strtoull(text, NULL, 10);
        fits = errno == 0;
    }
    FUZZ_CHECK(admin_span_to_u64(value, &number) == fits);
    FUZZ_CHECK(!fits || number == wide);

    bool flag = false;
    bool is_bool = admin_span_equals(value, "yes") || admin_span_equals(value, "no");
    FUZZ_CHECK(admin_span_to_bool(value, &flag) == is_bool);
    FUZZ_CHECK(!is_bool || flag == (value.length == 3));

    int64_t unix_ms = -1;
    if (!admin_span_to_time(value, &unix_ms)) {
        return;
    }
    FUZZ_CHECK(value.length == 20 || value.length == 24);
    /* Years 1970..9999 format back to a time that reads as the same instant. */
    if (unix_ms >= 0 && unix_ms < INT64_C(253402300800000)) {
        char text[ADMIN_TIME_TEXT_SIZE];
        size_t length = admin_format_time(text, unix_ms);
        int64_t again = -1;
        FUZZ_CHECK(length == 24);
        FUZZ_CHECK(admin_span_to_time((struct admin_span){text, length}, &again));
        FUZZ_CHECK(again == unix_ms);
    }
}

#define MAX_RECORD_LINES 512

static void check_records(const char *body, size_t length)
{
    static struct admin_span keys[MAX_RECORD_LINES], values[MAX_RECORD_LINES];
    size_t count = 0;
    struct line_walk walk = {body, body + length};
    struct admin_span line;
    while (count < MAX_RECORD_LINES && walk_line(&walk, &line) && line.length > 0) {
        const char *colon = memchr(line.data, ':', line.length);
        if (colon == NULL || colon == line.data)
            continue;
        size_t key_length = (size_t)(colon - line.data), rest = line.length - key_length - 1;
        if (rest > 0 && colon[1] != ' ')
            continue;
        keys[count] = (struct admin_span){line.data, key_length};
        values[count] = rest > 0 ? (struct admin_span){colon + 2, rest - 1}
                                 : (struct admin_span){colon + 1, 0};
        count++;
    }

    struct admin_record_cursor cursor;
    admin_record_cursor_init(&cursor, body, length);
    struct admin_span key, value;
    for (size_t i = 0; i < count; i++) {
        FUZZ_CHECK(admin_record_cursor_next(&cursor, &key, &value));
        FUZZ_CHECK(key.data == keys[i].data && key.length == keys[i].length);
        FUZZ_CHECK(value.data == values[i].data && value.length == values[i].length);
        FUZZ_CHECK(value.data + value.length <= body + length);
    }
    if (count < MAX_RECORD_LINES) {
        FUZZ_CHECK(!admin_record_cursor_next(&cursor, &key, &value));
        FUZZ_CHECK(!admin_record_cursor_next(&cursor, &key, &value));
    }

    for (size_t i = 0; i < count && i < 64; i++) {
        check_value_readers(values[i]);
        check_unescape(values[i]);
        if (span_has_nul(keys[i]) || keys[i].length > 255)
            continue;
        char name[256];
        span_to_c(keys[i], name, sizeof(name));
        size_t first = 0;
        while (!spans_equal(keys[first], keys[i]))
            first++;
        struct admin_span found;
        FUZZ_CHECK(admin_record_find(body, length, name, &found));
        FUZZ_CHECK(found.data == values[first].data && found.length == values[first].length);

        uint64_t number, direct;
        bool got_number = admin_record_get_u64(body, length, name, &number);
        FUZZ_CHECK(got_number == admin_span_to_u64(found, &direct));
        FUZZ_CHECK(!got_number || number == direct);

        char text[64], want[64];
        size_t unescaped = admin_text_unescape(found, want, sizeof(want));
        FUZZ_CHECK(admin_record_get_text(body, length, name, text, sizeof(text)) ==
                   (unescaped < sizeof(text)));
        if (unescaped < sizeof(text))
            FUZZ_CHECK(memcmp(text, want, unescaped + 1) == 0);
    }
}

static size_t model_field_count(struct admin_span line)
{
    size_t count = 1;
    for (size_t i = 0; i < line.length; i++)
        count += line.data[i] == '\t';
    return count;
}

/* The fields of row, rejoined with TABs, are the row; there are exactly field_count of them. */
static void check_row_fields(const struct admin_row *row)
{
    size_t count = admin_row_field_count(row);
    FUZZ_CHECK(count == model_field_count(row->line));
    const char *expect = row->line.data;
    struct admin_span field;
    for (size_t i = 0; i < count; i++) {
        FUZZ_CHECK(admin_row_field(row, i, &field));
        FUZZ_CHECK(field.data == expect && memchr(field.data, '\t', field.length) == NULL);
        expect = field.data + field.length;
        FUZZ_CHECK(i + 1 == count ? expect == row->line.data + row->line.length : *expect == '\t');
        expect++;
    }
    FUZZ_CHECK(!admin_row_field(row, count, &field));
}

static void check_table(const char *body, size_t length)
{
    struct line_walk walk = {body, body + length};
    struct admin_span line, header = {NULL, 0};
    bool has_table = false;
    while (walk_line(&walk, &line)) {
        if (line.length != 0)
            continue;
        has_table = walk_line(&walk, &header) && header.length > 0;
        break;
    }
    struct admin_table table;
    FUZZ_CHECK(admin_table_open(&table, body, length) == has_table);
    if (!has_table)
        return;
    FUZZ_CHECK(table.header.data == header.data && table.header.length == header.length);
    FUZZ_CHECK(table.column_count == model_field_count(header));
    struct admin_row header_row = {header};
    check_row_fields(&header_row);

    /* Columns are found by name: the first of that name wins. */
    for (size_t i = 0; i < table.column_count && i < 64; i++) {
        struct admin_span name;
        FUZZ_CHECK(admin_table_column_name(&table, i, &name));
        if (span_has_nul(name) || name.length > 255)
            continue;
        char text[256];
        span_to_c(name, text, sizeof(text));
        long found = admin_table_column(&table, text);
        FUZZ_CHECK(found >= 0 && (size_t)found <= i);
        struct admin_span other;
        FUZZ_CHECK(admin_table_column_name(&table, (size_t)found, &other));
        FUZZ_CHECK(spans_equal(other, name));
    }
    struct admin_span past;
    FUZZ_CHECK(!admin_table_column_name(&table, table.column_count, &past));

    /* Rows: the lines after the header up to an empty line or the end. */
    struct admin_row row;
    size_t rows = 0;
    while (walk_line(&walk, &line) && line.length > 0) {
        FUZZ_CHECK(admin_table_next_row(&table, &row));
        FUZZ_CHECK(row.line.data == line.data && row.line.length == line.length);
        if (rows++ < 64)
            check_row_fields(&row);
    }
    FUZZ_CHECK(!admin_table_next_row(&table, &row));
    FUZZ_CHECK(!admin_table_next_row(&table, &row));
}

/* ---- Error responses: encoded, then read back ---- */

static void check_error_response(const uint8_t *msg, size_t n)
{
    char message[1024];
    size_t length = n < sizeof(message) - 1 ? n : sizeof(message) - 1;
    memcpy(message, msg, length);
    message[length] = '\0';
    length = strlen(message);
    uint8_t status = n > 0 ? msg[n - 1] : 0;

    uint8_t frame[ADMIN_ERROR_FRAME_MAX];
    size_t frame_length = admin_error_response_encode(frame, status, message);
    FUZZ_CHECK(frame_length > ADMIN_RESPONSE_HEADER_SIZE && frame_length <= sizeof(frame));

    struct admin_response_decoder decoder;
    struct decoded read = decode_whole(&decoder, frame, frame_length);
    FUZZ_CHECK(read.result == ADMIN_DECODE_DONE && read.consumed == frame_length);
    FUZZ_CHECK(decoder.status == status && read.body_kept);
    size_t body_length = decoder.body_length;
    FUZZ_CHECK(body_length == frame_length - ADMIN_RESPONSE_HEADER_SIZE);
    FUZZ_CHECK(body_length <= ADMIN_ERROR_BODY_MAX);
    const char *line = (const char *)read.buffer;
    FUZZ_CHECK(line[body_length - 1] == '\n' && memchr(line, '\n', body_length - 1) == NULL);

    char back[ADMIN_ERROR_BODY_MAX + 1];
    size_t back_length =
        admin_text_unescape((struct admin_span){line, body_length - 1}, back, sizeof(back));
    FUZZ_CHECK(back_length <= length && memcmp(back, message, back_length) == 0);
    if (admin_text_escape(message, length, NULL, 0) + 1 <= ADMIN_ERROR_BODY_MAX)
        FUZZ_CHECK(back_length == length);
    free(read.buffer);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_plan plan = fuzz_plan_from_input(data, size);
    const uint8_t *msg = plan.message;
    size_t n = plan.message_length;
    enum body_mode mode = body_mode_from_input(data, size);
    struct admin_response_decoder whole_decoder, pieces_decoder;
    uint8_t *trap = malloc(1);
    FUZZ_CHECK(trap != NULL);
    *trap = 0x5A;

    struct decoded whole = decode_whole(&whole_decoder, msg, n);
    check_whole_against_model(&whole, &whole_decoder, msg, n);

    struct decoded pieces = decode_in_pieces(&pieces_decoder, &plan, mode, trap);
    FUZZ_CHECK(pieces.result == whole.result && pieces.consumed == whole.consumed);
    FUZZ_CHECK(pieces_decoder.error == whole_decoder.error);
    FUZZ_CHECK(pieces_decoder.status == whole_decoder.status &&
               pieces_decoder.body_length == whole_decoder.body_length &&
               pieces_decoder.body_received == whole_decoder.body_received);
    if (pieces.body_kept)
        FUZZ_CHECK(memcmp(pieces.buffer, whole.buffer, pieces_decoder.body_received) == 0);

    /* DONE and ERROR are final: nothing more is taken and nothing changes. */
    if (pieces.result == ADMIN_DECODE_DONE || pieces.result == ADMIN_DECODE_ERROR) {
        size_t consumed = SIZE_MAX;
        admin_response_decoder_set_body(&pieces_decoder, trap);
        FUZZ_CHECK(admin_response_decoder_feed(&pieces_decoder, msg, n, &consumed) ==
                   pieces.result);
        FUZZ_CHECK(consumed == 0 && pieces_decoder.error == whole_decoder.error);
        FUZZ_CHECK(pieces_decoder.body_received == whole_decoder.body_received);
        FUZZ_CHECK(pieces_decoder.body == (pieces.body_kept ? pieces.buffer : NULL));
    }
    FUZZ_CHECK(*trap == 0x5A);

    /* The text readers run on the decoded body when there is one, else on the message. */
    const char *text = (const char *)msg;
    size_t text_length = n;
    if (pieces.result == ADMIN_DECODE_DONE && pieces.body_kept) {
        text = (const char *)pieces.buffer;
        text_length = pieces_decoder.body_length;
    }
    check_escape_round_trip(text, text_length, plan.sizes, plan.size_count);
    check_unescape((struct admin_span){text, text_length});
    check_records(text, text_length);
    check_table(text, text_length);
    check_error_response(msg, n);

    free(whole.buffer);
    free(pieces.buffer);
    free(trap);
    return 0;
}
