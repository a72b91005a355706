/* session_udp: the UDP ASSOCIATE command (RFC 1928 sections 6 and 7) — a relay socket for the
 * client's datagrams, their destinations judged and looked up, the replies wrapped back. */
#ifndef SESSION_UDP_H
#define SESSION_UDP_H

#include "session.h"

struct proxy;

extern const struct session_command session_udp_command;

/* Frees the datagram batches the worker's associations shared (after its last session). */
void session_udp_release_worker(struct proxy *proxy);

#endif
