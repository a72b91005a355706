/* test_argv: argv for the option parsers under test, as writable copies (getopt permutes
 * argv and keeps pointers into it), shared by the Check suites of socks5d's and socks5ctl's flags. */
#ifndef TEST_ARGV_H
#define TEST_ARGV_H

#include <stdlib.h>
#include <string.h>

#define COMMAND_LINE_MAX_ARGS 32

struct command_line {
    int argc;
    char *argv[COMMAND_LINE_MAX_ARGS + 1];
};

/* program, then words up to their NULL. */
static inline void make_line(struct command_line *line, const char *program,
                             const char *const *words)
{
    line->argc = 0;
    line->argv[line->argc++] = strdup(program);
    for (; *words != NULL && line->argc < COMMAND_LINE_MAX_ARGS; words++)
        line->argv[line->argc++] = strdup(*words);
    line->argv[line->argc] = NULL;
}

static inline void free_line(struct command_line *line)
{
    for (int i = 0; i < line->argc; i++)
        free(line->argv[i]);
}

#define WORDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

#endif
