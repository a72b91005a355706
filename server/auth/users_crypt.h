/* users_crypt: crypt(3) for the users table — hashing a new password, checking one against a
 * hash — and hashing on a work pool, off the caller's loop (~70 ms of yescrypt each). */
#ifndef USERS_CRYPT_H
#define USERS_CRYPT_H

#include <stdbool.h>

/* A new crypt(3) hash of password (malloc'd), in libcrypt's preferred method; NULL on failure. */
char *users_crypt_hash(const char *password);
bool users_crypt_matches(const char *password, const char *hash);

#endif
