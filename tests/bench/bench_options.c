/* bench_options: socks5-bench's command line — scenarios, proxy address, handshake variant,
 * sizes, durations, pinning, output — parsed and checked once, read-only afterwards. */
#include "bench_options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUTH_ENV "SOCKS5_BENCH_AUTH"

enum long_only_option {
    OPT_PIPELINED = 256,
    OPT_WARMUP,
    OPT_ROUNDS,
    OPT_DIRECTION,
    OPT_HOLD_IN_FLIGHT,
    OPT_HOLD_TIME,
    OPT_CPU,
    OPT_PROXY_CPU,
    OPT_PROXY_PID,
    OPT_KV,
    OPT_KV_FILE,
    OPT_HISTORY_ROWS,
};

static const struct option long_options[] = {
    {"proxy", required_argument, NULL, 'x'},
    {"auth", no_argument, NULL, 'a'},
    {"domain", no_argument, NULL, 'D'},
    {"pipelined", no_argument, NULL, OPT_PIPELINED},
    {"duration", required_argument, NULL, 'd'},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"rounds", required_argument, NULL, OPT_ROUNDS},
    {"clients", required_argument, NULL, 'c'},
    {"message-size", required_argument, NULL, 'm'},
    {"streams", required_argument, NULL, 's'},
    {"bytes", required_argument, NULL, 'b'},
    {"direction", required_argument, NULL, OPT_DIRECTION},
    {"hold", required_argument, NULL, 'N'},
    {"hold-in-flight", required_argument, NULL, OPT_HOLD_IN_FLIGHT},
    {"hold-time", required_argument, NULL, OPT_HOLD_TIME},
    {"cpu", required_argument, NULL, OPT_CPU},
    {"proxy-cpu", required_argument, NULL, OPT_PROXY_CPU},
    {"proxy-pid", required_argument, NULL, OPT_PROXY_PID},
    {"kv", no_argument, NULL, OPT_KV},
    {"kv-file", required_argument, NULL, OPT_KV_FILE},
    {"history-rows", required_argument, NULL, OPT_HISTORY_ROWS},
    {"quiet", no_argument, NULL, 'q'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void options_usage(FILE *out)
{
    fputs("usage: socks5-bench -x ADDR:PORT [options] [rate] [bulk] [pingpong] [hold] [udp]\n"
          "       socks5-bench [options] history\n"
          "SOCKS5 load generator with its own echo/source/sink upstream on loopback.\n"
          "  rate      C clients loop connect, handshake, CONNECT, echo, close: tunnels/s, latency\n"
          "  bulk      S streams download/upload B bytes each, via the proxy and direct: MB/s\n"
          "  pingpong  small round trips through one tunnel, via the proxy and direct: p50/p99\n"
          "  hold      open N tunnels, ping each, report held count, open time, proxy RSS\n"
          "  udp       UDP ASSOCIATE, one datagram in flight per association to a UDP echo, via\n"
          "            the proxy and direct: datagrams/s, p50/p99; 64 and 1200 bytes, 1 and 100\n"
          "            associations (run only when named)\n"
          "  history   the accounting database (no proxy): N connections stored in a temp\n"
          "            directory, then each kind of history search timed 20 times, first and\n"
          "            tenth page of 100 rows: p50/max ms, and the file's size (only when named)\n"
          "options:\n"
          "  -x, --proxy ADDR:PORT      proxy to test (IPv4 or [IPv6] literal)\n"
          "  -a, --auth                 RFC 1929 username/password from $" AUTH_ENV "=user:pass\n"
          "  -D, --domain               CONNECT to the name \"localhost\" instead of 127.0.0.1\n"
          "      --pipelined            greeting+auth+request+payload in one write\n"
          "  -d, --duration S           seconds per measured run or pass (default 5)\n"
          "      --warmup S             seconds run before measuring rate and each pingpong\n"
          "                             or udp pass (default 0.5)\n"
          "      --rounds N             bulk (each direction), pingpong and udp: N rounds of a direct\n"
          "                             and a proxied pass back to back, direct first in odd\n"
          "                             rounds, proxy first in even ones (default 3, 1..20)\n"
          "  -c, --clients N            concurrent clients for rate (default 64)\n"
          "  -m, --message-size N       echo payload for rate/pingpong/hold (default 64)\n"
          "  -s, --streams N            bulk streams (default 4)\n"
          "  -b, --bytes N[K|M|G]       bulk bytes per stream (default 256M; -d caps the time)\n"
          "      --direction down|up|both  bulk direction (default both)\n"
          "  -N, --hold N[,N...]        tunnels to hold, ascending (default 1000,5000,9000)\n"
          "      --hold-in-flight N     opens in progress at once (default 512)\n"
          "      --hold-time S          seconds between the two pings of held tunnels (default 1)\n"
          "      --history-rows N       connections history stores (default 1000000)\n"
          "      --cpu N                pin this generator to CPU N\n"
          "      --proxy-pid PID        proxy process: RSS and CPU figures\n"
          "      --proxy-cpu N          pin every thread of --proxy-pid (and children) to CPU N\n"
          "      --kv                   print key=value lines instead of the table\n"
          "      --kv-file PATH         also append key=value lines to PATH\n"
          "  -q, --quiet                no progress lines on stderr\n"
          "  -h, --help                 this text\n"
          "bulk, pingpong and udp report the median of the proxied passes, the median of the direct\n"
          "passes and, as <key>_vs_direct, the median of the per-round ratios (each compares\n"
          "two passes seconds apart); then each round (round<R>_<key>, round<R>_direct_<key>,\n"
          "round<R>_<key>_vs_direct) when N > 1. Their CPU figures are the mean over the\n"
          "proxied passes.\n"
          "When a timed run ends no new tunnel starts; those in flight get 2 s to finish (the\n"
          "rest are cut and counted as errors). Every section that goes through the proxy also\n"
          "reports, summed over its proxied passes (never the direct ones):\n"
          "  <section>.proxied_bytes_up    bytes its clients wrote into tunnels after the CONNECT\n"
          "  <section>.proxied_bytes_down  bytes its clients read from tunnels\n"
          "  <section>.proxied_inexact     tunnels cut or broken, whose bytes the proxy may have\n"
          "                                counted otherwise (0: both figures equal the proxy's)\n"
          "  bulk.*.proxied_cut            streams cut at -d (half-closed, then drained: exact)\n",
          out);
}

static void options_defaults(struct bench_options *options)
{
    memset(options, 0, sizeof(*options));
    options->duration_s = 5.0;
    options->warmup_s = 0.5;
    options->rounds = 3;
    options->clients = 64;
    options->message_size = 64;
    options->streams = 4;
    options->bulk_bytes = 256u << 20;
    options->directions = DIRECTION_DOWN | DIRECTION_UP;
    options->hold_levels[0] = 1000;
    options->hold_levels[1] = 5000;
    options->hold_levels[2] = 9000;
    options->hold_level_count = 3;
    options->hold_in_flight = 512;
    options->hold_time_s = 1.0;
    options->history_rows = 1000000;
    options->cpu = -1;
    options->proxy_cpu = -1;
}

static int parse_unsigned(const char *text, unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || value > max)
        return -1;
    *out = value;
    return 0;
}

