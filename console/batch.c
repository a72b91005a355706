/* batch: socks5ctl's command line — login and output flags, and the one-letter action flags
 * (-u, -r, -m, -G, ...) turned into a list of console commands, parsed with no I/O. */
#include "batch.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "admin_commands.h"
#include "admin_text.h"
#include "server_list.h"

#define MAX_WORDS 4
#define TIMEOUT_MAX_SECONDS 3600
#define SERVERS_FLAG 0x100 /* --servers has no letter */

static const char short_options[] = "+:hvl:a:p:o:t:u:r:m:M:b:nNGs:d";

static const struct option long_options[] = {
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, 'v'},
    {"login", required_argument, NULL, 'l'},
    {"address", required_argument, NULL, 'a'},
    {"servers", required_argument, NULL, SERVERS_FLAG},
    {"port", required_argument, NULL, 'p'},
    {"output", required_argument, NULL, 'o'},
    {"timeout", required_argument, NULL, 't'},
    {"add-user", required_argument, NULL, 'u'},
    {"remove-user", required_argument, NULL, 'r'},
    {"make-admin", required_argument, NULL, 'm'},
    {"make-user", required_argument, NULL, 'M'},
    {"buffer-size", required_argument, NULL, 'b'},
    {"allow-no-auth", no_argument, NULL, 'n'},
    {"require-auth", no_argument, NULL, 'N'},
    {"global", no_argument, NULL, 'G'},
    {"stats", required_argument, NULL, 's'},
    {"dashboard", no_argument, NULL, 'd'},
    {"tls", no_argument, NULL, 'T'},
    {"ca", required_argument, NULL, 'A'},
    {NULL, 0, NULL, 0},
};

static int fail(char *error, size_t error_size, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *error, size_t error_size, const char *format, ...)
{
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(error, error_size, format, arguments);
    va_end(arguments);
    return CONSOLE_EXIT_USAGE;
}

/* Appends a command made of count words (copied); false when out of memory. */
static bool add_command(struct batch_options *options, size_t count, const char *const *words)
{
    struct batch_command *grown =
        realloc(options->commands, (options->command_count + 1) * sizeof(*grown));
    if (grown == NULL)
        return false;
    options->commands = grown;
    char **argv = calloc(count + 1, sizeof(*argv));
    if (argv == NULL)
        return false;
    for (size_t i = 0; i < count; i++) {
        argv[i] = strdup(words[i]);
        if (argv[i] == NULL) {
            console_free_words((int)i, argv);
            return false;
        }
    }
    options->commands[options->command_count++] = (struct batch_command){(int)count, argv};
    return true;
}

#define ADD(options, ...)                                                                       \
    add_command((options), sizeof((const char *[]){__VA_ARGS__}) / sizeof(const char *),        \
                (const char *[]){__VA_ARGS__})

/* "name:password" → name (copied) and where the password starts in argv (NULL if no ':'). */
static char *split_credentials(char *text, char **password)
{
    char *colon = strchr(text, ':');
    *password = colon != NULL ? colon + 1 : NULL;
    return colon != NULL ? strndup(text, (size_t)(colon - text)) : strdup(text);
}

/* Call once the secret was copied. It is wiped with the others by batch_wipe_argv_secrets;
 * when more than the list holds come, the extra ones are wiped at once (never left in argv). */
static void note_secret(struct batch_options *options, char *secret)
{
    if (secret == NULL || secret[0] == '\0')
        return;
    if (options->secret_count < sizeof(options->secrets) / sizeof(options->secrets[0]))
        options->secrets[options->secret_count++] = secret;
    else
        explicit_bzero(secret, strlen(secret));
}

static bool parse_login(struct batch_options *options, char *value)
{
    char *password;
    free(options->user);
    if (options->password != NULL)
        explicit_bzero(options->password, strlen(options->password));
    free(options->password);
    options->user = split_credentials(value, &password);
    options->password = password != NULL ? strdup(password) : NULL;
    note_secret(options, password);
    return options->user != NULL && (password == NULL || options->password != NULL);
}

static bool add_user_command(struct batch_options *options, char *value)
{
    char *password;
    char *name = split_credentials(value, &password);
    if (name == NULL)
        return false;
    bool added = password != NULL ? ADD(options, "add-user", name, password, ADMIN_TEXT_ROLE_USER)
                                  : ADD(options, "add-user", name);
    note_secret(options, password);
    free(name);
    return added;
}

static bool parse_format(const char *value, enum console_format *format)
{
    static const struct {
        const char *name;
        enum console_format format;
    } formats[] = {{"table", CONSOLE_FORMAT_TABLE},
                   {"tsv", CONSOLE_FORMAT_TSV},
                   {"json", CONSOLE_FORMAT_JSON}};
    for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
        if (strcmp(value, formats[i].name) == 0) {
            *format = formats[i].format;
            return true;
        }
    }
    return false;
}

