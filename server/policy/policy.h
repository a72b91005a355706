/* policy: one version of the deployment's rules and limits, built whole (from the config file
 * and the command line) and then only read, by every worker, until a reload replaces it. */
#ifndef POLICY_H
#define POLICY_H

#include "network.h"

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* The most networks --proxy-protocol-from may list. */
#define POLICY_PROXY_SOURCES_MAX 32

struct rule_set;
struct limits_table;

struct policy {
    struct rule_set *rules;      /* none: only the safe defaults decide */
    struct limits_table *limits; /* the configured per-user limits */
    bool allow_loopback;         /* lifts the safe defaults' loopback denial */
    size_t max_connections_per_address; /* client connections from one address; 0 = no limit */
    /* The balancers whose connections start with a PROXY protocol header (required from
     * them, refused from anyone else). */
    struct network proxy_sources[POLICY_PROXY_SOURCES_MAX];
    size_t proxy_source_count;
};

/* No rules, no limits, loopback denied. NULL when out of memory. */
struct policy *policy_create(void);
void policy_destroy(struct policy *policy);

/* Whether peer (the connection's own address) is in a --proxy-protocol-from network. */
bool policy_trusts_proxy_header(const struct policy *policy, const struct sockaddr *peer);

#endif
