/* handover_message: the messages of an upgrade's hand-over (a new socks5d taking the running
 * one's listening sockets over its upgrade socket) — formatted and parsed, no I/O. */
#include "handover_message.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Nine digits: every bound fits, and no overflow is possible while reading. */
#define NUMBER_DIGITS_MAX 9
#define NUMBER_MAX 999999999ul

static const char *const kind_names[HANDOVER_KIND_COUNT] = {
#define HANDOVER_KIND_NAME(name, text) [HANDOVER_##name] = text,
    HANDOVER_KINDS(HANDOVER_KIND_NAME)
#undef HANDOVER_KIND_NAME
};

const char *handover_kind_name(enum handover_kind kind)
{
    return (unsigned)kind < HANDOVER_KIND_COUNT ? kind_names[kind] : "?";
}

/* A text the far side reads as one field: not empty, no control character (which covers the
 * line's end and NUL), within its limit. */
static bool text_valid(const char *text, size_t length, size_t max)
{
    if (length == 0 || length > max)
        return false;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c < ' ' || c == 0x7f)
            return false;
    }
    return true;
}

struct writer {
    char *out;
    size_t size;
    size_t length;
    bool failed;
};

static void put(struct writer *writer, const char *format, ...) __attribute__((format(printf, 2, 3)));

static void put(struct writer *writer, const char *format, ...)
{
    if (writer->failed)
        return;
    va_list arguments;
    va_start(arguments, format);
    int written = vsnprintf(writer->out + writer->length, writer->size - writer->length, format,
                            arguments);
    va_end(arguments);
    if (written < 0 || (size_t)written >= writer->size - writer->length)
        writer->failed = true;
    else
        writer->length += (size_t)written;
}

size_t handover_message_format(const struct handover_message *message, char *out, size_t size)
{
    struct writer writer = { out, size > HANDOVER_MESSAGE_MAX ? HANDOVER_MESSAGE_MAX : size, 0,
                             size == 0 };
    switch (message->type) {
    case HANDOVER_HELLO:
        writer.failed |= message->number > NUMBER_MAX;
        put(&writer, "take-over %lu\n", message->number);
        break;
    case HANDOVER_LISTENERS:
        writer.failed |= message->listener_count == 0 ||
                         message->listener_count > HANDOVER_BATCH_MAX;
        put(&writer, "listeners\n");
        for (size_t i = 0; i < message->listener_count && !writer.failed; i++) {
            const struct handover_listener *listener = &message->listeners[i];
            writer.failed |= (unsigned)listener->kind >= HANDOVER_KIND_COUNT ||
                             !text_valid(listener->address, strlen(listener->address),
                                         HANDOVER_ADDRESS_MAX);
            put(&writer, "%s %s\n", handover_kind_name(listener->kind), listener->address);
        }
        break;
    case HANDOVER_END:
        writer.failed |= message->number > HANDOVER_TOTAL_MAX || message->second > NUMBER_MAX;
        put(&writer, "end %lu %lu\n", message->number, message->second);
        break;
    case HANDOVER_STARTED:
        put(&writer, "started\n");
        break;
    case HANDOVER_STOPPING:
        writer.failed |= message->number > NUMBER_MAX || message->second > NUMBER_MAX;
        put(&writer, "stopping %lu %lu\n", message->number, message->second);
        break;
    case HANDOVER_REFUSED:
        writer.failed |= !text_valid(message->reason, strlen(message->reason),
                                     HANDOVER_REASON_MAX);
        put(&writer, "refused %s\n", message->reason);
        break;
    default:
        writer.failed = true;
    }
    return writer.failed ? 0 : writer.length;
}

/* ---- parsing: a cursor over the packet, one line at a time ---- */

struct reader {
    const char *data;
    size_t length;
    size_t position;
};

/* The next line, without its '\n'; false when none is left or the last is unterminated. */
static bool next_line(struct reader *reader, const char **line, size_t *length)
{
    if (reader->position >= reader->length)
        return false;
    const char *start = reader->data + reader->position;
    const char *end = memchr(start, '\n', reader->length - reader->position);
    if (end == NULL)
        return false;
    *line = start;
    *length = (size_t)(end - start);
    reader->position += *length + 1;
    return true;
}