static bool parse_bounded(const char *value, uint64_t minimum, uint64_t maximum, uint64_t *out)
{
    struct admin_span span = {value, strlen(value)};
    return admin_span_to_u64(span, out) && *out >= minimum && *out <= maximum;
}

/* One flag; OK, or USAGE with error set. */
static int apply_flag(struct batch_options *options, int flag, char *value, char *error,
                      size_t error_size)
{
    uint64_t number;
    bool added = true;
    switch (flag) {
    case 'h': options->help = true; break;
    case 'v': options->version = true; break;
    case 'l': added = parse_login(options, value); break;
    case 'a': {
        struct server_address address;
        char problem[128];
        if (!server_address_split(value, &address, problem, sizeof(problem)))
            return fail(error, error_size, "-a '%s': %s", value, problem);
        const char **grown = realloc(options->addresses,
                                     (options->address_count + 1) * sizeof(*grown));
        if (grown == NULL)
            return fail(error, error_size, "out of memory");
        options->addresses = grown;
        options->addresses[options->address_count++] = value;
        break;
    }
    case SERVERS_FLAG: {
        const char **grown = realloc(options->server_files,
                                     (options->server_file_count + 1) * sizeof(*grown));
        if (grown == NULL)
            return fail(error, error_size, "out of memory");
        options->server_files = grown;
        options->server_files[options->server_file_count++] = value;
        break;
    }
    case 'p':
        if (!parse_bounded(value, 1, 65535, &number))
            return fail(error, error_size, "-p: the port must be 1 to 65535, not '%s'", value);
        options->port = value;
        break;
    case 'o':
        if (!parse_format(value, &options->format))
            return fail(error, error_size, "-o: the format must be table, tsv or json");
        break;
    case 't':
        if (!parse_bounded(value, 1, TIMEOUT_MAX_SECONDS, &number))
            return fail(error, error_size, "-t: the timeout must be 1 to %d seconds",
                        TIMEOUT_MAX_SECONDS);
        options->timeout_ms = (int)number * 1000;
        break;
    case 'u': added = add_user_command(options, value); break;
    case 'r': added = ADD(options, "remove-user", value); break;
    case 'm': added = ADD(options, "set-role", value, ADMIN_TEXT_ROLE_ADMIN); break;
    case 'M': added = ADD(options, "set-role", value, ADMIN_TEXT_ROLE_USER); break;
    case 'b': added = ADD(options, "set-buffer-size", value); break;
    case 'n': added = ADD(options, "allow-no-auth"); break;
    case 'N': added = ADD(options, "require-auth"); break;
    case 'G': added = ADD(options, "metrics") && ADD(options, "connections", "--all"); break;
    case 's':
        added = ADD(options, "user-metrics", value) && ADD(options, "connections", value, "--all");
        break;
    case 'd': added = ADD(options, "dashboard"); break;
    case 'T': options->tls = true; break;
    case 'A':
        options->tls = true;
        options->ca_file = value;
        break;
    default: return fail(error, error_size, "unexpected flag");
    }
    return added ? CONSOLE_EXIT_OK : fail(error, error_size, "out of memory");
}

static int unknown_flag(char **argv, int flag, char *error, size_t error_size)
{
    const char *word = argv[optind - 1];
    if (flag == ':')
        return fail(error, error_size, "%s needs a value", word);
    if (optopt != 0)
        return fail(error, error_size, "unknown flag -%c", optopt);
    return fail(error, error_size, "unknown flag %s", word);
}

static int check_commands(const struct batch_options *options, char *error, size_t error_size)
{
    char problem[512];
    for (size_t i = 0; i < options->command_count; i++) {
        const struct batch_command *command = &options->commands[i];
        if (console_check(command->argc, command->argv, problem, sizeof(problem)) !=
            CONSOLE_EXIT_OK)
            return fail(error, error_size, "%s: %s", command->argv[0], problem);
    }
    return CONSOLE_EXIT_OK;
}

