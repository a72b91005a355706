/* user_store: the users table's place on disk for this process — which file (-f, else systemd's
 * or the XDG state directory; none with -f off), loaded at start, saved after every change,
 * reread on SIGHUP. */
#include "user_store.h"

#include "log.h"
#include "users.h"
#include "users_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct user_store {
    char *path; /* NULL = memory only */
    struct users *users;
};

/* By default the systemd state directory, else the XDG state directory. */
static char *default_path(void)
{
    const char *state = getenv("STATE_DIRECTORY");
    char path[4096];
    if (state != NULL && state[0] != '\0') {
        snprintf(path, sizeof(path), "%s/users", state);
        return strdup(path);
    }
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (xdg != NULL && xdg[0] == '/')
        snprintf(path, sizeof(path), "%s/socks5d", xdg);
    else if (home != NULL && home[0] == '/')
        snprintf(path, sizeof(path), "%s/.local/state/socks5d", home);
    else
        return strdup("socks5d-users");
    /* mkdir -p, private: the file holds password hashes. */
    for (char *slash = strchr(path + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0700);
        *slash = '/';
    }
    mkdir(path, 0700);
    strncat(path, "/users", sizeof(path) - strlen(path) - 1);
    return strdup(path);
}

struct user_store *user_store_create(const char *option, struct users *users)
{
    struct user_store *store = calloc(1, sizeof(*store));
    if (store == NULL)
        return NULL;
    store->users = users;
    if (option != NULL && strcmp(option, "off") == 0)
        return store;
    store->path = option != NULL ? strdup(option) : default_path();
    if (store->path == NULL) {
        free(store);
        return NULL;
    }
    return store;
}

void user_store_destroy(struct user_store *store)
{
    if (store == NULL)
        return;
    free(store->path);
    free(store);
}

const char *user_store_path(const struct user_store *store) { return store->path; }

bool user_store_load(struct user_store *store, bool *missing)
{
    struct users_file_contents contents;
    char error[256];
    *missing = true;
    if (store->path == NULL)
        return true;
    if (!users_file_read(store->path, &contents, missing, error, sizeof(error)) ||
        !users_file_apply(store->users, &contents, error, sizeof(error))) {
        log_message(LOG_ERROR, "users file %s: %s", store->path, error);
        users_file_contents_free(&contents);
        return false;
    }
    users_file_contents_free(&contents);
    if (!*missing)
        log_message(LOG_INFO, "users file %s: %zu users", store->path, users_count(store->users));
    return true;
}

bool user_store_save(struct user_store *store)
{
    char error[512];
    if (store->path == NULL)
        return true;
    if (!users_file_write(store->path, store->users, error, sizeof(error))) {
        log_message(LOG_ERROR, "users file: %s", error);
        return false;
    }
    return true;
}

bool user_store_reread(struct user_store *store, char *error, size_t error_size)
{
    struct users_file_contents contents;
    bool missing;
    if (store->path == NULL) {
        snprintf(error, error_size, "no users file (-f off)");
        return false;
    }
    bool applied = users_file_read(store->path, &contents, &missing, error, error_size);
    if (applied && missing) {
        snprintf(error, error_size, "file is missing");
        applied = false;
    }
    applied = applied && users_file_apply(store->users, &contents, error, error_size);
    users_file_contents_free(&contents);
    return applied;
}
