/* take_over: the new process's side of an upgrade — receives the running socks5d's listening
 * sockets over its upgrade socket (SCM_RIGHTS), hands them out by kind and address, then
 * tells it to stop accepting, or why this process refused. */
#ifndef TAKE_OVER_H
#define TAKE_OVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "handover_message.h"

struct take_over;

/* Connects to path and receives every listener the running process offers. NULL, logged,
 * when it cannot (nothing listens there, another take-over is under way, a protocol error):
 * the running process is left as it was. */
struct take_over *take_over_receive(const char *path);
pid_t take_over_running_pid(const struct take_over *take);

/* Takes the sockets of kind bound to address (a port of 0 matches any port): up to max
 * descriptors into fds (the caller owns them then). Returns how many there were; fewer than
 * that are taken when max is smaller (the rest stay here, and are closed with it). */
size_t take_over_claim(struct take_over *take, enum handover_kind kind,
                       const struct sockaddr *address, socklen_t length, int *fds, size_t max);
/* The unix socket of kind bound to path: its descriptor (the caller's), or -1. */
int take_over_claim_path(struct take_over *take, enum handover_kind kind, const char *path);
/* The first socket of kind nobody claimed, as "socks 127.0.0.1:1080"; false when every one of
 * that kind was. */
bool take_over_unclaimed(const struct take_over *take, enum handover_kind kind, char *text,
                         size_t size);
/* What the running process is told when this one gives up (the destroy sends it). */
void take_over_refuse(struct take_over *take, const char *reason);

/* Once this process serves: tells the running one, which stops accepting and answers with its
 * live tunnels and grace time (logged). False when it did not answer in time. */
bool take_over_complete(struct take_over *take);
/* Closes every unclaimed descriptor; before take_over_complete, the running process is told
 * this one refused (the reason given, or "did not start") and goes on serving. */
void take_over_destroy(struct take_over *take);

#endif
