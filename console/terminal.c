/* terminal: asking for passwords on the controlling terminal (/dev/tty) with echo off, so a
 * password never has to be on the command line and works even when stdin is a pipe. */
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void note_interrupt(int signal_number)
{
    (void)signal_number;
    interrupted = 1;
}

static void write_text(int fd, const char *text)
{
    size_t length = strlen(text);
    while (length > 0) {
        ssize_t written = write(fd, text, length);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return;
        text += written;
        length -= (size_t)written;
    }
}

/* Reads up to a newline; 1 = a line, 0 = EOF/interrupt before one, -1 = too long. */
static int read_line(int fd, char *out, size_t size)
{
    size_t length = 0;
    int status = 1;
    for (;;) {
        char byte;
        ssize_t got = read(fd, &byte, 1);
        if (got < 0 && errno == EINTR && !interrupted)
            continue;
        if (got <= 0) {
            status = 0;
            break;
        }
        if (byte == '\n' || byte == '\r')
            break;
        if (length + 1 >= size)
            status = -1; /* keep reading to the end of the line, so nothing is left behind */
        else
            out[length++] = byte;
    }
    out[length] = '\0';
    if (status != 1)
        explicit_bzero(out, size);
    return status;
}

bool terminal_read_secret(const char *prompt, char *out, size_t size, char *error,
                          size_t error_size)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        snprintf(error, error_size, "no terminal to ask for the password on");
        return false;
    }
    struct termios saved, quiet;
    bool have_termios = tcgetattr(fd, &saved) == 0;
    if (have_termios) {
        quiet = saved;
        quiet.c_lflag &= (tcflag_t)~(ECHO | ECHOE | ECHOK | ECHONL);
        quiet.c_lflag |= ICANON | ISIG;
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    /* Ctrl-C must end the read and restore echo, not kill us with echo off. */
    struct sigaction on_interrupt = {.sa_handler = note_interrupt}, old_int, old_term, old_quit;
    sigemptyset(&on_interrupt.sa_mask);
    interrupted = 0;
    sigaction(SIGINT, &on_interrupt, &old_int);
    sigaction(SIGTERM, &on_interrupt, &old_term);
    sigaction(SIGQUIT, &on_interrupt, &old_quit);

    write_text(fd, prompt);
    int status = read_line(fd, out, size);
    write_text(fd, "\n");

    if (have_termios)
        tcsetattr(fd, TCSAFLUSH, &saved);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    close(fd);
    if (status == 1)
        return true;
    snprintf(error, error_size, "%s",
             status < 0 ? "password too long" : interrupted ? "interrupted" : "no password given");
    return false;
}

bool terminal_read_new_secret(const char *prompt, char *out, size_t size, char *error,
                              size_t error_size)
{
    char again[512];
    if (!terminal_read_secret(prompt, out, size, error, error_size))
        return false;
    if (out[0] == '\0') {
        snprintf(error, error_size, "the password must not be empty");
        return false;
    }
    if (!terminal_read_secret("Again, to confirm: ", again, sizeof(again), error, error_size)) {
        explicit_bzero(out, size);
        return false;
    }
    bool same = strcmp(again, out) == 0;
    explicit_bzero(again, sizeof(again));
    if (same)
        return true;
    explicit_bzero(out, size);
    snprintf(error, error_size, "the passwords do not match");
    return false;
}
