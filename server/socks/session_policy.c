/* session_policy: where a deployment's rules decide about a request — admission (may this
 * user open one more connection) and the destination policy (may it reach these addresses). */
#include "session_policy.h"

#include "address_slots.h"
#include "connection_record.h"
#include "counter.h"
#include "log.h"
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


/* No destination rules are configured yet: every address is allowed. */
static bool destination_address_allowed(struct proxy *proxy,
                                        const struct connection_record *record,
                                        const struct socks5_request *request,
                                        const struct sockaddr *address)
{
    (void)proxy;
    (void)record;
    (void)request;
    (void)address;
    return true;
}

enum socks5_failure session_destination_policy(struct proxy *proxy,
                                               const struct connection_record *record,
                                               const struct socks5_request *request,
                                               const struct addrinfo *addresses)
{
    for (const struct addrinfo *address = addresses; address != NULL; address = address->ai_next) {
        if (!destination_address_allowed(proxy, record, request, address->ai_addr))
            return SOCKS5_FAILURE_NOT_ALLOWED_BY_POLICY;
    }
    return SOCKS5_FAILURE_NONE;
}
