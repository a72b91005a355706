/* users_file: the users table on disk — one "name:role:crypt-hash[:limits]" line per user —
 * read with errors that name the line, and written atomically (temp, fsync, rename, fsync dir). */
#include "users_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define USERS_FILE_MAX_BYTES (64u * 1024 * 1024)

static bool fail(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail(char *error, size_t error_size, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, error_size, format, arguments);
    va_end(arguments);
    return false;
}

void users_file_contents_free(struct users_file_contents *contents)
{
    for (size_t i = 0; i < contents->count; i++) {
        free(contents->entries[i].name);
        free(contents->entries[i].hash);
    }
    free(contents->entries);
    contents->entries = NULL;
    contents->count = 0;
}

/* A crypt(3) hash as libcrypt writes it: "$id$...", printable, no ':' or spaces. */
static bool hash_looks_valid(const char *hash, size_t length)
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

static bool parse_line(const char *line, size_t length, struct users_file_entry *entry,
                       char *problem, size_t problem_size)
{
    const char *first = memchr(line, ':', length);
    const char *second = first ? memchr(first + 1, ':', length - (size_t)(first + 1 - line)) : NULL;
    if (second == NULL)
        return fail(problem, problem_size, "expected name:role:hash[:limits]");
    size_t name_length = (size_t)(first - line);
    size_t role_length = (size_t)(second - first - 1);
    const char *hash = second + 1;
    size_t hash_length = length - (size_t)(hash - line);
    const char *third = memchr(hash, ':', hash_length); /* a hash never holds ':' */
    entry->limits = user_limits_unset();
    if (third != NULL) {
        hash_length = (size_t)(third - hash);
        char why[96];
        if (!user_limits_parse(third + 1, length - (size_t)(third + 1 - line), false,
                               &entry->limits, why, sizeof(why)))
            return fail(problem, problem_size, "limits: %s", why);
    }
    if (!users_name_valid(line, name_length))
        return fail(problem, problem_size, "invalid user name");
    if (role_length == 5 && memcmp(first + 1, "admin", 5) == 0)
        entry->role = USER_ROLE_ADMIN;
    else if (role_length == 4 && memcmp(first + 1, "user", 4) == 0)
        entry->role = USER_ROLE_USER;
    else
        return fail(problem, problem_size, "role must be 'admin' or 'user'");
    if (!hash_looks_valid(hash, hash_length))
        return fail(problem, problem_size, "not a crypt(3) password hash");
    entry->name = strndup(line, name_length);
    entry->hash = strndup(hash, hash_length);
    if (entry->name == NULL || entry->hash == NULL) {
        free(entry->name);
        free(entry->hash);
        return fail(problem, problem_size, "out of memory");
    }
    return true;
}

static bool name_seen(const struct users_file_contents *contents, const char *name)
{
    for (size_t i = 0; i < contents->count; i++) {
        if (strcmp(contents->entries[i].name, name) == 0)
            return true;
    }
    return false;
}

bool users_file_parse(const char *text, size_t length, struct users_file_contents *contents,
                      char *error, size_t error_size)
{
    contents->entries = NULL;
    contents->count = 0;
    size_t capacity = 0, line_number = 0, offset = 0;
    if (memchr(text, '\0', length) != NULL)
        return fail(error, error_size, "holds a NUL byte (not a text file)");
    if (length > 0 && text[length - 1] != '\n') {
        size_t last_line = 1;
        for (size_t i = 0; i < length; i++)
            last_line += text[i] == '\n';
        return fail(error, error_size, "line %zu: truncated (no final newline)", last_line);
    }
    while (offset < length) {
        const char *line = text + offset;
        const char *newline = memchr(line, '\n', length - offset);
        size_t line_length = (size_t)(newline - line);
        offset += line_length + 1;
        line_number++;
        if (line_length > 0 && line[line_length - 1] == '\r')
            line_length--;
        if (line_length == 0 || line[0] == '#')
            continue;
        if (contents->count == capacity) {
            capacity = capacity ? capacity * 2 : 16;
            struct users_file_entry *grown = realloc(contents->entries, capacity * sizeof(*grown));
            if (grown == NULL) {
                users_file_contents_free(contents);
                return fail(error, error_size, "out of memory");
            }
            contents->entries = grown;
        }
        struct users_file_entry *entry = &contents->entries[contents->count];
        char problem[160];
        if (!parse_line(line, line_length, entry, problem, sizeof(problem))) {
            users_file_contents_free(contents);
            return fail(error, error_size, "line %zu: %s", line_number, problem);
        }
        if (name_seen(contents, entry->name)) {
            fail(error, error_size, "line %zu: user '%s' is listed twice", line_number, entry->name);
            free(entry->name);
            free(entry->hash);
            users_file_contents_free(contents);
            return false;
        }
        contents->count++;
    }
    return true;
}

