/* fuzz_fleet_merge: libFuzzer harness for the merge of several servers' answers — whatever the
 * servers send, the merged body is a table whose every row has its header's fields. */
#include "admin_text.h"
#include "fleet_merge.h"
#include "fuzz_feed.h"

#include <string.h>

#define SERVERS 3
#define SEPARATOR 0xFF /* ends one server's body in the input */

/* Input: byte 0 is the result kind (low 2 bits, mod 3) and which servers answered OK (bits
 * 2-4); then the servers' bodies, separated by 0xFF. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    enum admin_body_kind kind = (enum admin_body_kind)((data[0] & 3u) % 3u);
    struct fleet_answer answers[SERVERS];
    char *bodies[SERVERS];
    size_t at = 1, ok_count = 0;
    for (size_t i = 0; i < SERVERS; i++) {
        const uint8_t *end = at < size ? memchr(data + at, SEPARATOR, size - at) : NULL;
        size_t length = at < size ? (end != NULL ? (size_t)(end - (data + at)) : size - at) : 0;
        /* Exact-size copies, so ASan sees any read past a body's end. */
        bodies[i] = malloc(length > 0 ? length : 1);
        FUZZ_CHECK(bodies[i] != NULL);
        if (length > 0)
            memcpy(bodies[i], data + at, length);
        at += length + 1;
        bool ok = (data[0] >> (2 + i)) & 1u;
        ok_count += ok;
        answers[i] = (struct fleet_answer){.server = i == 0 ? "a:1" : i == 1 ? "[::1]:2" : "c:3",
                                           .ok = ok, .body = bodies[i], .length = length,
                                           .error = "why"};
    }
    struct admin_text text;
    admin_text_init(&text, 0, 1u << 24);
    bool merged = fleet_merge(kind, answers, SERVERS, &text);
    FUZZ_CHECK(merged == (kind == ADMIN_BODY_EMPTY || ok_count > 0));
    if (merged) {
        struct admin_table table;
        FUZZ_CHECK(admin_table_open(&table, admin_text_body(&text), admin_text_body_length(&text)));
        struct admin_span first;
        FUZZ_CHECK(admin_table_column_name(&table, 0, &first));
        FUZZ_CHECK(admin_span_equals(first, FLEET_MERGE_SERVER));
        struct admin_row row;
        size_t rows = 0;
        while (admin_table_next_row(&table, &row)) {
            FUZZ_CHECK(admin_row_field_count(&row) == table.column_count);
            rows++;
        }
        if (kind == ADMIN_BODY_EMPTY)
            FUZZ_CHECK(rows == SERVERS);
        if (kind == ADMIN_BODY_RECORD)
            FUZZ_CHECK(rows == ok_count || rows == ok_count + 1);
    }
    admin_text_free(&text);
    for (size_t i = 0; i < SERVERS; i++)
        free(bodies[i]);
    return 0;
}
