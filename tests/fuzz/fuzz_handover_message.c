/* fuzz_handover_message: libFuzzer harness for the upgrade hand-over's messages — any packet is
 * parsed without reading past it, and one that parses formats back to the very same bytes (the
 * wire form is canonical), within the message's limits. */
#include "fuzz_feed.h"
#include "handover_message.h"

#include <string.h>

/* The input is one packet (no piece plan: a SOCK_SEQPACKET packet arrives whole). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy of exactly size bytes: ASan catches a read past the packet. */
    char *packet = malloc(size > 0 ? size : 1);
    FUZZ_CHECK(packet != NULL);
    memcpy(packet, data, size);
    struct handover_message message;
    if (handover_message_parse(packet, size, &message)) {
        FUZZ_CHECK(size <= HANDOVER_MESSAGE_MAX);
        FUZZ_CHECK(message.listener_count <= HANDOVER_BATCH_MAX);
        FUZZ_CHECK(message.type != HANDOVER_LISTENERS || message.listener_count > 0);
        for (size_t i = 0; i < message.listener_count; i++) {
            FUZZ_CHECK(message.listeners[i].kind < HANDOVER_KIND_COUNT);
            FUZZ_CHECK(strlen(message.listeners[i].address) <= HANDOVER_ADDRESS_MAX);
        }
        char again[HANDOVER_MESSAGE_MAX];
        size_t length = handover_message_format(&message, again, sizeof(again));
        FUZZ_CHECK(length == size);
        FUZZ_CHECK(memcmp(again, packet, size) == 0);
    }
    free(packet);
    return 0;
}
