/* child_process: programs the admin server tests run (socks5d, curl, an HTTP server) — spawned
 * with redirected output, waited for with a deadline, and all killed if a test fails midway. */
#include "child_process.h"

#include "test_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CHILDREN_MAX 64

static pid_t children[CHILDREN_MAX];

static void children_forget(pid_t pid)
{
    for (size_t i = 0; i < CHILDREN_MAX; i++) {
        if (children[i] == pid)
            children[i] = 0;
    }
}

static bool children_remember(pid_t pid)
{
    for (size_t i = 0; i < CHILDREN_MAX; i++) {
        if (children[i] == 0) {
            children[i] = pid;
            return true;
        }
    }
    return false;
}

static void redirect(const char *path, int target, int flags)
{
    int fd = open(path != NULL ? path : "/dev/null", flags, 0600);
    if (fd < 0)
        _exit(126);
    if (fd != target) {
        dup2(fd, target);
        close(fd);
    }
}

pid_t child_spawn(const char *const argv[], const char *const env[], const char *stdout_path,
                  const char *stderr_path)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        redirect(NULL, STDIN_FILENO, O_RDONLY);
        redirect(stdout_path, STDOUT_FILENO, O_WRONLY | O_CREAT | O_TRUNC);
        redirect(stderr_path, STDERR_FILENO, O_WRONLY | O_CREAT | O_TRUNC);
        /* A socket of ours held open by a child would hide every close the test waits for. */
        close_range(3, ~0u, 0);
        unsetenv("SOCKS5D_ADMIN");
        for (size_t i = 0; env != NULL && env[i] != NULL; i++)
            putenv((char *)env[i]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (!children_remember(pid)) {
        child_kill(pid);
        return -1;
    }
    return pid;
}

bool child_wait(pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = test_now_ms() + timeout_ms;
    for (;;) {
        pid_t done = waitpid(pid, status, WNOHANG);
        if (done == pid) {
            children_forget(pid);
            return true;
        }
        if (done < 0 && errno != EINTR)
            return false;
        if (test_now_ms() >= deadline)
            return false;
        test_sleep_ms(5);
    }
}

bool child_running(pid_t pid)
{
    siginfo_t info = { 0 };
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) < 0)
        return false;
    return info.si_pid == 0;
}

void child_kill(pid_t pid)
{
    kill(pid, SIGKILL);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    children_forget(pid);
}

void child_kill_all(void)
{
    for (size_t i = 0; i < CHILDREN_MAX; i++) {
        if (children[i] != 0)
            child_kill(children[i]);
    }
}

char *child_read_file(const char *path)
{
    FILE *stream = fopen(path, "rb");
    if (stream == NULL)
        return NULL;
    size_t capacity = 4096, length = 0;
    char *text = malloc(capacity);
    while (text != NULL) {
        size_t got = fread(text + length, 1, capacity - length - 1, stream);
        length += got;
        if (length + 1 < capacity)
            break;
        char *bigger = realloc(text, capacity * 2);
        if (bigger == NULL) {
            free(text);
            text = NULL;
            break;
        }
        text = bigger;
        capacity *= 2;
    }
    fclose(stream);
    if (text != NULL)
        text[length] = '\0';
    return text;
}
