/* siphash: SipHash-2-4 (Aumasson & Bernstein), a keyed 64-bit hash. Used for the users
 * table's bucket index and for the in-memory digest of recently verified passwords. */
#ifndef SIPHASH_H
#define SIPHASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t siphash24(const uint8_t key[16], const void *data, size_t length);

#endif
