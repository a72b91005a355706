/* main: socks5d's entry point — loads the configuration (file, then command line), then hands
 * over to the server module; usage errors exit 64 (EX_USAGE), a bad config file 78 (EX_CONFIG),
 * failures to start 1. */
#include "options.h"
#include "server.h"
#include "server_config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each problem on a line of its own, as --check-config prints them. */
static void print_problems(const char *problems)
{
    for (const char *line = problems; *line != '\0';) {
        size_t length = strcspn(line, "\n");
        fprintf(stderr, "socks5d: %.*s\n", (int)length, line);
        line += length + (line[length] == '\n');
    }
}

int main(int argc, char **argv)
{
    const char *config_path;
    bool check_config;
    char problems[4096];
    if (!options_find_config(argc, argv, &config_path, &check_config, problems,
                             sizeof(problems))) {
        fprintf(stderr, "socks5d: %s\n", problems);
        return check_config ? 1 : OPTIONS_EXIT_USAGE;
    }
    if (check_config)
        return server_config_check(argc, argv, stdout);
    struct server_config config;
    enum server_config_status status =
        server_config_load(argc, argv, true, &config, problems, sizeof(problems));
    if (status != SERVER_CONFIG_LOADED) {
        print_problems(problems);
        return status == SERVER_CONFIG_USAGE_ERROR ? OPTIONS_EXIT_USAGE
                                                   : SERVER_CONFIG_EXIT_INVALID;
    }
    if (config.options.show_help || config.options.show_version) {
        if (config.options.show_help)
            options_print_help(argv[0]);
        else
            options_print_version();
        server_config_free(&config);
        return 0;
    }
    /* The server keeps config (what a reload compares with) and argv (what it reapplies). */
    struct server *server = server_create(&config, argc, argv);
    if (server == NULL)
        return 1;
    int status_code = server_run(server);
    server_destroy(server);
    return status_code;
}
