/* session: one SOCKS5 client connection's life — live list, connection record, interest mask,
 * timer, final reply, close — and the interfaces of the stages that drive it in between. */
#ifndef SESSION_H
#define SESSION_H

#include "connection_record.h"
#include "event_loop.h"
#include "proxy_header.h"
#include "relay.h"
#include "socks5_failure.h"
#include "socks5_parser.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct proxy;
struct connection_record;
struct resolver_query;
struct user;
struct session;

enum session_state {
    SESSION_PRE_GREETING, /* the proxy's pre-greeting stage reads what precedes the greeting */
    SESSION_GREETING,     /* reading VER NMETHODS METHODS */
    SESSION_AUTH,         /* reading the RFC 1929 username/password */
    SESSION_AUTH_CHECK,   /* the auth backend checks the password */
    SESSION_AUTH_PENALTY, /* a failed login's answer waits: repeated guessing gets slow */
    SESSION_REQUEST,      /* reading VER CMD RSV ATYP DST.ADDR DST.PORT */
    SESSION_RESOLVING,    /* getaddrinfo runs on the work pool */
    SESSION_COMMAND,      /* the command's handler owns the connection, in its own steps */
    SESSION_CLOSING,      /* flushing a final reply */
    SESSION_DRAINING,     /* reply sent and FIN sent: reading what the client still sends */
    SESSION_CLOSED,       /* everything released; the memory goes at the end of the iteration */
};

/* What drives a session in the states it owns: the handshake (session_handshake) owns
 * PRE_GREETING to RESOLVING, a command's handler owns COMMAND; the session itself owns
 * CLOSING, DRAINING and CLOSED, and the client's events while a waiting state waits. */
struct session_stage {
    void (*on_client)(struct session *session, unsigned events);
    void (*on_remote)(struct session *session, unsigned events); /* NULL: no remote socket */
    void (*on_timeout)(struct session *session);
    /* The interest its current step wants; asked in COMMAND only (the session knows the
     * handshake's states). */
    void (*interest)(const struct session *session, unsigned *client_mask, unsigned *remote_mask);
    /* Gives up what only the stage holds, such as work still running off the loop; the
     * session closes the sockets and frees the rest. NULL: nothing. */
    void (*release)(struct session *session);
};

/* One SOCKS5 command (RFC 1928 CMD). A command with no handler is answered "command not
 * supported". */
struct session_command {
    /* Takes over once the request passed every check and hook: the setup's addresses are the
     * destination's, every one of them allowed by the destination policy. */
    void (*start)(struct session *session);
    enum connection_kind kind; /* what its connection record shows */
    struct session_stage stage; /* on readiness, on timeout, release */
    /* The request's DST.ADDR/DST.PORT name the client's own side (UDP ASSOCIATE: where its
     * datagrams will come from), not a destination: nothing is looked up or judged by the
     * destination policy before start; the handler judges each destination itself. */
    bool names_client_side;
};

/* A stage before the SOCKS5 greeting, set per proxy (session_proxy_header reads the PROXY
 * protocol's header there). It takes the client's first bytes as a parser does: MORE (what it
 * took is gone, what it left stays buffered for the next call), DONE (what follows is the
 * greeting) or ERROR (closed without an answer; the stage counts why). */
struct session_prelude {
    /* Once, before any byte. Its decoder's state belongs in the setup's parser union (a
     * member of its own there), which the greeting's decoder reuses once it is DONE. */
    void (*begin)(struct session *session);
    enum socks5_parse_result (*consume)(struct session *session, const uint8_t *data,
                                        size_t length, size_t *consumed);
    /* The client hung up (timed_out false) or the handshake timeout fired while the stage
     * was still reading: counts it if it should; the session closes after. NULL: nothing. */
    void (*abandoned)(struct session *session, bool timed_out);
};

/* What a session holds only until its command has its connection: parsers, the
 * destination's addresses, work running off the loop. Wiped when freed: it may hold a
 * password. */
