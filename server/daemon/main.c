/* main: socks5d's entry point — parses the command line, then hands over to the server
 * module; usage errors exit 64 (EX_USAGE), failures to start exit 1. */
#include "options.h"
#include "server.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    struct server_options options;
    char error[256];
    if (!options_parse(argc, argv, &options, error, sizeof(error))) {
        fprintf(stderr, "socks5d: %s\n", error);
        options_free(&options);
        return OPTIONS_EXIT_USAGE;
    }
    if (options.show_help || options.show_version) {
        if (options.show_help)
            options_print_help(argv[0]);
        else
            options_print_version();
        options_free(&options);
        return 0;
    }
    struct server *server = server_create(&options);
    options_free(&options);
    if (server == NULL)
        return 1;
    int status = server_run(server);
    server_destroy(server);
    return status;
}
