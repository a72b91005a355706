/* pam_auth: logins checked by the PAM stack (--auth pam[:SERVICE]) on a work pool, names of the
 * users file still by the file; successes cached a while; admins are one group's members. */
#ifndef PAM_AUTH_H
#define PAM_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth_backend.h"
#include "users_auth.h"

struct metrics;
struct users;
struct work_pool;
struct login_cache;

#define PAM_AUTH_DEFAULT_SERVICE "socks5d"
#define PAM_AUTH_SERVICE_MAX 64
/* Threads of each loop's PAM pool: one, as one conversation runs at a time in the process. */
#define PAM_POOL_THREADS 1

/* Reads an --auth value: "file" (*service set to ""), "pam" (the default service) or
 * "pam:SERVICE" (a file name of the PAM configuration directory: letters, digits, '.', '_',
 * '-', not starting with '.'). false with why in error otherwise. Pure. */
bool pam_auth_parse_method(const char *text, char service[PAM_AUTH_SERVICE_MAX + 1],
                           char *error, size_t error_size);

struct pam_auth_config {
    const char *service;
    const char *config_dir;  /* NULL: the system's (/etc/pam.d) */
    const char *admin_group; /* NULL: every PAM user is a regular user */
    uint64_t cache_ms;       /* how long an accepted password skips PAM; 0 = always ask */
};

/* What every loop's PAM backend shares: the configuration and the success cache. */
struct pam_realm;

struct pam_realm *pam_realm_create(const struct pam_auth_config *config);
void pam_realm_destroy(struct pam_realm *realm);

/* One per event loop, like users_auth. */
struct pam_auth {
    struct auth_backend backend; /* first: the backend pointer is this struct's */
    struct users_auth local;     /* names in the users table (not PAM's) */
    struct pam_realm *realm;
    struct users *users;
    struct work_pool *pool;
    struct metrics *metrics; /* the loop's: pam_checks, pam_cache_hits */
};

/* Returns &auth->backend: names of local users go to the users table (hashes checked on
 * crypt_pool), the others to PAM on pool's threads — a pool of their own, so a slow directory
 * never delays a local login — whose results come back on the pools' loop, counted in
 * metrics. */
struct auth_backend *pam_auth_init(struct pam_auth *auth, struct pam_realm *realm,
                                   struct users *users, struct work_pool *crypt_pool,
                                   struct work_pool *pool, struct metrics *metrics);

#endif