struct session_setup {
    union {
        struct socks5_greeting_parser greeting;
        struct socks5_auth_parser auth;
        struct socks5_request_parser request;
        struct {
            bool trusted; /* the peer may, and must, send a header */
            struct proxy_header_parser header;
        } proxy;
    } parser;
    /* The client's address (a PROXY header's client, once read): for the login throttle,
     * admission, the rules and UDP ASSOCIATE's client check. */
    struct sockaddr_storage peer;
    struct resolver_query *query;
    void *auth_pending; /* the auth backend's handle of a check still running */
    struct addrinfo *addresses; /* the destination's: resolved, or the literal below */
    struct addrinfo *next_address;
    struct addrinfo literal;          /* an IPv4 or IPv6 literal needs no lookup */
    struct sockaddr_in6 literal_address;
    int last_connect_error;
    struct sockaddr_storage connected_to; /* the address being connected */
    uint64_t accepted_us;  /* latency_clock_us() when accepted, and when the request was read */
    uint64_t requested_us;
};

struct session {
    struct proxy *proxy;
    struct session *previous;
    struct session *next;
    const struct session_stage *stage;
    enum session_state state;
    uint8_t command_step; /* the command handler's own state in SESSION_COMMAND */
    /* In a waiting state (auth check, lookup, connect) the client said something more: stop
     * reading it until the wait is over. Until then its read interest is left as it was,
     * so a wait costs no epoll_ctl at all for the usual client that waits too. */
    bool client_muted;
    struct event_watcher client;
    struct event_watcher remote; /* fd -1 until a connect is tried */
    struct event_timer timer;    /* handshake, connect or idle deadline, by state */
    uint64_t last_activity_ms;
    struct relay_direction upstream;   /* client → remote; holds the handshake bytes too */
    struct relay_direction downstream; /* remote → client; holds the handshake replies too */
    struct session_setup *setup;       /* NULL once the command has its connection */
    void *command_data;                /* the command handler's own; its release frees it */
    struct connection_record *record;
    /* What admission took (a slot of the user's max-connections, one of the client address's),
     * given back when the session closes, whatever the path. */
    bool holds_user_slot;
    struct address_slot *address_slot;
    /* A limited user's tunnel with no budget left for a direction stops reading that side
     * until budget_timer fires (the idle timer stays as it is). */
    bool upload_throttled;
    bool download_throttled;
    struct event_timer budget_timer;
};

/* Takes ownership of client_fd: a live session in first_state, driven by stage, with the
 * handshake timer running; NULL (fd closed, counted as a server error) when out of memory. */
struct session *session_create(struct proxy *proxy, int client_fd,
                               const struct sockaddr_storage *peer,
                               const struct session_stage *stage, enum session_state first_state);

/* The single exit of every session. reset_client/reset_remote send RST instead of FIN. */
void session_close(struct session *session, bool reset_client, bool reset_remote);
/* Sends a final reply (reply NULL: what is already queued, if anything), then half-closes
 * and drains the client before closing, so that its unread input cannot reset the reply. */
void session_end(struct session *session, const uint8_t *reply, size_t length);
/* Refuses the request for cause: its REP code on the wire, its counters, its record. */
void session_refuse(struct session *session, enum socks5_failure cause);

/* Recomputes what both sockets are watched for, from the state and the buffers. */
void session_update_interest(struct session *session);
/* The client's read interest during a wait: none once it was muted. */
unsigned session_waiting_client_mask(const struct session *session);
/* A client event while the session waits on something else (crypt, resolver, connect). */
void session_on_waiting_client(struct session *session, unsigned events);

/* Queues bytes for the client: handshake replies travel the downstream buffer like relayed
 * data, so one write path handles partial writes for both. */
bool session_queue_reply(struct session *session, const uint8_t *bytes, size_t length);
/* Writes what is pending toward the client now; false if the client is gone. */
bool session_flush_to_client(struct session *session);

/* Watches fd (non-blocking, owned from now on) as the session's remote socket. */
void session_attach_remote(struct session *session, int fd);
/* The same for a UDP socket (no TCP tuning). */
void session_attach_datagram_socket(struct session *session, int fd);
void session_close_remote(struct session *session);
/* Frees the setup; its addresses go with it. */
void session_free_setup(struct session *session);

/* The record: other threads (the admin) read it under the worker's sessions lock. */
void session_record_lock(struct session *session);
void session_record_unlock(struct session *session);
void session_record_status(struct session *session, uint8_t status, bool replied);
/* The address the session reached (a UDP association: the one it reached last). */
void session_record_destination_address(struct session *session, const struct sockaddr *address);
/* The session belongs to user from now on (takes the caller's reference). */
void session_record_user(struct session *session, struct user *user);

#endif