int batch_parse(int argc, char **argv, struct batch_options *options, char *error,
                size_t error_size)
{
    *options = (struct batch_options){.format = CONSOLE_FORMAT_TABLE};
    optind = 0; /* GNU: start over, so that tests can parse several command lines */
    opterr = 0;
    int flag;
    while ((flag = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
        int code = flag == '?' || flag == ':'
                       ? unknown_flag(argv, flag, error, error_size)
                       : apply_flag(options, flag, optarg, error, error_size);
        if (code != CONSOLE_EXIT_OK)
            return code;
    }
    if (optind < argc &&
        !add_command(options, (size_t)(argc - optind), (const char *const *)argv + optind))
        return fail(error, error_size, "out of memory");
    if (options->help || options->version)
        return CONSOLE_EXIT_OK;
    return check_commands(options, error, error_size);
}

void batch_wipe_argv_secrets(struct batch_options *options)
{
    for (size_t i = 0; i < options->secret_count; i++)
        explicit_bzero(options->secrets[i], strlen(options->secrets[i]));
    options->secret_count = 0;
}

void batch_free(struct batch_options *options)
{
    for (size_t i = 0; i < options->command_count; i++)
        console_free_words(options->commands[i].argc, options->commands[i].argv);
    free(options->commands);
    free(options->addresses);
    free(options->server_files);
    free(options->user);
    if (options->password != NULL)
        explicit_bzero(options->password, strlen(options->password));
    free(options->password);
    *options = (struct batch_options){0};
}

void batch_print_usage(FILE *out)
{
    fputs(
        "usage: socks5ctl [-l USER[:PASS]] [-a HOST[:PORT]]... [-p PORT] [-o table|tsv|json]\n"
        "                 [--servers FILE] [-t SECONDS] [ACTION FLAGS...]\n"
        "                 [COMMAND [ARGUMENTS...]]\n"
        "\n"
        "Admin console of socks5d (admin protocol v2). Action flags, then a COMMAND, run in\n"
        "order in one session. Without either: a prompt when stdin is a terminal, else one\n"
        "command per line from stdin (with no command at all: your own usage and your own\n"
        "live and recent connections).\n"
        "\n"
        "Login:\n"
        "  -l, --login USER[:PASS]     log in as USER. Without :PASS the password comes from\n"
        "                              SOCKS5CTL_PASSWORD, or is asked on the terminal without\n"
        "                              echo. USER:PASS on the command line is visible to other\n"
        "                              local users (ps, /proc): prefer the other two.\n"
        "  -a, --address HOST[:PORT]   a server's name or address (127.0.0.1); repeat it to\n"
        "                              manage several servers at once\n"
        "      --servers FILE          more servers: one HOST[:PORT] per line, '#' comments\n"
        "                              (adds to -a). With several servers every command runs\n"
        "                              on each: tables gain a 'server' column, records a row\n"
        "                              per server and a 'total', changes a line per server;\n"
        "                              the exit status is the highest of the servers'\n"
        "  -p, --port PORT             admin port of addresses without one (8080)\n"
        "  -t, --timeout SECONDS       how long to wait to connect and for each reply (15)\n"
        "      --tls                   speak TLS to the admin port; its certificate must be\n"
        "                              valid for ADDR (name or address) and from a trusted CA\n"
        "      --ca FILE               the CA certificates to trust, PEM (implies --tls;\n"
        "                              default: the system's store)\n"
        "  -o, --output FORMAT         table: aligned columns, human units (default)\n"
        "                              tsv: header + rows as the server sends them (escaped)\n"
        "                              json: one object per line per command output\n"
        "\n"
        "Actions (in the order given; the first that fails stops the run):\n"
        "  -u, --add-user USER[:PASS]  add a regular user (password asked when missing)\n"
        "  -r, --remove-user USER      remove a user\n"
        "  -m, --make-admin USER       promote a user to admin\n"
        "  -M, --make-user USER        demote an admin to regular user\n"
        "  -b, --buffer-size BYTES     relay buffer size per direction for new connections\n"
        "  -n, --allow-no-auth         accept SOCKS clients without authentication\n"
        "  -N, --require-auth          make every SOCKS client authenticate\n"
        "  -G, --global                global metrics and every connection\n"
        "  -s, --stats USER            a user's metrics and connections ('' = your own)\n"
        "  -d, --dashboard             live full-screen view\n"
        "  -h, --help                  this help\n"
        "  -v, --version               the version\n"
        "\n"
        "Commands (also at the prompt, on stdin, and on the dashboard's ':' line):\n",
        out);
    struct console_context context = {.format = CONSOLE_FORMAT_TABLE, .out = out, .err = out};
    console_execute_line(&context, "help");
    fputs(
        "\n"
        "Environment: SOCKS5CTL_USER (when -l is not given), SOCKS5CTL_PASSWORD,\n"
        "XDG_STATE_HOME (prompt history in $XDG_STATE_HOME/socks5ctl/history, by default\n"
        "~/.local/state/socks5ctl/history; lines that carry a password are not kept).\n"
        "\n"
        "Exit status:\n"
        "   0  success\n"
        "   1  server error (status 0x01), or a reply that is not admin protocol v2\n"
        "   2  refused: bad request, not found, already exists, conflict,\n"
        "      invalid configuration (reload), managed by PAM\n"
        "   3  forbidden: the command needs the admin role\n"
        "  64  usage: bad flags or command arguments\n"
        "  69  unavailable: cannot connect, the session broke, or the server is busy;\n"
        "      or no accounting database (history, reset-usage)\n"
        "  77  login failed: wrong user name or password\n",
        out);
}
