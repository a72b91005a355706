/* auth_backend: the interface every way of checking a SOCKS5 login implements — a check that
 * never blocks the loop and can be cancelled — so the users file and PAM are interchangeable. */
#ifndef AUTH_BACKEND_H
#define AUTH_BACKEND_H

#include <stddef.h>

struct sockaddr;
struct user;

/* RFC 1929 credentials: either may hold NUL bytes, so both come with their lengths. */
struct auth_credentials {
    const char *name;
    size_t name_length;
    const char *password;
    size_t password_length;
    const struct sockaddr *client; /* who asks (PAM's RHOST); NULL when unknown */
};

/* On the loop's thread. user is the authenticated user, referenced for the callee, or NULL
 * when the name or the password was wrong — the two are never told apart. */
typedef void (*auth_backend_callback)(void *owner, struct user *user);

enum auth_check_status {
    AUTH_CHECK_ANSWERED, /* decided at once: *user is set (NULL = wrong credentials) */
    AUTH_CHECK_PENDING,  /* the callback comes later; *pending can cancel it until then */
    AUTH_CHECK_ERROR,    /* the check could not even start (out of memory, no worker) */
};

/* One instance per event loop, embedded in the implementation's own struct. The credentials
 * are copied by check; the caller may wipe them when it returns. */
struct auth_backend {
    enum auth_check_status (*check)(struct auth_backend *backend,
                                    const struct auth_credentials *credentials,
                                    auth_backend_callback callback, void *owner,
                                    struct user **user, void **pending);
    /* The callback of this pending check will not be called. */
    void (*cancel)(struct auth_backend *backend, void *pending);
};

#endif