static int parse_count(const char *text, unsigned min, unsigned max, unsigned *out)
{
    unsigned long long value;
    if (parse_unsigned(text, max, &value) != 0 || value < min)
        return -1;
    *out = (unsigned)value;
    return 0;
}

static int parse_seconds(const char *text, double min, double *out)
{
    char *end;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !(value >= min) || value > 3600.0)
        return -1;
    *out = value;
    return 0;
}

static int parse_bytes(const char *text, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long value = strtoull(text, &end, 10);
    if (errno != 0 || end == text || text[0] == '-')
        return -1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift != 0)
        end++;
    if (*end != '\0' || value == 0 || value > (1ull << 40) >> shift)
        return -1;
    *out = (uint64_t)value << shift;
    return 0;
}

/* "127.0.0.1:1080" or "[::1]:1080". */
static int parse_proxy(const char *text, struct bench_options *options)
{
    char host[64];
    const char *port_text;
    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - text - 1) >= sizeof(host))
            return -1;
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        port_text = close + 2;
    } else {
        const char *colon = strrchr(text, ':');
        if (colon == NULL || (size_t)(colon - text) >= sizeof(host))
            return -1;
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
        port_text = colon + 1;
    }
    unsigned port;
    if (parse_count(port_text, 1, 65535, &port) != 0)
        return -1;
    memset(&options->proxy, 0, sizeof(options->proxy));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&options->proxy;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&options->proxy;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        options->proxy_len = sizeof(*v4);
    } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        options->proxy_len = sizeof(*v6);
    } else {
        return -1;
    }
    snprintf(options->proxy_text, sizeof(options->proxy_text), "%s", text);
    return 0;
}

