/* fuzz_destination_rules: libFuzzer harness for the destination rules' parsers and engine — the
 * input is rules as "key=value" lines (a blank line starts the next rule); whatever is accepted
 * must describe itself as text that builds the same rules, and decide a few fixed requests
 * consistently with the safe defaults. */
#include "destination_rules.h"
#include "fuzz_feed.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#define LINE_MAX_LENGTH 512
#define DESCRIPTION_SIZE 4096

/* Builds rules from the lines of text; a rule that does not finish is still kept (its fields
 * as far as they went), as a config loader would have refused the file by then. */
static struct rule_set *build(const char *text, size_t length)
{
    struct rule_set *rules = rule_set_create();
    FUZZ_CHECK(rules != NULL);
    struct destination_rule *rule = NULL;
    size_t start = 0;
    while (start <= length) {
        const char *end = memchr(text + start, '\n', length - start);
        size_t line_length = end != NULL ? (size_t)(end - (text + start)) : length - start;
        char line[LINE_MAX_LENGTH];
        if (line_length < sizeof(line)) {
            memcpy(line, text + start, line_length);
            line[line_length] = '\0';
            char error[256] = "";
            if (line_length == 0) {
                if (rule != NULL)
                    destination_rule_finish(rule, error, sizeof(error));
                rule = NULL;
            } else {
                if (rule == NULL)
                    rule = rule_set_add(rules, (unsigned)start + 1);
                char *equals = strchr(line, '=');
                const char *value = "";
                if (equals != NULL) {
                    *equals = '\0';
                    value = equals + 1;
                }
                bool accepted =
                    destination_rule_set_field(rule, line, value, error, sizeof(error));
                FUZZ_CHECK(accepted || error[0] != '\0');
            }
        }
        if (end == NULL)
            break;
        start += line_length + 1;
    }
    return rules;
}

static void check_round_trip(const struct rule_set *rules)
{
    for (size_t i = 0; i < rule_set_count(rules); i++) {
        char description[DESCRIPTION_SIZE], again[DESCRIPTION_SIZE];
        rule_set_describe(rules, i, description, sizeof(description));
        if (strlen(description) + 1 >= sizeof(description))
            continue; /* cut short: nothing to compare */
        /* "deny name=x port=22" → action=deny, name=x, port=22 */
        struct rule_set *rebuilt = rule_set_create();
        struct destination_rule *rule = rule_set_add(rebuilt, 1);
        char copy[DESCRIPTION_SIZE];
        memcpy(copy, description, strlen(description) + 1);
        char *save = NULL, error[256];
        char *word = strtok_r(copy, " ", &save);
        FUZZ_CHECK(word != NULL);
        FUZZ_CHECK(destination_rule_set_field(rule, "action", word, error, sizeof(error)));
        while ((word = strtok_r(NULL, " ", &save)) != NULL) {
            char *equals = strchr(word, '=');
            FUZZ_CHECK(equals != NULL);
            *equals = '\0';
            FUZZ_CHECK(destination_rule_set_field(rule, word, equals + 1, error, sizeof(error)));
        }
        FUZZ_CHECK(destination_rule_finish(rule, error, sizeof(error)));
        rule_set_describe(rebuilt, 0, again, sizeof(again));
        FUZZ_CHECK(strcmp(description, again) == 0);
        rule_set_destroy(rebuilt);
    }
}

static struct sockaddr_storage address_of(const char *text)
{
    struct sockaddr_storage storage;
    memset(&storage, 0, sizeof(storage));
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&storage;
        in6->sin6_family = AF_INET6;
        inet_pton(AF_INET6, text, &in6->sin6_addr);
    } else {
        struct sockaddr_in *in4 = (struct sockaddr_in *)&storage;
        in4->sin_family = AF_INET;
        inet_pton(AF_INET, text, &in4->sin_addr);
    }
    return storage;
}

static const char *const destinations[] = {"198.51.100.1", "10.0.0.1",  "127.0.0.1",
                                           "::ffff:127.0.0.1", "::1",   "169.254.169.254",
                                           "fe80::1",      "2001:db8::1", "255.255.255.255"};
static const bool safe_default[] = {false, false, true, true, true, true, true, false, true};

static void check_decisions(const struct rule_set *rules, const struct rule_facts *facts)
{
    struct rule_decision before;
    enum rule_verdict early = rule_set_decide(rules, facts, NULL, false, &before);
    FUZZ_CHECK(early == before.verdict);
    FUZZ_CHECK(before.default_reason == NULL);
    for (size_t i = 0; i < sizeof(destinations) / sizeof(destinations[0]); i++) {
        struct sockaddr_storage storage = address_of(destinations[i]);
        for (int loopback = 0; loopback < 2; loopback++) {
            struct rule_decision decision;
            enum rule_verdict verdict = rule_set_decide(
                rules, facts, (const struct sockaddr *)&storage, loopback, &decision);
            FUZZ_CHECK(verdict == decision.verdict);
            FUZZ_CHECK(verdict != RULE_VERDICT_NEEDS_ADDRESS);
            FUZZ_CHECK(decision.rule_index == RULE_INDEX_NONE ||
                       decision.rule_index < rule_set_count(rules));
            /* a denial by the rules before the lookup holds for every address, by that rule */
            if (early == RULE_VERDICT_DENY) {
                FUZZ_CHECK(verdict == RULE_VERDICT_DENY);
                FUZZ_CHECK(decision.rule_index == before.rule_index);
            }
            /* a safe default is only ever opened by an allow rule (loopback: or the flag) */
            bool lifted = loopback && strstr(destinations[i], "127.") != NULL;
            lifted = lifted || (loopback && strcmp(destinations[i], "::1") == 0);
            if (safe_default[i] && !lifted && verdict == RULE_VERDICT_ALLOW) {
                FUZZ_CHECK(decision.rule_index != RULE_INDEX_NONE);
                FUZZ_CHECK(rule_set_rule_action(rules, decision.rule_index) == RULE_ALLOW);
            }
            if (verdict == RULE_VERDICT_DENY && decision.rule_index == RULE_INDEX_NONE)
                FUZZ_CHECK(decision.default_reason != NULL);
            uint64_t hits = decision.rule_index != RULE_INDEX_NONE
                                ? rule_set_rule_hits(rules, decision.rule_index)
                                : 0;
            rule_set_count_hit(rules, &decision);
            if (decision.rule_index != RULE_INDEX_NONE)
                FUZZ_CHECK(rule_set_rule_hits(rules, decision.rule_index) == hits + 1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rule_set *rules = build((const char *)data, size);
    check_round_trip(rules);
    struct sockaddr_storage client = address_of("192.0.2.10");
    struct rule_facts facts = {
        .user_name = "alice",
        .admin_role = false,
        .client = (const struct sockaddr *)&client,
        .domain = "www.example.com",
        .port = 443,
        .command = RULE_COMMAND_CONNECT,
    };
    check_decisions(rules, &facts);
    facts.domain = NULL;
    facts.admin_role = true;
    facts.user_name = "anonymous";
    facts.port = 22;
    facts.command = RULE_COMMAND_UDP;
    check_decisions(rules, &facts);
    char defaults[512];
    rule_set_describe_defaults(defaults, sizeof(defaults));
    rule_set_destroy(rules);
    return 0;
}
