/* bench_proc: what /proc says about the proxy under test (resident memory and CPU time summed
 * over its process tree, since dante forks) and CPU pinning of the proxy and of ourselves. */
#ifndef BENCH_PROC_H
#define BENCH_PROC_H

#include <stdint.h>
#include <sys/types.h>

/* Sum of VmRSS over pid and its descendants, in KiB; -1 if pid cannot be read. */
long proc_rss_kib(pid_t pid);
/* Sum of Pss (proportional set size: shared pages split between their users) over pid and its
 * descendants, in KiB; -1 if unreadable. Fairer than VmRSS for a proxy that forks helpers. */
long proc_pss_kib(pid_t pid);
/* Open descriptors over pid and its descendants (entries of /proc/PID/fd); -1 if unreadable.
 * Kernel memory (socket buffers, splice pipes) is in no RSS: the descriptor count hints at it. */
long proc_fd_count(pid_t pid);
/* Sum of user+system CPU seconds over pid and its descendants; -1 if pid cannot be read. */
double proc_cpu_seconds(pid_t pid);
/* Pins every thread of pid and of its descendants to cpu. 0 or -1 (errno set). */
int proc_pin_tree(pid_t pid, int cpu);
int proc_pin_self(int cpu);
/* Our own user+system CPU seconds. */
double proc_self_cpu_seconds(void);

/* CPU share of the generator and of the proxy (1.0 = one core busy) over an interval: tells
 * the reader which side was the bottleneck. proxy_pid 0 = not known. */
struct cpu_probe {
    pid_t proxy_pid;
    uint64_t start_ns;
    double self_start;
    double proxy_start;
    double system_start;
    /* Set by cpu_probe_stop. other_share is what the rest of the machine used meanwhile: on a
     * shared machine it explains a bad run. -1 = unknown. */
    double self_share;
    double proxy_share;
    double other_share;
};
void cpu_probe_start(struct cpu_probe *probe, pid_t proxy_pid);
void cpu_probe_stop(struct cpu_probe *probe);

#endif
