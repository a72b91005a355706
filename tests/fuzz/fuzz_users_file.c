/* fuzz_users_file: libFuzzer harness for the users file parser — it must agree with an
 * independent reading of the "name:role:crypt-hash[:limits]" format, and what it reads writes
 * back. The limits field's own grammar is fuzz_user_limits' subject: here it is what
 * user_limits_parse accepts. */
#include "fuzz_feed.h"
#include "users_file.h"

#include <stdbool.h>
#include <string.h>

/* The input is the whole file (no piece plan: the parser takes the file at once). */

struct model_entry {
    const char *name, *hash;
    size_t name_length, hash_length;
    enum user_role role;
    struct user_limits limits;
};

struct model {
    bool ok;
    size_t bad_line; /* 0 when the failure is about the whole file */
    size_t count;
    struct model_entry *entries;
};

/* What socks5d accepts as a crypt(3) hash: "$...", 4+ printable bytes, no space and no ':'. */
static bool model_hash_valid(const char *hash, size_t length)
{
    if (length < 4 || hash[0] != '$')
        return false;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)hash[i];
        if (c <= ' ' || c >= 0x7f || c == ':')
            return false;
    }
    return true;
}

static bool model_line(const char *line, size_t length, struct model_entry *entry)
{
    const char *first = memchr(line, ':', length);
    if (first == NULL)
        return false;
    const char *role = first + 1;
    const char *second = memchr(role, ':', length - (size_t)(role - line));
    if (second == NULL)
        return false;
    size_t role_length = (size_t)(second - role);
    entry->name = line;
    entry->name_length = (size_t)(first - line);
    entry->hash = second + 1;
    entry->hash_length = length - (size_t)(entry->hash - line);
    entry->limits = user_limits_unset();
    const char *third = memchr(entry->hash, ':', entry->hash_length);
    if (third != NULL) {
        char error[160];
        entry->hash_length = (size_t)(third - entry->hash);
        if (!user_limits_parse(third + 1, length - (size_t)(third + 1 - line), false,
                               &entry->limits, error, sizeof(error)))
            return false;
    }
    if (role_length == 5 && memcmp(role, "admin", 5) == 0)
        entry->role = USER_ROLE_ADMIN;
    else if (role_length == 4 && memcmp(role, "user", 4) == 0)
        entry->role = USER_ROLE_USER;
    else
        return false;
    return users_name_valid(entry->name, entry->name_length) &&
           model_hash_valid(entry->hash, entry->hash_length);
}

static bool model_name_seen(const struct model *model, const struct model_entry *entry)
{
    for (size_t i = 0; i < model->count; i++)
        if (model->entries[i].name_length == entry->name_length &&
            memcmp(model->entries[i].name, entry->name, entry->name_length) == 0)
            return true;
    return false;
}

static struct model model_parse(const char *text, size_t length)
{
    struct model model = {false, 0, 0, NULL};
    if (memchr(text, '\0', length) != NULL)
        return model;
    if (length > 0 && text[length - 1] != '\n') {
        model.bad_line = 1;
        for (size_t i = 0; i < length; i++)
            model.bad_line += text[i] == '\n';
        return model;
    }
    /* Every line could be an entry: one allocation is enough. */
    model.entries = malloc((length / 2 + 1) * sizeof(*model.entries));
    FUZZ_CHECK(model.entries != NULL);
    size_t line_number = 0;
    for (const char *line = text, *end = text + length; line < end;) {
        const char *newline = memchr(line, '\n', (size_t)(end - line));
        size_t line_length = (size_t)(newline - line);
        const char *next = newline + 1;
        line_number++;
        if (line_length > 0 && line[line_length - 1] == '\r')
            line_length--;
        if (line_length > 0 && line[0] != '#') {
            struct model_entry *entry = &model.entries[model.count];
            if (!model_line(line, line_length, entry) || model_name_seen(&model, entry)) {
                model.bad_line = line_number;
                return model;
            }
            model.count++;
        }
        line = next;
    }
    model.ok = true;
    return model;
}

