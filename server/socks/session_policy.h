/* session_policy: where a deployment's rules decide about a request — admission (may this
 * user open one more connection) and the destination policy (may it reach these addresses). */
#ifndef SESSION_POLICY_H
#define SESSION_POLICY_H

#include "log.h"
#include "socks5_failure.h"

#include <netdb.h>

struct proxy;
struct connection_record;
struct session;

/* Once the request is complete and well-formed, before anything is looked up: the session's
 * record->owner is the authenticated user. Takes a slot of the user's max-connections and,
 * under --max-connections-per-address, one of the client address's (session_close gives them
 * back); refuses (counted and logged) when either is full. SOCKS5_FAILURE_NONE admits. */
enum socks5_failure session_admission(struct session *session,
                                      const struct socks5_request *request);

/* Before a name is looked up: a destination rule that needs no address (user, domain, port,
 * ...) and denies answers at once, so a denied name is never resolved. client is the
 * client's address. A denial is logged at denial_level: a request's at LOG_INFO; a UDP
 * association's beyond its first few at LOG_DEBUG, since one client can name thousands of
 * destinations a second (the counters still count every one). */
enum socks5_failure session_destination_policy_before_lookup(struct proxy *proxy,
                                                             const struct connection_record *record,
                                                             const struct socks5_request *request,
                                                             const struct sockaddr *client,
                                                             enum log_level denial_level);

/* Once the destination's addresses are known (resolved, or the literal the client sent) and
 * before any of them is connected: the request is refused unless every address is allowed, so
 * that a name cannot smuggle a forbidden address in among allowed ones. */
enum socks5_failure session_destination_policy(struct proxy *proxy,
                                               const struct connection_record *record,
                                               const struct socks5_request *request,
                                               const struct sockaddr *client,
                                               const struct addrinfo *addresses,
                                               enum log_level denial_level);

#endif
