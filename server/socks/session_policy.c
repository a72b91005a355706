/* session_policy: where a deployment's rules decide about a request — admission (may this
 * user open one more connection) and the destination policy (may it reach these addresses). */
#include "session_policy.h"

#include "address_slots.h"
#include "connection_record.h"
#include "counter.h"
#include "destination_rules.h"
#include "log.h"
#include "net.h"
#include "policy.h"
#include "proxy.h"
#include "session.h"
#include "users.h"

#include <stdbool.h>

static enum socks5_failure refuse_for_limit(struct session *session, struct user *user,
                                            enum socks5_failure cause)
{
    counter_add_shared(&user_usage(user)->limit_refusals, 1);
    if (cause == SOCKS5_FAILURE_OVER_USER_LIMIT)
        log_message(LOG_INFO, "connection %llu: refused: user '%s' is at max-connections=%llu",
                    (unsigned long long)session->record->id, user_name(user),
                    (unsigned long long)user_effective_limits(user)
                        .value[USER_LIMIT_MAX_CONNECTIONS]);
    else
        log_message(LOG_INFO,
                    "connection %llu: refused: client %s is at max-connections-per-address=%zu",
                    (unsigned long long)session->record->id, session->record->client,
                    session->proxy->settings.policy->max_connections_per_address);
    return cause;
}

enum socks5_failure session_admission(struct session *session,
                                      const struct socks5_request *request)
{
    (void)request;
    struct proxy *proxy = session->proxy;
    if (session->record->owner == NULL)
        return SOCKS5_FAILURE_NONE; /* no user: nothing to count against */
    struct user *user = user_from_owner(session->record->owner);
    if (!user_take_connection_slot(user))
        return refuse_for_limit(session, user, SOCKS5_FAILURE_OVER_USER_LIMIT);
    session->holds_user_slot = true;
    const struct policy *policy = proxy->settings.policy;
    size_t per_address = policy != NULL ? policy->max_connections_per_address : 0;
    if (per_address > 0 && proxy->shared->address_slots != NULL) {
        session->address_slot =
            address_slots_take(proxy->shared->address_slots,
                               (const struct sockaddr *)&session->setup->peer, per_address);
        if (session->address_slot == NULL)
            return refuse_for_limit(session, user, SOCKS5_FAILURE_OVER_ADDRESS_LIMIT);
    }
    return SOCKS5_FAILURE_NONE;
}

/* What the rules may ask of a request, from the session's record and request. */
static struct rule_facts request_facts(const struct connection_record *record,
                                       const struct socks5_request *request,
                                       const struct sockaddr *client)
{
    struct user *user = record->owner != NULL ? user_from_owner(record->owner) : NULL;
    enum rule_command command = RULE_COMMAND_CONNECT;
    if (request->command == SOCKS5_CMD_BIND)
        command = RULE_COMMAND_BIND;
    else if (request->command == SOCKS5_CMD_UDP_ASSOCIATE)
        command = RULE_COMMAND_UDP;
    return (struct rule_facts){
        .user_name = user != NULL ? user_name(user) : NULL,
        .admin_role = user != NULL && user_role(user) == USER_ROLE_ADMIN,
        .client = client,
        .domain = request->address_type == SOCKS5_ATYP_DOMAIN ? request->domain : NULL,
        .port = request->port,
        .command = command,
    };
}

/* A denial: the rule's hit, the user's count, and a log line saying what denied it. The
 * global count follows the failure cause (socks5_failure_outcome). */
static enum socks5_failure destination_denied(const struct rule_set *rules,
                                              const struct connection_record *record,
                                              const struct rule_facts *facts,
                                              const struct sockaddr *address,
                                              const struct rule_decision *decision,
                                              enum log_level level)
{
    rule_set_count_hit(rules, decision);
    if (record->owner != NULL)
        counter_add_shared(&user_usage(user_from_owner(record->owner))->rule_denials, 1);
    char address_text[NET_ADDRESS_TEXT_MAX] = "";
    if (address != NULL)
        net_format_address(address, address_text);
    const char *destination = record->destination != NULL ? record->destination : "?";
    const char *user = facts->user_name != NULL ? facts->user_name : "?";
    if (decision->rule_index != RULE_INDEX_NONE) {
        const char *name = rule_set_rule_name(rules, decision->rule_index);
        log_message(level, "connection %llu: user %s to %s%s%s denied by rule %zu%s%s",
                    (unsigned long long)record->id, user, destination,
                    address != NULL ? " at " : "", address_text, decision->rule_index + 1,
                    name[0] != '\0' ? " " : "", name);
    } else {
        log_message(level, "connection %llu: user %s to %s%s%s denied by default (%s)",
                    (unsigned long long)record->id, user, destination,
                    address != NULL ? " at " : "", address_text,
                    decision->default_reason != NULL ? decision->default_reason : "no rule");
    }
    return SOCKS5_FAILURE_NOT_ALLOWED_BY_POLICY;
}

enum socks5_failure session_destination_policy_before_lookup(struct proxy *proxy,
                                                             const struct connection_record *record,
                                                             const struct socks5_request *request,
                                                             const struct sockaddr *client,
                                                             enum log_level denial_level)
{
    const struct policy *policy = proxy->settings.policy;
    if (policy == NULL || rule_set_count(policy->rules) == 0)
        return SOCKS5_FAILURE_NONE;
    struct rule_facts facts = request_facts(record, request, client);
    struct rule_decision decision;
    if (rule_set_decide(policy->rules, &facts, NULL, policy->allow_loopback, &decision) ==
        RULE_VERDICT_DENY)
        return destination_denied(policy->rules, record, &facts, NULL, &decision,
                                  denial_level);
    return SOCKS5_FAILURE_NONE;
}

enum socks5_failure session_destination_policy(struct proxy *proxy,
                                               const struct connection_record *record,
                                               const struct socks5_request *request,
                                               const struct sockaddr *client,
                                               const struct addrinfo *addresses,
                                               enum log_level denial_level)
{
    const struct policy *policy = proxy->settings.policy;
    if (policy == NULL)
        return SOCKS5_FAILURE_NONE;
    struct rule_facts facts = request_facts(record, request, client);
    /* The request's hit goes to what decided its first address, unless another is denied. */
    struct rule_decision first = {RULE_VERDICT_ALLOW, RULE_INDEX_NONE, NULL};
    for (const struct addrinfo *address = addresses; address != NULL; address = address->ai_next) {
        struct rule_decision decision;
        if (rule_set_decide(policy->rules, &facts, address->ai_addr, policy->allow_loopback,
                            &decision) == RULE_VERDICT_DENY)
            return destination_denied(policy->rules, record, &facts, address->ai_addr,
                                      &decision, denial_level);
        if (address == addresses)
            first = decision;
    }
    rule_set_count_hit(policy->rules, &first);
    return SOCKS5_FAILURE_NONE;
}