static void check_entry(const struct users_file_entry *entry, const struct model_entry *want)
{
    FUZZ_CHECK(entry->name != NULL && entry->hash != NULL);
    FUZZ_CHECK(strlen(entry->name) == want->name_length &&
               memcmp(entry->name, want->name, want->name_length) == 0);
    FUZZ_CHECK(strlen(entry->hash) == want->hash_length &&
               memcmp(entry->hash, want->hash, want->hash_length) == 0);
    FUZZ_CHECK(entry->role == want->role);
    FUZZ_CHECK(user_limits_equal(&entry->limits, &want->limits));
    /* What the server relies on when it adds these users and writes the file back. */
    FUZZ_CHECK(users_name_valid(entry->name, strlen(entry->name)));
    FUZZ_CHECK(strchr(entry->hash, ':') == NULL && strchr(entry->hash, '\n') == NULL);
}

/* Writes contents the way users_file_write does, and reads it again: the same entries. */
static void check_write_back(const struct users_file_contents *contents)
{
    size_t size = 128;
    for (size_t i = 0; i < contents->count; i++)
        size += strlen(contents->entries[i].name) + strlen(contents->entries[i].hash) + 8 +
                USER_LIMITS_TEXT_MAX;
    char *text = malloc(size);
    FUZZ_CHECK(text != NULL);
    size_t length = (size_t)snprintf(text, size, "# socks5d users: name:role:crypt(3) hash.\n");
    for (size_t i = 0; i < contents->count; i++) {
        const struct users_file_entry *entry = &contents->entries[i];
        char limits[USER_LIMITS_TEXT_MAX];
        FUZZ_CHECK(user_limits_format(&entry->limits, limits, sizeof(limits)) < sizeof(limits));
        length += (size_t)snprintf(text + length, size - length, "%s:%s:%s%s%s\n", entry->name,
                                   entry->role == USER_ROLE_ADMIN ? "admin" : "user", entry->hash,
                                   limits[0] != '\0' ? ":" : "", limits);
    }
    FUZZ_CHECK(length < size);

    struct users_file_contents again;
    char error[256] = "";
    FUZZ_CHECK(users_file_parse(text, length, &again, error, sizeof(error)));
    FUZZ_CHECK(again.count == contents->count);
    for (size_t i = 0; i < again.count; i++) {
        FUZZ_CHECK(strcmp(again.entries[i].name, contents->entries[i].name) == 0);
        FUZZ_CHECK(strcmp(again.entries[i].hash, contents->entries[i].hash) == 0);
        FUZZ_CHECK(again.entries[i].role == contents->entries[i].role);
        FUZZ_CHECK(user_limits_equal(&again.entries[i].limits, &contents->entries[i].limits));
    }
    users_file_contents_free(&again);
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct model model = model_parse(text, size);
    struct users_file_contents contents;
    char error[256];
    memset(error, 0x5A, sizeof(error));

    bool parsed = users_file_parse(text, size, &contents, error, sizeof(error));
    FUZZ_CHECK(parsed == model.ok);
    if (!parsed) {
        FUZZ_CHECK(contents.entries == NULL && contents.count == 0);
        FUZZ_CHECK(memchr(error, '\0', sizeof(error)) != NULL && error[0] != '\0');
        /* A failure about one line names that line. */
        if (model.bad_line != 0) {
            char prefix[32];
            int length = snprintf(prefix, sizeof(prefix), "line %zu: ", model.bad_line);
            FUZZ_CHECK(strncmp(error, prefix, (size_t)length) == 0);
        }
        free(model.entries);
        return 0;
    }
    FUZZ_CHECK(contents.count == model.count);
    FUZZ_CHECK(contents.count == 0 || contents.entries != NULL);
    for (size_t i = 0; i < contents.count; i++) {
        check_entry(&contents.entries[i], &model.entries[i]);
        for (size_t j = 0; j < i; j++)
            FUZZ_CHECK(strcmp(contents.entries[i].name, contents.entries[j].name) != 0);
    }
    check_write_back(&contents);
    users_file_contents_free(&contents);
    FUZZ_CHECK(contents.entries == NULL && contents.count == 0);
    free(model.entries);
    return 0;
}
