/* screen_text: text made to fit terminal columns — cut with a mark, padded, what the terminal
 * cannot show replaced — and a line assembled from fields of fixed widths. No terminal needed. */
#include "screen_text.h"

#include <stdint.h>
#include <string.h>
#include <wchar.h>

/* One character of text: how many bytes it takes, and how it shows. A character the terminal
 * cannot show is replaced by '?' (replaced is then true). */
struct text_char {
    size_t bytes;
    int width;
    bool replaced;
};

static size_t utf8_decode(const unsigned char *s, uint32_t *code_point)
{
    unsigned char first = s[0];
    size_t length;
    uint32_t value;
    if (first < 0x80) {
        *code_point = first;
        return 1;
    }
    if (first >= 0xC2 && first <= 0xDF) {
        length = 2;
        value = first & 0x1F;
    } else if (first >= 0xE0 && first <= 0xEF) {
        length = 3;
        value = first & 0x0F;
    } else if (first >= 0xF0 && first <= 0xF4) {
        length = 4;
        value = first & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < length; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        value = (value << 6) | (s[i] & 0x3F);
    }
    static const uint32_t smallest[] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (value < smallest[length] || value > 0x10FFFF || (value >= 0xD800 && value <= 0xDFFF))
        return 0;
    *code_point = value;
    return length;
}

static struct text_char next_char(const char *text, bool utf8)
{
    const unsigned char *s = (const unsigned char *)text;
    struct text_char result = { 1, 1, true };
    if (s[0] >= 0x20 && s[0] < 0x7F) {
        result.replaced = false;
        return result;
    }
    if (s[0] < 0x80 || !utf8)
        return result;
    uint32_t code_point;
    size_t length = utf8_decode(s, &code_point);
    if (length == 0)
        return result;
    result.bytes = length;
    int width = wcwidth((wchar_t)code_point);
    if (width < 0)
        return result; /* not printable here: one '?' for the whole sequence */
    result.width = width;
    result.replaced = false;
    return result;
}

static int text_width(const char *text, bool utf8)
{
    int width = 0;
    while (*text != '\0') {
        struct text_char c = next_char(text, utf8);
        width += c.width;
        text += c.bytes;
    }
    return width;
}

static void append(char *out, size_t size, size_t *used, const char *bytes, size_t length)
{
    if (*used + length >= size)
        return;
    memcpy(out + *used, bytes, length);
    *used += length;
}

int text_fit(const char *text, int columns, bool pad, bool utf8, char *out, size_t size)
{
    if (size == 0)
        return 0;
    size_t used = 0;
    int column = 0;
    if (columns < 0)
        columns = 0;
    bool cut = text_width(text, utf8) > columns;
    int budget = cut ? columns - 1 : columns;
    while (*text != '\0') {
        struct text_char c = next_char(text, utf8);
        if (column + c.width > budget)
            break;
        size_t before = used;
        append(out, size, &used, c.replaced ? "?" : text, c.replaced ? 1 : c.bytes);
        if (used == before)
            break; /* out is full */
        column += c.width;
        text += c.bytes;
    }
    if (cut && columns > 0) {
        size_t before = used;
        append(out, size, &used, utf8 ? "\xE2\x80\xA6" : "~", utf8 ? 3 : 1);
        if (used != before)
            column++;
    }
    while (pad && column < columns && used + 1 < size) {
        out[used++] = ' ';
        column++;
    }
    out[used] = '\0';
    return column;
}

void text_row_begin(struct text_row *row, const struct screen_style *style, char *out, size_t size)
{
    *row = (struct text_row){ out, size, 0, 0, style };
    if (size > 0)
        out[0] = '\0';
}

void text_row_put(struct text_row *row, int gap, const char *text, int columns, bool right)
{
    int room = row->style->width - row->column;
    if (room <= 0)
        return;
    if (gap > room)
        gap = room;
    char field[SCREEN_LINE_SIZE];
    int width = columns + gap <= room ? columns : room - gap;
    int written = text_fit(text, width, false, row->style->utf8, field, sizeof(field));
    int padding = width - written;
    int before = gap + (right ? padding : 0);
    int after = right ? 0 : padding;
    for (int i = 0; i < before; i++)
        append(row->out, row->size, &row->used, " ", 1);
    append(row->out, row->size, &row->used, field, strlen(field));
    for (int i = 0; i < after; i++)
        append(row->out, row->size, &row->used, " ", 1);
    row->column += gap + width;
    row->out[row->used] = '\0';
}

void text_row_end(struct text_row *row)
{
    text_row_put(row, 0, "", row->style->width - row->column, false);
}