/* "1000,5000,9000": ascending, so the RSS baseline taken once stays meaningful. */
static int parse_hold_levels(const char *text, struct bench_options *options)
{
    char copy[128];
    if (strlen(text) >= sizeof(copy))
        return -1;
    snprintf(copy, sizeof(copy), "%s", text);
    options->hold_level_count = 0;
    char *saveptr = NULL;
    for (char *item = strtok_r(copy, ",", &saveptr); item != NULL;
         item = strtok_r(NULL, ",", &saveptr)) {
        unsigned level;
        if (options->hold_level_count == BENCH_MAX_HOLD_LEVELS ||
            parse_count(item, 1, 1000000, &level) != 0)
            return -1;
        if (options->hold_level_count > 0 &&
            level <= options->hold_levels[options->hold_level_count - 1])
            return -1;
        options->hold_levels[options->hold_level_count++] = level;
    }
    return options->hold_level_count > 0 ? 0 : -1;
}

static int parse_direction(const char *text, unsigned *out)
{
    if (strcmp(text, "down") == 0)
        *out = DIRECTION_DOWN;
    else if (strcmp(text, "up") == 0)
        *out = DIRECTION_UP;
    else if (strcmp(text, "both") == 0)
        *out = DIRECTION_DOWN | DIRECTION_UP;
    else
        return -1;
    return 0;
}

/* Credentials come from the environment so that no password ever sits on argv. */
static int load_credentials(struct bench_options *options)
{
    const char *value = getenv(AUTH_ENV);
    const char *colon = value != NULL ? strchr(value, ':') : NULL;
    if (colon == NULL) {
        fprintf(stderr, "socks5-bench: --auth needs %s=user:pass in the environment\n",
                AUTH_ENV);
        return -1;
    }
    size_t user_len = (size_t)(colon - value);
    size_t pass_len = strlen(colon + 1);
    if (user_len == 0 || user_len > BENCH_CREDENTIAL_MAX || pass_len == 0 ||
        pass_len > BENCH_CREDENTIAL_MAX) {
        fprintf(stderr, "socks5-bench: %s: user and password must be 1..255 bytes\n", AUTH_ENV);
        return -1;
    }
    memcpy(options->user, value, user_len);
    options->user[user_len] = '\0';
    memcpy(options->pass, colon + 1, pass_len);
    options->pass[pass_len] = '\0';
    return 0;
}

static int parse_scenario(const char *name, unsigned *scenarios)
{
    if (strcmp(name, "rate") == 0)
        *scenarios |= SCENARIO_RATE;
    else if (strcmp(name, "bulk") == 0)
        *scenarios |= SCENARIO_BULK;
    else if (strcmp(name, "pingpong") == 0)
        *scenarios |= SCENARIO_PINGPONG;
    else if (strcmp(name, "hold") == 0)
        *scenarios |= SCENARIO_HOLD;
    else if (strcmp(name, "udp") == 0)
        *scenarios |= SCENARIO_UDP;
    else if (strcmp(name, "history") == 0)
        *scenarios |= SCENARIO_HISTORY;
    else
        return -1;
    return 0;
}

static int bad(const char *what, const char *value)
{
    fprintf(stderr, "socks5-bench: bad %s: '%s' (see --help)\n", what, value);
    return -1;
}