bool users_file_read(const char *path, struct users_file_contents *contents, bool *missing,
                     char *error, size_t error_size)
{
    contents->entries = NULL;
    contents->count = 0;
    *missing = false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT) {
            *missing = true;
            return true;
        }
        return fail(error, error_size, "cannot open: %s", strerror(errno));
    }
    struct stat status;
    if (fstat(fd, &status) < 0 || !S_ISREG(status.st_mode) ||
        (size_t)status.st_size > USERS_FILE_MAX_BYTES) {
        close(fd);
        return fail(error, error_size, "not a regular file of at most %u bytes",
                    USERS_FILE_MAX_BYTES);
    }
    size_t size = (size_t)status.st_size;
    char *text = malloc(size + 1);
    size_t got = 0;
    while (text != NULL && got < size) {
        ssize_t n = read(fd, text + got, size - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    if (text == NULL || got != size) {
        free(text);
        return fail(error, error_size, "cannot read: %s", text ? strerror(errno) : "out of memory");
    }
    bool parsed = users_file_parse(text, size, contents, error, error_size);
    free(text);
    return parsed;
}

/* ---- applying a file to the table ---- */

struct removal_context {
    struct users *users;
    const struct users_file_contents *contents;
};

static void remove_if_absent(struct user *user, void *argument)
{
    struct removal_context *context = argument;
    if (!user_external(user) && !name_seen(context->contents, user_name(user)))
        users_remove(context->users, user_name(user));
}

bool users_file_apply(struct users *users, const struct users_file_contents *contents,
                      char *error, size_t error_size)
{
    bool has_admin = false;
    for (size_t i = 0; i < contents->count; i++)
        has_admin |= contents->entries[i].role == USER_ROLE_ADMIN;
    if (!has_admin && contents->count > 0)
        return fail(error, error_size, "no user has the admin role");
    /* Promote before anything is removed or demoted, so the last-admin rule never trips. */
    for (size_t i = 0; i < contents->count; i++) {
        const struct users_file_entry *entry = &contents->entries[i];
        struct user *user = users_find(users, entry->name, strlen(entry->name));
        if (user != NULL && user_external(user)) { /* the file's user takes the name over */
            users_remove(users, entry->name);
            user = NULL;
        }
        if (user == NULL) {
            if (users_add_hashed(users, entry->name, entry->hash, entry->role) != USERS_OK)
                return fail(error, error_size, "cannot add user '%s'", entry->name);
            continue;
        }
        if (strcmp(user_hash(user), entry->hash) != 0)
            users_set_hash(users, entry->name, entry->hash);
        if (entry->role == USER_ROLE_ADMIN)
            users_set_role(users, entry->name, USER_ROLE_ADMIN);
    }
    for (size_t i = 0; i < contents->count; i++)
        users_set_runtime_limits(users, contents->entries[i].name, &contents->entries[i].limits);
    if (contents->count > 0) {
        struct removal_context context = { users, contents };
        users_for_each(users, remove_if_absent, &context);
    }
    for (size_t i = 0; i < contents->count; i++) {
        if (contents->entries[i].role == USER_ROLE_USER)
            users_set_role(users, contents->entries[i].name, USER_ROLE_USER);
    }
    return true;
}

/* ---- writing ---- */

struct write_context {
    FILE *stream;
    struct users *users;
    bool failed;
};

static void write_user(struct user *user, void *argument)
{
    struct write_context *context = argument;
    if (user_external(user))
        return; /* PAM's: the directory keeps it */
    struct user_limits limits = user_runtime_limits(context->users, user);
    char limits_text[USER_LIMITS_TEXT_MAX];
    user_limits_format(&limits, limits_text, sizeof(limits_text));
    if (fprintf(context->stream, "%s:%s:%s%s%s\n", user_name(user),
                user_role(user) == USER_ROLE_ADMIN ? "admin" : "user", user_hash(user),
                limits_text[0] != '\0' ? ":" : "", limits_text) < 0)
        context->failed = true;
}

static bool fsync_directory_of(const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return false;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0)
        return false;
    bool synced = fsync(fd) == 0;
    close(fd);
    return synced;
}

bool users_file_write(const char *path, struct users *users, char *error, size_t error_size)
{
    size_t temp_size = strlen(path) + 32;
    char *temp_path = malloc(temp_size);
    if (temp_path == NULL)
        return fail(error, error_size, "out of memory");
    snprintf(temp_path, temp_size, "%s.tmp.%ld", path, (long)getpid());
    /* 0600: the hashes are secrets too (they can be attacked offline). */
    int fd = open(temp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    FILE *stream = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (stream == NULL) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        free(temp_path);
        return fail(error, error_size, "cannot create %s.tmp: %s", path, strerror(saved));
    }
    struct write_context context = { stream, users, false };
    fprintf(stream, "# socks5d users: name:role:crypt(3) hash[:limits]. Written by socks5d; "
                    "edit, then SIGHUP.\n");
    users_for_each(users, write_user, &context);
    bool written = !context.failed && fflush(stream) == 0 && fsync(fileno(stream)) == 0;
    int saved = errno;
    written = fclose(stream) == 0 && written;
    if (!written || rename(temp_path, path) < 0 || !fsync_directory_of(path)) {
        saved = errno ? errno : saved;
        unlink(temp_path);
        free(temp_path);
        return fail(error, error_size, "cannot write %s: %s", path, strerror(saved));
    }
    free(temp_path);
    return true;
}
