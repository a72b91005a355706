/* handover_channel: one handover_message per SOCK_SEQPACKET packet on a unix socket, with the
 * listening sockets it describes passed as SCM_RIGHTS descriptors. */
#ifndef HANDOVER_CHANNEL_H
#define HANDOVER_CHANNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "handover_message.h"

/* Sends message with fds (as many as its listener lines; none for the other types). False
 * with errno set when the packet could not be sent whole (EINVAL: not formattable). */
bool handover_send(int socket_fd, const struct handover_message *message, const int *fds);
/* Receives one packet: false with errno set (0 for the peer's end, EPROTO for a packet that is
 * not a message or whose descriptors do not match its lines; any descriptor that came is
 * closed then). On success fds[i] is the i-th listener's descriptor (close-on-exec). */
bool handover_receive(int socket_fd, struct handover_message *message,
                      int fds[HANDOVER_BATCH_MAX]);

#endif
