/* successor: the command line of the socks5d an upgrade signal (SIGUSR2) starts — this one's
 * arguments without -u/-a (their passwords are wiped from argv once read; the users are in the
 * users file) and without any --take-over of its own, with --take-over PATH first. */
#ifndef SUCCESSOR_H
#define SUCCESSOR_H

#include <stdbool.h>

struct successor_command {
    char **arguments; /* NULL-terminated, argv[0] first; the strings point into argv mostly */
    char **made;      /* the strings made here (a cluster's flags kept apart from -u/-a) */
};

/* False when out of memory (nothing to free then). */
bool successor_command_build(struct successor_command *command, int argc, char **argv,
                             const char *upgrade_path);
void successor_command_free(struct successor_command *command);

#endif
