/* session_request: the request stage — checks, the admission and destination-policy hooks,
 * the name lookup — ending in the handler of the command the client asked for. */
#ifndef SESSION_REQUEST_H
#define SESSION_REQUEST_H

#include "session.h"

/* Starts reading the request (after the method reply or RFC 1929 success). */
void session_request_begin(struct session *session);
/* The request decoder finished (DONE or ERROR) in SESSION_REQUEST. */
void session_request_on_parsed(struct session *session, enum socks5_parse_result result);
/* The connect timeout ran out during the lookup. */
void session_request_on_lookup_timeout(struct session *session);
/* Cancels a lookup still running. */
void session_request_release(struct session *session);

/* What a complete request fails for before anything is looked up or admitted:
 * SOCKS5_FAILURE_NONE when a handler serves its command and its destination is usable. */
enum socks5_failure session_request_check(const struct socks5_request *request);

#endif
