/* listener: accepts on one listening socket until EAGAIN and hands each new connection over;
 * pauses (no busy loop, established connections untouched) when out of descriptors or slots. */
#ifndef LISTENER_H
#define LISTENER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

struct event_loop;
struct listener;

/* Takes ownership of fd. Returns false to refuse it (the listener then closes it). */
typedef void (*listener_accept_handler)(void *context, int fd,
                                        const struct sockaddr_storage *peer);
/* Asked before each accept: false pauses accepting until listener_resume, or until a recheck
 * a few tens of milliseconds later (capacity may be shared with other threads' listeners). */
typedef bool (*listener_capacity_handler)(void *context);

/* pause_counter, when not NULL, is incremented (counter.h) each time accepting pauses. */
struct listener *listener_create(struct event_loop *loop, int listening_fd,
                                 listener_accept_handler on_accept,
                                 listener_capacity_handler has_capacity, void *context,
                                 uint64_t *pause_counter);
/* paused_gauge, when not NULL, is 1 more (counter_add) while this listener is paused, on the
 * listener's thread: a level beside the count of pauses. */
void listener_count_paused(struct listener *listener, uint64_t *paused_gauge);
/* Takes the socket out of the loop, then closes it: a socket shared with another process
 * (passed on by an upgrade) is left to it whole, since epoll would otherwise keep watching it
 * until every copy were closed. */
void listener_destroy(struct listener *listener);
/* The listening socket, still the listener's. */
int listener_fd(const struct listener *listener);
/* Call when capacity frees up; cheap when the listener is not paused. */
void listener_resume(struct listener *listener);

#endif
