/* process_setup: what socks5d asks of the process itself — the signals it handles kept for the
 * main loop, the descriptor limit raised, root given up after binding, the congestion control
 * tried once the process runs as what it will serve as. */
#include "process_setup.h"

#include "log.h"
#include "net.h"

#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void process_handled_signals(sigset_t *mask)
{
    sigemptyset(mask);
    sigaddset(mask, SIGTERM);
    sigaddset(mask, SIGINT);
    sigaddset(mask, SIGHUP);
    sigaddset(mask, SIGUSR2); /* an upgrade: start a successor that takes over */
    sigaddset(mask, SIGCHLD); /* that successor's end, when it did not take over */
}

bool process_block_signals(void)
{
    sigset_t mask;
    process_handled_signals(&mask);
    signal(SIGPIPE, SIG_IGN);
    return pthread_sigmask(SIG_BLOCK, &mask, NULL) == 0;
}

rlim_t process_raise_descriptor_limit(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) < 0)
        return 1024;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &limit) < 0)
            getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur;
}

/* Binding low ports and reading the users file may need root; serving never does. */
bool process_drop_privileges(const char *account)
{
    if (account == NULL)
        return true;
    struct passwd *entry = getpwnam(account);
    if (entry == NULL) {
        log_message(LOG_ERROR, "--run-as %s: no such account", account);
        return false;
    }
    /* Already that account: a successor an upgrade signal started inherits it. */
    if (getuid() == entry->pw_uid && geteuid() == entry->pw_uid && entry->pw_uid != 0)
        return true;
    if (initgroups(entry->pw_name, entry->pw_gid) < 0 || setgid(entry->pw_gid) < 0 ||
        setuid(entry->pw_uid) < 0) {
        log_message(LOG_ERROR, "--run-as %s: cannot drop privileges: %s", account, strerror(errno));
        return false;
    }
    /* Make sure the switch cannot be undone. */
    if (entry->pw_uid != 0 && setuid(0) == 0) {
        log_message(LOG_ERROR, "--run-as %s: privileges could be regained; refusing to run", account);
        return false;
    }
    log_message(LOG_INFO, "running as %s (uid %u)", account, (unsigned)entry->pw_uid);
    return true;
}

/* An unprivileged process may only pick the algorithms in
 * net.ipv4.tcp_allowed_congestion_control: hence after the privileges are dropped. */
bool process_check_tcp_congestion(const char *name)
{
    if (name == NULL)
        return true;
    if (net_congestion_usable(name)) {
        log_message(LOG_INFO, "TCP congestion control: %s", name);
        return true;
    }
    int error = errno;
    char available[256] = "";
    FILE *list = fopen("/proc/sys/net/ipv4/tcp_available_congestion_control", "r");
    if (list != NULL) {
        if (fgets(available, sizeof(available), list) != NULL)
            available[strcspn(available, "\n")] = '\0';
        fclose(list);
    }
    log_message(LOG_ERROR, "--tcp-congestion %s: %s (available: %s)", name,
                error == ENOENT ? "this kernel has no such algorithm"
                : error == EPERM ? "not allowed for this process (see sysctl "
                                   "net.ipv4.tcp_allowed_congestion_control)"
                                 : strerror(error),
                available[0] != '\0' ? available : "unknown");
    return false;
}
