/* fuzz_feed: the input layout every harness shares (a piece-size plan, then the message) and
 * FUZZ_CHECK, which aborts on a broken invariant so libFuzzer and the replay tests notice. */
#ifndef FUZZ_FEED_H
#define FUZZ_FEED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Defined by each harness; called by libFuzzer or by fuzz_replay_main.c. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(condition)                                                                  \
    do {                                                                                       \
        if (!(condition)) {                                                                    \
            fprintf(stderr, "%s:%d: invariant broken: %s\n", __FILE__, __LINE__, #condition); \
            abort();                                                                           \
        }                                                                                      \
    } while (0)

/* Input layout: the low 3 bits of byte 0 say how many piece-size bytes follow it; everything
 * after them is the message. The sizes are used in turn, round and round, so one input decides
 * both what is parsed and how it is cut; 0 sizes = the message is fed whole. */
struct fuzz_plan {
    const uint8_t *sizes;
    size_t size_count;
    size_t next;
    const uint8_t *message;
    size_t message_length;
};

static inline struct fuzz_plan fuzz_plan_from_input(const uint8_t *data, size_t size)
{
    struct fuzz_plan plan = {NULL, 0, 0, data, 0};
    if (size == 0)
        return plan;
    plan.size_count = data[0] & 7u;
    if (plan.size_count > size - 1)
        plan.size_count = size - 1;
    plan.sizes = data + 1;
    plan.message = data + 1 + plan.size_count;
    plan.message_length = size - 1 - plan.size_count;
    return plan;
}

/* The next piece, at most left bytes. 0 asks the harness for an empty feed (after which it
 * feeds one byte, so a plan of zeros still gets through the message). */
static inline size_t fuzz_plan_next_piece(struct fuzz_plan *plan, size_t left)
{
    if (plan->size_count == 0)
        return left;
    size_t piece = plan->sizes[plan->next++ % plan->size_count];
    return piece < left ? piece : left;
}

static inline int fuzz_all_zero(const void *data, size_t length)
{
    const uint8_t *bytes = data;
    for (size_t i = 0; i < length; i++)
        if (bytes[i] != 0)
            return 0;
    return 1;
}

#endif