/* Canonical decimal: digits only, no leading zero but for "0" itself, at most max. */
static bool parse_number(const char *text, size_t length, unsigned long max,
                         unsigned long *value)
{
    if (length == 0 || length > NUMBER_DIGITS_MAX || (text[0] == '0' && length > 1))
        return false;
    unsigned long number = 0;
    for (size_t i = 0; i < length; i++) {
        if (text[i] < '0' || text[i] > '9')
            return false;
        number = number * 10 + (unsigned long)(text[i] - '0');
    }
    if (number > max)
        return false;
    *value = number;
    return true;
}

/* "word" alone, or "word ARGUMENT": the argument's start and length (0 when alone). */
static bool split_word(const char *line, size_t length, const char *word, const char **argument,
                       size_t *argument_length)
{
    size_t word_length = strlen(word);
    if (length < word_length || memcmp(line, word, word_length) != 0)
        return false;
    if (length == word_length) {
        *argument = line + length;
        *argument_length = 0;
        return true;
    }
    if (line[word_length] != ' ')
        return false;
    *argument = line + word_length + 1;
    *argument_length = length - word_length - 1;
    return true;
}

static bool parse_listener(const char *line, size_t length, struct handover_listener *listener)
{
    for (unsigned kind = 0; kind < HANDOVER_KIND_COUNT; kind++) {
        const char *address;
        size_t address_length;
        if (!split_word(line, length, kind_names[kind], &address, &address_length))
            continue;
        if (!text_valid(address, address_length, HANDOVER_ADDRESS_MAX))
            return false;
        listener->kind = (enum handover_kind)kind;
        memcpy(listener->address, address, address_length);
        listener->address[address_length] = '\0';
        return true;
    }
    return false;
}

/* "FIRST SECOND", FIRST at most first_max. */
static bool parse_pair(const char *argument, size_t length, unsigned long first_max,
                       struct handover_message *message)
{
    const char *space = memchr(argument, ' ', length);
    if (space == NULL)
        return false;
    size_t first = (size_t)(space - argument);
    return parse_number(argument, first, first_max, &message->number) &&
           parse_number(space + 1, length - first - 1, NUMBER_MAX, &message->second);
}

bool handover_message_parse(const char *data, size_t length, struct handover_message *message)
{
    memset(message, 0, sizeof(*message));
    if (length > HANDOVER_MESSAGE_MAX)
        return false;
    struct reader reader = { data, length, 0 };
    const char *line;
    size_t line_length;
    if (!next_line(&reader, &line, &line_length))
        return false;
    const char *argument;
    size_t argument_length;
    bool good;
    if (split_word(line, line_length, "take-over", &argument, &argument_length)) {
        message->type = HANDOVER_HELLO;
        good = parse_number(argument, argument_length, NUMBER_MAX, &message->number);
    } else if (split_word(line, line_length, "end", &argument, &argument_length)) {
        message->type = HANDOVER_END;
        good = parse_pair(argument, argument_length, HANDOVER_TOTAL_MAX, message);
    } else if (split_word(line, line_length, "stopping", &argument, &argument_length)) {
        message->type = HANDOVER_STOPPING;
        good = parse_pair(argument, argument_length, NUMBER_MAX, message);
    } else if (split_word(line, line_length, "refused", &argument, &argument_length)) {
        message->type = HANDOVER_REFUSED;
        good = text_valid(argument, argument_length, HANDOVER_REASON_MAX);
        if (good) {
            memcpy(message->reason, argument, argument_length);
            message->reason[argument_length] = '\0';
        }
    } else if (line_length == strlen("started") && memcmp(line, "started", line_length) == 0) {
        message->type = HANDOVER_STARTED;
        good = true;
    } else if (line_length == strlen("listeners") && memcmp(line, "listeners", line_length) == 0) {
        message->type = HANDOVER_LISTENERS;
        while (next_line(&reader, &line, &line_length)) {
            if (message->listener_count == HANDOVER_BATCH_MAX ||
                !parse_listener(line, line_length,
                                &message->listeners[message->listener_count]))
                return false;
            message->listener_count++;
        }
        good = message->listener_count > 0;
    } else {
        return false;
    }
    /* Nothing may follow: a packet is exactly one message. */
    return good && reader.position == length;
}
