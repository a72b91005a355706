/* siphash: SipHash-2-4 (Aumasson & Bernstein), a keyed 64-bit hash. Used for the users
 * table's bucket index and for the in-memory digest of recently verified passwords. */
#include "siphash.h"

#include <string.h>

#define ROTATE_LEFT(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t value = 0;
    for (int i = 7; i >= 0; i--)
        value = (value << 8) | p[i];
    return value;
}

#define SIP_ROUND(v0, v1, v2, v3)                                                        \
    do {                                                                                 \
        v0 += v1; v1 = ROTATE_LEFT(v1, 13); v1 ^= v0; v0 = ROTATE_LEFT(v0, 32);          \
        v2 += v3; v3 = ROTATE_LEFT(v3, 16); v3 ^= v2;                                    \
        v0 += v3; v3 = ROTATE_LEFT(v3, 21); v3 ^= v0;                                    \
        v2 += v1; v1 = ROTATE_LEFT(v1, 17); v1 ^= v2; v2 = ROTATE_LEFT(v2, 32);          \
    } while (0)

uint64_t siphash24(const uint8_t key[16], const void *data, size_t length)
{
    const uint8_t *in = data;
    uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);
    uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
    uint64_t v3 = 0x7465646279746573ULL ^ k1;

    size_t whole = length - (length % 8);
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m = load_le64(in + i);
        v3 ^= m;
        SIP_ROUND(v0, v1, v2, v3);
        SIP_ROUND(v0, v1, v2, v3);
        v0 ^= m;
    }
    uint8_t tail[8] = { 0 };
    memcpy(tail, in + whole, length % 8);
    uint64_t last = ((uint64_t)length << 56) | load_le64(tail);
    v3 ^= last;
    SIP_ROUND(v0, v1, v2, v3);
    SIP_ROUND(v0, v1, v2, v3);
    v0 ^= last;
    v2 ^= 0xff;
    for (int i = 0; i < 4; i++)
        SIP_ROUND(v0, v1, v2, v3);
    return v0 ^ v1 ^ v2 ^ v3;
}
