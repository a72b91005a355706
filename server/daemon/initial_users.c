/* initial_users: who may log in from the start besides the users file's — -u/-a users and
 * SOCKS5D_ADMIN, which win over the file — and, when no admin exists anywhere, an 'admin' with
 * a random password revealed once (to a terminal, else in a private file beside the users file). */
#include "initial_users.h"

#include "log.h"
#include "options.h"
#include "users.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* Beside the users file: the first admin's password when stderr is not a terminal. */
#define INITIAL_PASSWORD_FILE "initial-admin-password"

/* Command-line and environment users win over the file: add, or reset password and role. */
static enum users_error put_user(struct users *users, const char *name, const char *password,
                                 enum user_role role)
{
    enum users_error error = users_add(users, name, password, role);
    if (error != USERS_ERROR_EXISTS)
        return error;
    error = users_set_password(users, name, password);
    return error != USERS_OK ? error : users_set_role(users, name, role);
}

bool initial_users_add_options(struct users *users, const struct server_options *options)
{
    for (size_t i = 0; i < options->user_count; i++) {
        const struct option_user *user = &options->users[i];
        enum users_error error = put_user(users, user->name, user->password,
                                          user->admin ? USER_ROLE_ADMIN : USER_ROLE_USER);
        /* Hide the password from ps once it is hashed; argv memory is ours to overwrite. */
        explicit_bzero(user->password, strlen(user->password));
        if (error != USERS_OK) {
            log_message(LOG_ERROR, "cannot add user '%s': %s", user->name, users_error_text(error));
            return false;
        }
    }
    return true;
}

bool initial_users_add_environment_admin(struct users *users)
{
    const char *value = getenv("SOCKS5D_ADMIN");
    if (value == NULL || value[0] == '\0')
        return true;
    char *copy = strdup(value);
    char *colon = copy != NULL ? strchr(copy, ':') : NULL;
    if (colon == NULL || colon == copy || colon[1] == '\0') {
        log_message(LOG_ERROR, "SOCKS5D_ADMIN must be user:password");
        free(copy);
        return false;
    }
    *colon = '\0';
    enum users_error error = put_user(users, copy, colon + 1, USER_ROLE_ADMIN);
    if (error != USERS_OK)
        log_message(LOG_ERROR, "SOCKS5D_ADMIN: cannot add '%s': %s", copy, users_error_text(error));
    explicit_bzero(colon + 1, strlen(colon + 1));
    free(copy);
    unsetenv("SOCKS5D_ADMIN");
    return error == USERS_OK;
}

/* path's directory joined with name ("dir/users" -> "dir/name"; "users" -> "name"). */
static void sibling_path(const char *path, const char *name, char *out, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        snprintf(out, size, "%s", name);
    else
        snprintf(out, size, "%.*s/%s", (int)(slash - path), path, name);
}

static bool write_all(int fd, const char *text, size_t length)
{
    while (length > 0) {
        ssize_t written = write(fd, text, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return false;
        text += written;
        length -= (size_t)written;
    }
    return true;
}

/* The first admin's password, for whoever may read the users file's directory (private when
 * socks5d made it). A file left from an earlier first run belonged to an admin the users file
 * no longer has: it is replaced. O_EXCL and O_NOFOLLOW keep a file or link that appears in
 * between from being written through. Durable before the users file is: a crash between
 * the two leaves no admin whose password nobody knows. */
static bool write_initial_password(const char *path, const char *password)
{
    int flags = O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC;
    int fd = open(path, flags, 0600);
    if (fd < 0 && errno == EEXIST && unlink(path) == 0) {
        log_message(LOG_WARN, "replacing %s, left from an earlier first run", path);
        fd = open(path, flags, 0600);
    }
    if (fd < 0)
        return false;
    bool written = write_all(fd, password, strlen(password)) && write_all(fd, "\n", 1) &&
                   fsync(fd) == 0;
    int saved = errno;
    close(fd);
    if (!written) {
        unlink(path);
        errno = saved;
    }
    return written;
}

/* Logs are kept, shipped and read by many: the password goes to the log only when a person is
 * watching it being written (stderr is a terminal, as with scripts/run). Otherwise it goes to
 * a file beside the users file, and the log says where. */
static bool reveal_initial_password(const char *users_file, const char *password)
{
    if (isatty(STDERR_FILENO)) {
        log_message(LOG_WARN, "no admin configured: created user 'admin' with password '%s' "
                              "(shown once; change it with socks5ctl)", password);
        return true;
    }
    if (users_file == NULL) {
        /* -f off: there is no directory of ours to put a file in, and these users live only
         * as long as this process. Hiding the password would leave a server nobody can
         * administer until it restarts (with a new one), so the log is the only way out;
         * SOCKS5D_ADMIN or -a avoid it. */
        log_message(LOG_WARN, "no admin configured: created user 'admin' with password '%s' "
                              "(logged because -f off leaves no file to put it in; set "
                              "SOCKS5D_ADMIN or -a to keep it out of the log)", password);
        return true;
    }
    char path[4096];
    sibling_path(users_file, INITIAL_PASSWORD_FILE, path, sizeof(path));
    if (!write_initial_password(path, password)) {
        log_message(LOG_ERROR, "no admin configured, and cannot write the first admin's "
                               "password to %s: %s", path, strerror(errno));
        return false;
    }
    log_message(LOG_WARN, "no admin configured: created user 'admin'; its password is in %s "
                          "(delete the file once read; change the password with socks5ctl)",
                path);
    return true;
}

/* A usable default: with no admin configured anywhere, make one and reveal its password once. */
bool initial_users_ensure_an_admin(struct users *users, const char *users_file)
{
    if (users_admin_count(users) > 0)
        return true;
    static const char alphabet[] = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    uint8_t random_bytes[20];
    char password[sizeof(random_bytes) + 1];
    if (getrandom(random_bytes, sizeof(random_bytes), 0) != sizeof(random_bytes))
        return false;
    for (size_t i = 0; i < sizeof(random_bytes); i++)
        password[i] = alphabet[random_bytes[i] % (sizeof(alphabet) - 1)];
    password[sizeof(random_bytes)] = '\0';
    enum users_error error = users_add(users, "admin", password, USER_ROLE_ADMIN);
    if (error != USERS_OK) {
        log_message(LOG_ERROR, "cannot create the first admin: %s", users_error_text(error));
        explicit_bzero(password, sizeof(password));
        return false;
    }
    bool revealed = reveal_initial_password(users_file, password);
    explicit_bzero(password, sizeof(password));
    return revealed;
}
