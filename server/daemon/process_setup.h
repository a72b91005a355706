/* process_setup: what socks5d asks of the process itself — the signals it handles kept for the
 * main loop, the descriptor limit raised, root given up after binding, the congestion control
 * tried once the process runs as what it will serve as. */
#ifndef PROCESS_SETUP_H
#define PROCESS_SETUP_H

#include <signal.h>
#include <stdbool.h>
#include <sys/resource.h>

/* SIGTERM, SIGINT (stop), SIGHUP (reload), SIGUSR2 (upgrade) and SIGCHLD (its successor). */
void process_handled_signals(sigset_t *mask);
/* Before any thread starts, so that only the main loop's signalfd ever takes the handled
 * signals (threads inherit the mask); SIGPIPE is ignored. */
bool process_block_signals(void);
/* Soft limit raised to the hard one; returns the limit now in force. */
rlim_t process_raise_descriptor_limit(void);
/* --run-as ACCOUNT (NULL: nothing to do). False, logged, when the switch fails or could be
 * undone. */
bool process_drop_privileges(const char *account);
/* --tcp-congestion NAME (NULL: the system's). False, logged with what is available, when
 * this process may not use it. */
bool process_check_tcp_congestion(const char *name);

#endif