static int options_apply(struct bench_options *options, int option, const char *arg)
{
    unsigned long long wide;
    unsigned count;
    switch (option) {
    case 'x':
        return parse_proxy(arg, options) == 0 ? 0 : bad("proxy address", arg);
    case 'a':
        options->auth = true;
        return 0;
    case 'D':
        options->domain = true;
        return 0;
    case OPT_PIPELINED:
        options->pipelined = true;
        return 0;
    case 'd':
        return parse_seconds(arg, 0.1, &options->duration_s) == 0 ? 0 : bad("duration", arg);
    case OPT_WARMUP:
        return parse_seconds(arg, 0.0, &options->warmup_s) == 0 ? 0 : bad("warmup", arg);
    case OPT_ROUNDS:
        return parse_count(arg, 1, BENCH_MAX_ROUNDS, &options->rounds) == 0 ? 0
                                                                            : bad("rounds", arg);
    case 'c':
        return parse_count(arg, 1, 100000, &options->clients) == 0 ? 0 : bad("clients", arg);
    case 'm':
        if (parse_count(arg, 1, 65536, &count) != 0)
            return bad("message size", arg);
        options->message_size = count;
        return 0;
    case 's':
        return parse_count(arg, 1, 1024, &options->streams) == 0 ? 0 : bad("streams", arg);
    case 'b':
        return parse_bytes(arg, &options->bulk_bytes) == 0 ? 0 : bad("byte count", arg);
    case OPT_DIRECTION:
        return parse_direction(arg, &options->directions) == 0 ? 0 : bad("direction", arg);
    case 'N':
        return parse_hold_levels(arg, options) == 0 ? 0 : bad("hold levels", arg);
    case OPT_HOLD_IN_FLIGHT:
        return parse_count(arg, 1, 100000, &options->hold_in_flight) == 0
                   ? 0
                   : bad("hold in-flight count", arg);
    case OPT_HOLD_TIME:
        return parse_seconds(arg, 0.0, &options->hold_time_s) == 0 ? 0 : bad("hold time", arg);
    case OPT_CPU:
    case OPT_PROXY_CPU:
        if (parse_count(arg, 0, 4095, &count) != 0)
            return bad("CPU number", arg);
        *(option == OPT_CPU ? &options->cpu : &options->proxy_cpu) = (int)count;
        return 0;
    case OPT_PROXY_PID:
        if (parse_unsigned(arg, 4194304, &wide) != 0 || wide == 0)
            return bad("proxy pid", arg);
        options->proxy_pid = (pid_t)wide;
        return 0;
    case OPT_KV:
        options->kv_only = true;
        return 0;
    case OPT_KV_FILE:
        options->kv_file = arg;
        return 0;
    case OPT_HISTORY_ROWS:
        if (parse_unsigned(arg, 100000000, &wide) != 0 || wide == 0)
            return bad("history row count", arg);
        options->history_rows = wide;
        return 0;
    case 'q':
        options->quiet = true;
        return 0;
    default:
        fprintf(stderr, "socks5-bench: unknown option (see --help)\n");
        return -1;
    }
}

int options_parse(int argc, char **argv, struct bench_options *options)
{
    options_defaults(options);
    int option;
    opterr = 0;
    while ((option = getopt_long(argc, argv, ":x:aDd:c:m:s:b:N:qh", long_options, NULL)) != -1) {
        if (option == 'h') {
            options_usage(stdout);
            return 1;
        }
        if (option == ':') {
            fprintf(stderr, "socks5-bench: %s needs a value\n", argv[optind - 1]);
            return -1;
        }
        if (option == '?') {
            fprintf(stderr, "socks5-bench: unknown option '%s' (see --help)\n", argv[optind - 1]);
            return -1;
        }
        if (options_apply(options, option, optarg) != 0)
            return -1;
    }
    for (int i = optind; i < argc; i++) {
        if (parse_scenario(argv[i], &options->scenarios) != 0)
            return bad("scenario", argv[i]);
    }
    if (options->scenarios == 0)
        options->scenarios = SCENARIO_RATE | SCENARIO_BULK | SCENARIO_PINGPONG | SCENARIO_HOLD;
    if (options->proxy_len == 0 && options->scenarios != SCENARIO_HISTORY) {
        fprintf(stderr, "socks5-bench: --proxy ADDR:PORT is required\n");
        return -1;
    }
    if (options->proxy_cpu >= 0 && options->proxy_pid == 0) {
        fprintf(stderr, "socks5-bench: --proxy-cpu needs --proxy-pid\n");
        return -1;
    }
    if (options->auth && load_credentials(options) != 0)
        return -1;
    return 0;
}
