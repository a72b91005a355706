/* server: socks5d's process from start to exit — the workers (one event loop per CPU), the
 * admin thread, the settings' owner and systemd's notifications set up, then the main thread's
 * loop: signals (SIGTERM's graceful stop, SIGHUP's reload) until the process ends. */
#ifndef SERVER_H
#define SERVER_H

#include <stdbool.h>

struct server_config;
struct server;

/* Takes config (what server_config_load gave: kept, for reloads to compare with) and keeps
 * argv, which a reload parses again over the config file. Returns NULL after logging why the
 * server cannot start. */
struct server *server_create(struct server_config *config, int argc, char **argv);
/* Runs until SIGTERM or SIGINT. Returns 0 on a clean stop. */
int server_run(struct server *server);
void server_destroy(struct server *server);

#endif
