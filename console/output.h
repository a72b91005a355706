/* output: how socks5ctl prints a response body — aligned records and tables with human units
 * for people, TSV and JSON Lines for scripts — read with the admin_text.h parsers. */
#ifndef OUTPUT_H
#define OUTPUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The forms a command's result can be printed in (socks5ctl -o). */
enum console_format { CONSOLE_FORMAT_TABLE, CONSOLE_FORMAT_TSV, CONSOLE_FORMAT_JSON };

/* Prints the body of a successful response to command.
 * TABLE: the record part as aligned "key: value" lines, exact numbers with human units in
 *        parentheses; an empty line; the table with aligned columns, numbers right-aligned,
 *        byte and duration columns in human units. Values stay escaped (terminal-safe).
 * TSV:   a table exactly as sent (header line + rows, fields escaped, so no TAB or LF inside
 *        one) without its record part; a record as a "key<TAB>value" header and one line per key.
 * JSON:  one object on one line: {"command":..., "record":{...}, "rows":[{...}, ...]};
 *        numbers as numbers, "-" in a number field as null, text unescaped. */
void output_result(FILE *out, enum console_format format, const char *command,
                   const char *body, size_t length);

/* "512 B", "47.1 KiB", "9.5 MiB", "1.0 GiB" (powers of 1024). */
void output_format_bytes(uint64_t bytes, char *out, size_t size);
/* "850 ms", "12.3 s", "5m07s", "3h04m", "2d03h". */
void output_format_duration_ms(uint64_t milliseconds, char *out, size_t size);

/* Writes text as a JSON string (quotes included); bytes that are not UTF-8 become U+FFFD. */
void output_json_string(FILE *out, const char *text, size_t length);

#endif
