/* login_throttle: failed logins counted per source address (an IPv4 address, an IPv6 /64),
 * answered later and later as they pile up, so guessing passwords is slow and others unharmed. */
#ifndef LOGIN_THROTTLE_H
#define LOGIN_THROTTLE_H

#include <stdint.h>
#include <sys/socket.h>

struct login_throttle;

struct login_throttle *login_throttle_create(void);
void login_throttle_destroy(struct login_throttle *throttle);
/* Counts a failure from source; returns how many milliseconds its answer must wait
 * (0 for the first few, then doubling up to a ceiling). */
uint32_t login_throttle_failure(struct login_throttle *throttle, const struct sockaddr *source,
                                uint64_t now_ms);
/* A success from source forgives its failures. */
void login_throttle_success(struct login_throttle *throttle, const struct sockaddr *source);

#endif
