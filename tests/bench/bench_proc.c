/* bench_proc: what /proc says about the proxy under test (resident memory and CPU time summed
 * over its process tree, since dante forks) and CPU pinning of the proxy and of ourselves. */
#include "bench_proc.h"

#include "bench_loop.h"

#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Dante keeps a few hundred children at 9,000 tunnels; more than this is not a proxy we test. */
#define MAX_TREE 4096

/* Appends the children of every thread of pid (from /proc/PID/task/TID/children). */
static size_t proc_add_children(pid_t pid, pid_t *pids, size_t count)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
    if (tasks == NULL)
        return count;
    struct dirent *entry;
    while ((entry = readdir(tasks)) != NULL && count < MAX_TREE) {
        if (entry->d_name[0] == '.')
            continue;
        char children_path[300];
        snprintf(children_path, sizeof(children_path), "/proc/%d/task/%s/children", (int)pid,
                 entry->d_name);
        FILE *file = fopen(children_path, "r");
        if (file == NULL)
            continue;
        int child;
        while (count < MAX_TREE && fscanf(file, "%d", &child) == 1)
            pids[count++] = (pid_t)child;
        fclose(file);
    }
    closedir(tasks);
    return count;
}

/* Breadth-first: pids[0] is pid itself. */
static size_t proc_tree(pid_t pid, pid_t *pids)
{
    size_t count = 0;
    pids[count++] = pid;
    for (size_t next = 0; next < count; next++)
        count = proc_add_children(pids[next], pids, count);
    return count;
}

static long proc_one_rss_kib(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return -1;
    char line[256];
    long rss = -1;
    while (fgets(line, sizeof(line), file) != NULL) {
        if (sscanf(line, "VmRSS: %ld kB", &rss) == 1)
            break;
    }
    fclose(file);
    return rss;
}

static long proc_one_pss_kib(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return -1;
    char line[256];
    long pss = -1;
    while (fgets(line, sizeof(line), file) != NULL) {
        if (sscanf(line, "Pss: %ld kB", &pss) == 1)
            break;
    }
    fclose(file);
    return pss;
}

static long proc_one_fd_count(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
    DIR *fds = opendir(path);
    if (fds == NULL)
        return -1;
    long count = 0;
    struct dirent *entry;
    while ((entry = readdir(fds)) != NULL) {
        if (entry->d_name[0] != '.')
            count++;
    }
    closedir(fds);
    return count;
}

static double proc_one_cpu_seconds(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return -1.0;
    char line[1024];
    char *ok = fgets(line, sizeof(line), file);
    fclose(file);
    /* The command name may hold spaces and parentheses: fields resume after the last ')'. */
    char *after_name = ok != NULL ? strrchr(line, ')') : NULL;
    if (after_name == NULL)
        return -1.0;
    unsigned long utime = 0;
    unsigned long stime = 0;
    /* Fields 3..13 are skipped, 14 and 15 are utime and stime. */
    if (sscanf(after_name + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime,
               &stime) != 2)
        return -1.0;
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static long proc_tree_sum(pid_t pid, long (*one)(pid_t))
{
    pid_t *pids = malloc(MAX_TREE * sizeof(*pids));
    if (pids == NULL)
        return -1;
    size_t count = proc_tree(pid, pids);
    long total = one(pid);
    for (size_t i = 1; total >= 0 && i < count; i++) {
        long kib = one(pids[i]);
        if (kib > 0)
            total += kib;
    }
    free(pids);
    return total;
}

long proc_rss_kib(pid_t pid)
{
    return proc_tree_sum(pid, proc_one_rss_kib);
}

long proc_pss_kib(pid_t pid)
{
    return proc_tree_sum(pid, proc_one_pss_kib);
}

long proc_fd_count(pid_t pid)
{
    return proc_tree_sum(pid, proc_one_fd_count);
}

double proc_cpu_seconds(pid_t pid)
{
    pid_t *pids = malloc(MAX_TREE * sizeof(*pids));
    if (pids == NULL)
        return -1.0;
    size_t count = proc_tree(pid, pids);
    double total = proc_one_cpu_seconds(pid);
    for (size_t i = 1; total >= 0 && i < count; i++) {
        double seconds = proc_one_cpu_seconds(pids[i]);
        if (seconds > 0)
            total += seconds;
    }
    free(pids);
    return total;
}

static int proc_pin_threads(pid_t pid, const cpu_set_t *set)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    DIR *tasks = opendir(path);
    if (tasks == NULL)
        return -1;
    int result = 0;
    struct dirent *entry;
    while ((entry = readdir(tasks)) != NULL) {
        if (entry->d_name[0] == '.')
            continue;
        pid_t tid = (pid_t)atoi(entry->d_name);
        if (sched_setaffinity(tid, sizeof(*set), set) != 0 && errno != ESRCH)
            result = -1;
    }
    closedir(tasks);
    return result;
}

int proc_pin_tree(pid_t pid, int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    pid_t *pids = malloc(MAX_TREE * sizeof(*pids));
    if (pids == NULL)
        return -1;
    size_t count = proc_tree(pid, pids);
    int result = 0;
    for (size_t i = 0; i < count; i++) {
        if (proc_pin_threads(pids[i], &set) != 0)
            result = -1;
    }
    free(pids);
    return result;
}

int proc_pin_self(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof(set), &set);
}

double proc_self_cpu_seconds(void)
{
    struct rusage usage;
    if (getrusage(RUSAGE_SELF, &usage) != 0)
        return 0.0;
    return (double)(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
           (double)(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
}

/* Busy CPU seconds of the whole machine (all but idle and iowait), from /proc/stat. */
static double system_busy_seconds(void)
{
    FILE *file = fopen("/proc/stat", "r");
    if (file == NULL)
        return -1.0;
    unsigned long long ticks[8] = {0};
    int fields = fscanf(file, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &ticks[0],
                        &ticks[1], &ticks[2], &ticks[3], &ticks[4], &ticks[5], &ticks[6],
                        &ticks[7]);
    fclose(file);
    if (fields < 5)
        return -1.0;
    unsigned long long busy = 0;
    for (int i = 0; i < 8; i++) {
        if (i != 3 && i != 4) /* idle, iowait */
            busy += ticks[i];
    }
    return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

void cpu_probe_start(struct cpu_probe *probe, pid_t proxy_pid)
{
    probe->proxy_pid = proxy_pid;
    probe->start_ns = bench_now_ns();
    probe->self_start = proc_self_cpu_seconds();
    probe->proxy_start = proxy_pid > 0 ? proc_cpu_seconds(proxy_pid) : -1.0;
    probe->system_start = system_busy_seconds();
}

void cpu_probe_stop(struct cpu_probe *probe)
{
    double wall = (double)(bench_now_ns() - probe->start_ns) / 1e9;
    if (wall <= 0)
        wall = 1e-9;
    probe->self_share = (proc_self_cpu_seconds() - probe->self_start) / wall;
    probe->proxy_share = -1.0;
    if (probe->proxy_pid > 0 && probe->proxy_start >= 0) {
        double now = proc_cpu_seconds(probe->proxy_pid);
        if (now >= 0)
            probe->proxy_share = (now - probe->proxy_start) / wall;
    }
    probe->other_share = -1.0;
    double system_now = system_busy_seconds();
    if (probe->system_start >= 0 && system_now >= 0) {
        double other = (system_now - probe->system_start) / wall - probe->self_share -
                       (probe->proxy_share > 0 ? probe->proxy_share : 0);
        probe->other_share = other > 0 ? other : 0;
    }
}
