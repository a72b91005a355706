/* fuzz_server_list: libFuzzer harness for socks5ctl's --servers files — any bytes parse the same
 * way twice; a list it accepts holds valid addresses only; a refusal names the file first. */
#include "fuzz_feed.h"
#include "server_list.h"

#include <string.h>

#define FILE_NAME "servers.txt"

static bool valid_port(const char *port)
{
    if (port[0] == '\0')
        return true;
    unsigned long value = strtoul(port, NULL, 10);
    return strspn(port, "0123456789") == strlen(port) && value >= 1 && value <= 65535;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy, so ASan sees any read past the text's end. */
    char *text = malloc(size > 0 ? size : 1);
    FUZZ_CHECK(text != NULL);
    if (size > 0)
        memcpy(text, data, size);
    struct server_list first, second;
    char error[256] = "", again[256] = "";
    bool parsed = server_list_parse(text, size, FILE_NAME, &first, error, sizeof(error));
    bool reparsed = server_list_parse(text, size, FILE_NAME, &second, again, sizeof(again));
    FUZZ_CHECK(parsed == reparsed);
    if (parsed) {
        FUZZ_CHECK(first.count > 0 && first.count == second.count);
        for (size_t i = 0; i < first.count; i++) {
            const struct server_address *address = &first.addresses[i];
            FUZZ_CHECK(memcmp(address, &second.addresses[i], sizeof(*address)) == 0);
            FUZZ_CHECK(address->host[0] != '\0' && strpbrk(address->host, " \t\r\n#") == NULL);
            FUZZ_CHECK(valid_port(address->port));
            /* An address read from a file splits the same way as from -a. */
            char line[SERVER_HOST_MAX + SERVER_PORT_MAX + 4];
            const char *format = strchr(address->host, ':') != NULL ? "[%s]%s%s" : "%s%s%s";
            snprintf(line, sizeof(line), format, address->host, address->port[0] ? ":" : "",
                     address->port);
            struct server_address split;
            FUZZ_CHECK(server_address_split(line, &split, NULL, 0));
            FUZZ_CHECK(strcmp(split.host, address->host) == 0);
            FUZZ_CHECK(strcmp(split.port, address->port) == 0);
        }
    } else {
        FUZZ_CHECK(strncmp(error, FILE_NAME ":", strlen(FILE_NAME ":")) == 0);
        FUZZ_CHECK(strcmp(error, again) == 0);
        FUZZ_CHECK(first.count == 0 && first.addresses == NULL);
    }
    server_list_free(&first);
    server_list_free(&second);
    free(text);
    return 0;
}
