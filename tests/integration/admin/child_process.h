/* child_process: programs the admin server tests run (socks5d, curl, an HTTP server) — spawned
 * with redirected output, waited for with a deadline, and all killed if a test fails midway. */
#ifndef CHILD_PROCESS_H
#define CHILD_PROCESS_H

#include <stdbool.h>
#include <sys/types.h>

/* Runs argv[0] (a path) with argv; stdin is /dev/null, stdout and stderr go to the files
 * (created or truncated; NULL = /dev/null). The child gets no descriptor of ours and no
 * SOCKS5D_ADMIN; environment entries "NAME=value" in env (NULL-terminated, may be NULL) are
 * added. Returns the pid, or -1. */
pid_t child_spawn(const char *const argv[], const char *const env[], const char *stdout_path,
                  const char *stderr_path);
/* Waits up to timeout_ms for the child to end and reaps it; *status as from waitpid.
 * False on timeout (the child is still running) or error. */
bool child_wait(pid_t pid, int timeout_ms, int *status);
/* True while the child has not ended (does not reap). */
bool child_running(pid_t pid);
/* SIGKILL and reap. */
void child_kill(pid_t pid);
/* Kills and reaps every child still running: the teardown after a failed test. */
void child_kill_all(void);

/* The whole file as a NUL-terminated string (caller frees), or NULL. */
char *child_read_file(const char *path);

#endif
