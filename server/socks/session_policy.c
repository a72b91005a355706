/* session_policy: where a deployment's rules decide about a request — admission (may this
 * user open one more connection) and the destination policy (may it reach these addresses). */
#include "session_policy.h"

#include <stdbool.h>

/* No limits are configured yet: every authenticated user is admitted. */
enum socks5_failure session_admission(struct proxy *proxy, const struct connection_record *record,
                                      const struct socks5_request *request)
{
    (void)proxy;
    (void)record;
    (void)request;
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
