/* server_process: one socks5d under test — started with -p 0 -P 0 -f <directory>/users, its
 * ports read from its log, stopped with SIGTERM (checked clean) or killed with SIGKILL. */
#ifndef SERVER_PROCESS_H
#define SERVER_PROCESS_H

#include <stdbool.h>
#include <stdint.h>

struct server_process;

/* Starts $SOCKS5D (or the path given by server_process_set_binary) in directory, with args
 * (NULL-terminated, may be NULL) after the fixed ones; waits until it listens. NULL on
 * failure: server_process_error() says why. Restarting on the same directory reuses its
 * users file. */
struct server_process *server_process_start(const char *directory, const char *const args[]);
const char *server_process_error(void);

uint16_t server_process_socks_port(const struct server_process *server);
uint16_t server_process_admin_port(const struct server_process *server);
/* The server's stderr so far (caller frees). */
char *server_process_log(const struct server_process *server);
bool server_process_running(const struct server_process *server);

/* SIGTERM, then waits up to 20 s. True when it exited 0 without a sanitizer report and its
 * log holds none of the secrets (NULL-terminated, may be NULL); otherwise false with
 * server_process_error() set. Frees the server either way. */
bool server_process_stop(struct server_process *server, const char *const secrets[]);
/* SIGKILL at once (no chance to save anything), reap, free. */
void server_process_kill(struct server_process *server);
/* When a server started here has ended on its own (crashed): its log's tail; else "". For
 * failure messages, so that a dropped connection says why. */
const char *server_process_crash_report(void);
/* Kills and frees every server still running: the teardown after a failed test. */
void server_process_kill_all(void);

#endif
