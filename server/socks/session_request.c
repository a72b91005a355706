/* session_request: the request stage — checks, the admission and destination-policy hooks,
 * the name lookup — ending in the handler of the command the client asked for. */
#include "session_request.h"

#include "connection_record.h"
#include "counter.h"
#include "latency_histogram.h"
#include "log.h"
#include "proxy.h"
#include "resolver.h"
#include "session_bind.h"
#include "session_connect.h"
#include "session_policy.h"
#include "session_udp.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every command this server serves. One with no entry is answered "command not supported". */
static const struct session_command *const commands[256] = {
    [SOCKS5_CMD_CONNECT] = &session_connect_command,
    [SOCKS5_CMD_BIND] = &session_bind_command,
    [SOCKS5_CMD_UDP_ASSOCIATE] = &session_udp_command,
};

enum socks5_failure session_request_check(const struct socks5_request *request)
{
    if (commands[request->command] == NULL)
        return SOCKS5_FAILURE_COMMAND_UNSUPPORTED;
    if (!socks5_request_domain_usable(request))
        return SOCKS5_FAILURE_HOST_UNREACHABLE;
    return SOCKS5_FAILURE_NONE;
}

void session_request_begin(struct session *session)
{
    session->state = SESSION_REQUEST;
    socks5_request_parser_init(&session->setup->parser.request);
}

static void request_record_destination(struct session *session,
                                       const struct socks5_request *request)
{
    char host[INET6_ADDRSTRLEN + 2];
    const char *name = host;
    if (request->address_type == SOCKS5_ATYP_IPV4) {
        inet_ntop(AF_INET, request->ipv4, host, sizeof(host));
    } else if (request->address_type == SOCKS5_ATYP_IPV6) {
        host[0] = '[';
        inet_ntop(AF_INET6, request->ipv6, host + 1, sizeof(host) - 2);
        strcat(host, "]");
    } else {
        name = request->domain;
    }
    size_t size = strlen(name) + 8;
    char *destination = malloc(size);
    if (destination != NULL)
        snprintf(destination, size, "%s:%u", name, request->port);
    const struct session_command *command = commands[request->command];
    session_record_lock(session);
    session->record->destination = destination;
    if (command != NULL)
        session->record->kind = command->kind;
    session_record_unlock(session);
}

/* An IPv4 or IPv6 literal needs no lookup: a one-entry address list inside the setup. */
static void request_use_literal(struct session_setup *setup, const struct socks5_request *request)
{
    struct addrinfo *entry = &setup->literal;
    entry->ai_socktype = SOCK_STREAM;
    entry->ai_protocol = IPPROTO_TCP;
    entry->ai_addr = (struct sockaddr *)&setup->literal_address;
    if (request->address_type == SOCKS5_ATYP_IPV4) {
        struct sockaddr_in *in4 = (struct sockaddr_in *)entry->ai_addr;
        in4->sin_family = AF_INET;
        memcpy(&in4->sin_addr, request->ipv4, 4);
        in4->sin_port = htons(request->port);
        entry->ai_family = AF_INET;
        entry->ai_addrlen = sizeof(*in4);
    } else {
        struct sockaddr_in6 *in6 = &setup->literal_address;
        in6->sin6_family = AF_INET6;
        memcpy(&in6->sin6_addr, request->ipv6, 16);
        in6->sin6_port = htons(request->port);
        entry->ai_family = AF_INET6;
        entry->ai_addrlen = sizeof(*in6);
    }
    setup->addresses = entry;
}

static void request_start_command(struct session *session, const struct session_command *command)
{
    session->stage = &command->stage;
    session->state = SESSION_COMMAND;
    session->command_step = 0;
    command->start(session);
}

/* The destination's addresses are known: the policy sees every one of them before any is
 * connected, then the command's handler takes over. */
static void request_on_destination_known(struct session *session)
{
    struct session_setup *setup = session->setup;
    const struct socks5_request *request = &setup->parser.request.request;
    enum socks5_failure verdict =
        session_destination_policy(session->proxy, session->record, request,
                                   (const struct sockaddr *)&setup->peer, setup->addresses,
                                   LOG_INFO);
    if (verdict != SOCKS5_FAILURE_NONE) {
        session_refuse(session, verdict);
        return;
    }
    request_start_command(session, commands[request->command]);
}

static void request_on_resolved(void *owner, struct addrinfo *result, int error)
{
    struct session *session = owner;
    session->setup->query = NULL;
    if (result == NULL) {
        log_message(LOG_DEBUG, "connection %llu: lookup failed: %s",
                    (unsigned long long)session->record->id, gai_strerror(error));
        session_refuse(session, SOCKS5_FAILURE_LOOKUP_FAILED);
        return;
    }
    session->setup->addresses = result;
    request_on_destination_known(session);
}

static void request_on_complete(struct session *session)
{
    struct proxy *proxy = session->proxy;
    const struct socks5_request *request = &session->setup->parser.request.request;
    request_record_destination(session, request);
    enum socks5_failure verdict = session_request_check(request);
    if (verdict == SOCKS5_FAILURE_NONE)
        verdict = session_admission(session, request);
    if (verdict != SOCKS5_FAILURE_NONE) {
        session_refuse(session, verdict);
        return;
    }
    event_loop_timer_start(proxy->loop, &session->timer, proxy->settings.connect_timeout_ms);
    if (commands[request->command]->names_client_side) {
        request_start_command(session, commands[request->command]);
        return;
    }
    if (request->address_type != SOCKS5_ATYP_DOMAIN) {
        request_use_literal(session->setup, request);
        request_on_destination_known(session);
        return;
    }
    verdict = session_destination_policy_before_lookup(
        proxy, session->record, request, (const struct sockaddr *)&session->setup->peer,
        LOG_INFO);
    if (verdict != SOCKS5_FAILURE_NONE) {
        session_refuse(session, verdict);
        return;
    }
    counter_add(&proxy->metrics.dns_connections, 1);
    session->state = SESSION_RESOLVING;
    session->setup->query = resolver_lookup(proxy->resolver_pool, request->domain, request->port,
                                            request_on_resolved, session);
    if (session->setup->query == NULL) {
        session_refuse(session, SOCKS5_FAILURE_LOCAL_RESOURCES);
        return;
    }
    session_update_interest(session);
}

void session_request_on_parsed(struct session *session, enum socks5_parse_result result)
{
    if (result == SOCKS5_PARSE_ERROR) {
        enum socks5_parse_error error = session->setup->parser.request.error;
        session_refuse(session, socks5_failure_of_parse_error(error));
        return;
    }
    session->setup->requested_us = latency_clock_us();
    request_on_complete(session);
}

void session_request_on_lookup_timeout(struct session *session)
{
    session_refuse(session, SOCKS5_FAILURE_LOOKUP_TIMEOUT);
}

void session_request_release(struct session *session)
{
    struct session_setup *setup = session->setup;
    if (setup != NULL && setup->query != NULL) {
        resolver_cancel(setup->query);
        setup->query = NULL;
    }
}
