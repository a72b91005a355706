/* bench_options: socks5-bench's command line — scenarios, proxy address, handshake variant,
 * sizes, durations, pinning, output — parsed and checked once, read-only afterwards. */
#ifndef BENCH_OPTIONS_H
#define BENCH_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define BENCH_MAX_HOLD_LEVELS 8
#define BENCH_CREDENTIAL_MAX 255
#define BENCH_MAX_ROUNDS 20

enum bench_scenario {
    SCENARIO_RATE = 1u << 0,
    SCENARIO_BULK = 1u << 1,
    SCENARIO_PINGPONG = 1u << 2,
    SCENARIO_HOLD = 1u << 3,
    SCENARIO_UDP = 1u << 4, /* only when named: a proxy may not relay UDP at all */
    SCENARIO_HISTORY = 1u << 5, /* only when named; needs no proxy */
};

enum bench_direction { DIRECTION_DOWN = 1u << 0, DIRECTION_UP = 1u << 1 };

struct bench_options {
    unsigned scenarios; /* enum bench_scenario bits, run in the order above */
    struct sockaddr_storage proxy;
    socklen_t proxy_len;
    char proxy_text[80];

    bool auth; /* RFC 1929 with the credentials from SOCKS5_BENCH_AUTH */
    char user[BENCH_CREDENTIAL_MAX + 1];
    char pass[BENCH_CREDENTIAL_MAX + 1];
    bool domain;    /* CONNECT to "localhost" instead of 127.0.0.1 */
    bool pipelined; /* greeting+auth+request+payload in one write */

    double duration_s;
    double warmup_s;
    /* bulk and pingpong: rounds of one direct and one proxied pass, alternating which goes
     * first, so that the machine drifting during the run favours neither side. */
    unsigned rounds;
    unsigned clients;
    size_t message_size;
    unsigned streams;
    uint64_t bulk_bytes;
    unsigned directions; /* enum bench_direction bits */
    unsigned hold_levels[BENCH_MAX_HOLD_LEVELS];
    size_t hold_level_count;
    unsigned hold_in_flight;
    double hold_time_s;
    uint64_t history_rows;

    int cpu;       /* -1 = leave alone */
    int proxy_cpu; /* -1 = leave alone */
    pid_t proxy_pid;

    bool kv_only;
    const char *kv_file;
    bool quiet;
};

/* Parses argv into *options. Returns 0 to go on, 1 when help was printed (exit 0), or -1 after
 * printing a one-line message on stderr (exit 64). */
int options_parse(int argc, char **argv, struct bench_options *options);

#endif
