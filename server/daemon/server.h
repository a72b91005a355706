/* server: socks5d's process — descriptor limit, signals, users from flags and environment,
 * the workers (one event loop per CPU) and the admin port — started and torn down cleanly. */
#ifndef SERVER_H
#define SERVER_H

#include <stdbool.h>

struct server_options;
struct server;

/* Returns NULL after logging why the server cannot start. */
struct server *server_create(const struct server_options *options);
/* Runs until SIGTERM or SIGINT. Returns 0 on a clean stop. */
int server_run(struct server *server);
void server_destroy(struct server *server);
/* Writes the users table to the users file, atomically. False (and logged) on failure. */
bool server_save_users(struct server *server);

#endif
