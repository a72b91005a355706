/* terminal: asking for passwords on the controlling terminal (/dev/tty) with echo off, so a
 * password never has to be on the command line and works even when stdin is a pipe. */
#ifndef TERMINAL_H
#define TERMINAL_H

#include <stdbool.h>
#include <stddef.h>

/* Writes prompt to the terminal and reads one line with echo off into out (NUL-terminated,
 * without its newline). False, with error set, when there is no terminal, the line does not
 * fit, or the user pressed Ctrl-C or Ctrl-D; the terminal's settings are restored either way. */
bool terminal_read_secret(const char *prompt, char *out, size_t size, char *error,
                          size_t error_size);

/* Asks twice ("... again: ") and fails when the two answers differ or are empty. */
bool terminal_read_new_secret(const char *prompt, char *out, size_t size, char *error,
                              size_t error_size);

#endif
