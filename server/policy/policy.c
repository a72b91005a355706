/* policy: one version of the deployment's rules and limits, built whole (from the config file
 * and the command line) and then only read, by every worker, until a reload replaces it. */
#include "policy.h"

#include "destination_rules.h"
#include "limits_table.h"

#include <stdlib.h>

struct policy *policy_create(void)
{
    struct policy *policy = calloc(1, sizeof(*policy));
    if (policy == NULL)
        return NULL;
    policy->rules = rule_set_create();
    policy->limits = limits_table_create();
    if (policy->rules == NULL || policy->limits == NULL) {
        policy_destroy(policy);
        return NULL;
    }
    return policy;
}

void policy_destroy(struct policy *policy)
{
    if (policy == NULL)
        return;
    rule_set_destroy(policy->rules);
    limits_table_destroy(policy->limits);
    free(policy);
}

bool policy_trusts_proxy_header(const struct policy *policy, const struct sockaddr *peer)
{
    struct ip_address address;
    if (policy->proxy_source_count == 0 || !ip_address_from_sockaddr(peer, &address))
        return false;
    for (size_t i = 0; i < policy->proxy_source_count; i++)
        if (network_contains(&policy->proxy_sources[i], &address))
            return true;
    return false;
}
