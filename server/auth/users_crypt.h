/* users_crypt: crypt(3) for the users table — hashing a new password, checking one against a
 * hash — and hashing on a work pool, off the caller's loop (~70 ms of yescrypt each). */
#ifndef USERS_CRYPT_H
#define USERS_CRYPT_H

#include <stdbool.h>

struct work_pool;

#define USERS_CRYPT_PASSWORD_MAX 255

/* A new crypt(3) hash of password (malloc'd), in libcrypt's preferred method; NULL on failure. */
char *users_crypt_hash(const char *password);
bool users_crypt_matches(const char *password, const char *hash);
/* The hash of a random password nobody knows (malloc'd; NULL on failure): an unknown name is
 * checked against it, so that its answer takes as long as a known one's. */
char *users_crypt_decoy_hash(void);

/* ---- hashing off the loop (a new password costs ~70 ms of crypt) ---- */

struct users_hashing;
/* hash is a crypt(3) hash the callee owns (free), or NULL when hashing failed. */
typedef void (*users_hash_callback)(void *owner, char *hash);
/* Hashes password on the work pool. NULL when it could not be queued. */
struct users_hashing *users_hash_password(struct work_pool *crypt_pool, const char *password,
                                          users_hash_callback callback, void *owner);
void users_hashing_cancel(struct users_hashing *hashing);

#endif
