/* initial_users: who may log in from the start besides the users file's — -u/-a users and
 * SOCKS5D_ADMIN, which win over the file — and, when no admin exists anywhere, an 'admin' with
 * a random password revealed once (to a terminal, else in a private file beside the users file). */
#ifndef INITIAL_USERS_H
#define INITIAL_USERS_H

#include <stdbool.h>

struct server_options;
struct users;

/* -u and -a: added, or given that password and role if the file has them. Each password is
 * wiped from argv once hashed. False (logged) when one cannot be added. */
bool initial_users_add_options(struct users *users, const struct server_options *options);
/* SOCKS5D_ADMIN=user:password, likewise; the variable is wiped and unset. */
bool initial_users_add_environment_admin(struct users *users);
/* users_file: where the table is kept (NULL = memory only), which decides where the made-up
 * password goes. False (logged) when no admin could be made or its password not revealed. */
bool initial_users_ensure_an_admin(struct users *users, const char *users_file);

#endif
