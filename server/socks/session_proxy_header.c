/* session_proxy_header: the PROXY protocol as a session's pre-greeting stage — a header required
 * from --proxy-protocol-from sources and refused from others; its client becomes the session's. */
#include "session_proxy_header.h"

#include "counter.h"
#include "log.h"
#include "net.h"
#include "policy.h"
#include "proxy.h"

#include <string.h>

static void proxy_header_refuse(struct session *session, uint64_t *counter, const char *why)
{
    counter_add(counter, 1);
    log_message(LOG_DEBUG, "connection %llu from %s: PROXY header refused: %s",
                (unsigned long long)session->record->id, session->record->client, why);
}

static void proxy_header_begin(struct session *session)
{
    struct session_setup *setup = session->setup;
    const struct policy *policy = session->proxy->settings.policy;
    setup->parser.proxy.trusted =
        policy != NULL &&
        policy_trusts_proxy_header(policy, (const struct sockaddr *)&setup->peer);
    proxy_header_parser_init(&setup->parser.proxy.header);
}

/* The header's source is the client from now on: the record and access log show it, the login
 * throttle, admission (per-address limits), the rules' `from` and UDP ASSOCIATE's client
 * check all read setup->peer, none of them before the greeting. */
static void proxy_header_take_client(struct session *session)
{
    const struct proxy_header_parser *header = &session->setup->parser.proxy.header;
    struct connection_record *record = session->record;
    counter_add(&session->proxy->metrics.proxy_headers, 1);
    if (!header->has_addresses) {
        log_message(LOG_DEBUG, "connection %llu from %s: PROXY header names no client (a "
                    "health check, LOCAL or UNKNOWN): the connection's own address stands",
                    (unsigned long long)record->id, record->client);
        return;
    }
    struct sockaddr_storage *peer = &session->setup->peer;
    memset(peer, 0, sizeof(*peer));
    memcpy(peer, &header->source,
           header->source.any.sa_family == AF_INET ? sizeof(header->source.in4)
                                                   : sizeof(header->source.in6));
    char client[NET_ADDRESS_TEXT_MAX];
    net_format_address((const struct sockaddr *)peer, client);
    log_message(LOG_DEBUG, "connection %llu from %s: PROXY header: client %s",
                (unsigned long long)record->id, record->client, client);
    session_record_lock(session);
    memcpy(record->client, client, sizeof(record->client));
    session_record_unlock(session);
}

/* From a source that is not trusted: the bytes stay for the greeting unless they are a
 * header's signature (then refused, never taken as SOCKS). A greeting's first byte (0x05)
 * decides at once. */
static enum socks5_parse_result proxy_header_screen(struct session *session,
                                                    const uint8_t *data, size_t length)
{
    switch (proxy_header_signature_match(data, length)) {
    case PROXY_SIGNATURE_NONE:
        return SOCKS5_PARSE_DONE;
    case PROXY_SIGNATURE_PARTIAL:
        return SOCKS5_PARSE_MORE;
    case PROXY_SIGNATURE_FOUND:
        break;
    }
    proxy_header_refuse(session, &session->proxy->metrics.proxy_header_untrusted,
                        "the source is not in --proxy-protocol-from");
    return SOCKS5_PARSE_ERROR;
}

static enum socks5_parse_result proxy_header_consume(struct session *session,
                                                     const uint8_t *data, size_t length,
                                                     size_t *consumed)
{
    *consumed = 0;
    if (!session->setup->parser.proxy.trusted)
        return proxy_header_screen(session, data, length);
    struct proxy_header_parser *header = &session->setup->parser.proxy.header;
    struct metrics *metrics = &session->proxy->metrics;
    switch (proxy_header_parser_feed(header, data, length, consumed)) {
    case PROXY_HEADER_MORE:
        return SOCKS5_PARSE_MORE;
    case PROXY_HEADER_DONE:
        proxy_header_take_client(session);
        return SOCKS5_PARSE_DONE;
    case PROXY_HEADER_MISSING:
        proxy_header_refuse(session, &metrics->proxy_header_missing,
                            "a trusted source must start with one");
        return SOCKS5_PARSE_ERROR;
    case PROXY_HEADER_MALFORMED:
        proxy_header_refuse(session, &metrics->proxy_header_malformed,
                            proxy_header_error_text(header->error));
        return SOCKS5_PARSE_ERROR;
    }
    return SOCKS5_PARSE_ERROR;
}

/* A trusted source that closes before its first byte is a balancer's plain TCP check, not a
 * header cut short: not counted. */
static void proxy_header_abandoned(struct session *session, bool timed_out)
{
    const struct session_setup *setup = session->setup;
    struct metrics *metrics = &session->proxy->metrics;
    if (!setup->parser.proxy.trusted)
        return;
    if (timed_out)
        proxy_header_refuse(session, &metrics->proxy_header_slow,
                            "not complete within the handshake timeout");
    else if (setup->parser.proxy.header.taken > 0)
        proxy_header_refuse(session, &metrics->proxy_header_truncated,
                            "the client hung up inside it");
}

const struct session_prelude session_proxy_header_prelude = {
    .begin = proxy_header_begin,
    .consume = proxy_header_consume,
    .abandoned = proxy_header_abandoned,
};
