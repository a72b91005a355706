/* test_destination_rules: Check suite for server/policy/destination_rules and rule_fields —
 * every field alone and combined, first-match order, the decision before the lookup, the safe
 * defaults in every spelling, rule text written back, errors, garbage byte by byte, hits. */
#include "destination_rules.h"
#include "rule_fields.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

static struct sockaddr_storage address_of(const char *text)
{
    struct sockaddr_storage storage;
    memset(&storage, 0, sizeof(storage));
    if (strchr(text, ':') != NULL) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&storage;
        in6->sin6_family = AF_INET6;
        ck_assert_msg(inet_pton(AF_INET6, text, &in6->sin6_addr) == 1, "bad literal %s", text);
    } else {
        struct sockaddr_in *in4 = (struct sockaddr_in *)&storage;
        in4->sin_family = AF_INET;
        ck_assert_msg(inet_pton(AF_INET, text, &in4->sin_addr) == 1, "bad literal %s", text);
    }
    return storage;
}

/* One rule per line, each "key=value key=value ...", as a config file would give them. */
static struct rule_set *rules_of(const char *const lines[])
{
    struct rule_set *rules = rule_set_create();
    ck_assert_ptr_nonnull(rules);
    for (size_t i = 0; lines[i] != NULL; i++) {
        struct destination_rule *rule = rule_set_add(rules, (unsigned)i + 1);
        ck_assert_ptr_nonnull(rule);
        char *copy = strdup(lines[i]);
        char *save = NULL;
        for (char *word = strtok_r(copy, " ", &save); word != NULL;
             word = strtok_r(NULL, " ", &save)) {
            char *equals = strchr(word, '=');
            ck_assert_msg(equals != NULL, "'%s' is not key=value", word);
            *equals = '\0';
            char error[256];
            ck_assert_msg(destination_rule_set_field(rule, word, equals + 1, error, sizeof(error)),
                          "%s=%s: %s", word, equals + 1, error);
        }
        free(copy);
        char error[256];
        ck_assert_msg(destination_rule_finish(rule, error, sizeof(error)), "%s", error);
    }
    return rules;
}

static struct sockaddr_storage alice_client;

/* alice (role user) from 192.0.2.10, CONNECT to port 443 of an address (no name). */
static struct rule_facts alice(void)
{
    alice_client = address_of("192.0.2.10");
    return (struct rule_facts){
        .user_name = "alice",
        .admin_role = false,
        .client = (const struct sockaddr *)&alice_client,
        .domain = NULL,
        .port = 443,
        .command = RULE_COMMAND_CONNECT,
    };
}

static enum rule_verdict decide_at(const struct rule_set *rules, const struct rule_facts *facts,
                                   const char *address, bool allow_loopback,
                                   struct rule_decision *decision)
{
    struct sockaddr_storage storage = address_of(address);
    struct rule_decision ignored;
    return rule_set_decide(rules, facts, (const struct sockaddr *)&storage, allow_loopback,
                           decision != NULL ? decision : &ignored);
}

/* The verdict for alice at an ordinary address (no safe default in the way). */
static enum rule_verdict verdict_for(const char *const lines[], const struct rule_facts *facts)
{
    struct rule_set *rules = rules_of(lines);
    enum rule_verdict verdict = decide_at(rules, facts, "198.51.100.1", false, NULL);
    rule_set_destroy(rules);
    return verdict;
}

static void assert_field_rejected(const char *key, const char *value, const char *reason)
{
    struct rule_set *rules = rule_set_create();
    struct destination_rule *rule = rule_set_add(rules, 1);
    char error[256] = "";
    ck_assert_msg(!destination_rule_set_field(rule, key, value, error, sizeof(error)),
                  "%s=%s was accepted", key, value);
    ck_assert_msg(strstr(error, reason) != NULL, "%s=%s: '%s' does not say '%s'", key, value,
                  error, reason);
    rule_set_destroy(rules);
}

#define RULES(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- each field alone ---- */

START_TEST(action_alone_decides_everything)
{
    struct rule_facts facts = alice();
    ck_assert_int_eq(verdict_for(RULES("action=deny"), &facts), RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=allow"), &facts), RULE_VERDICT_ALLOW);
    ck_assert_int_eq(verdict_for((const char *const[]){NULL}, &facts), RULE_VERDICT_ALLOW);
}
END_TEST

START_TEST(user_field)
{
    struct rule_facts facts = alice();
    ck_assert_int_eq(verdict_for(RULES("action=deny user=alice"), &facts), RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny user=bob"), &facts), RULE_VERDICT_ALLOW);
    ck_assert_int_eq(verdict_for(RULES("action=deny user=bob user=alice"), &facts),
                     RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny user=Alice"), &facts), RULE_VERDICT_ALLOW);
    facts.user_name = "anonymous";
    ck_assert_int_eq(verdict_for(RULES("action=deny user=anonymous"), &facts), RULE_VERDICT_DENY);
    facts.user_name = NULL;
    ck_assert_int_eq(verdict_for(RULES("action=deny user=alice"), &facts), RULE_VERDICT_ALLOW);
}
END_TEST

START_TEST(role_field)
{
    struct rule_facts facts = alice();
    ck_assert_int_eq(verdict_for(RULES("action=deny role=user"), &facts), RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny role=admin"), &facts), RULE_VERDICT_ALLOW);
    facts.admin_role = true;
    ck_assert_int_eq(verdict_for(RULES("action=deny role=admin"), &facts), RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny role=user"), &facts), RULE_VERDICT_ALLOW);
    ck_assert_int_eq(verdict_for(RULES("action=deny role=user role=admin"), &facts),
                     RULE_VERDICT_DENY);
}
END_TEST

START_TEST(from_field)
{
    struct rule_facts facts = alice();
    ck_assert_int_eq(verdict_for(RULES("action=deny from=192.0.2.0/24"), &facts),
                     RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny from=192.0.3.0/24"), &facts),
                     RULE_VERDICT_ALLOW);
    ck_assert_int_eq(verdict_for(RULES("action=deny from=192.0.2.10"), &facts), RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny from=2001:db8::/32"), &facts),
                     RULE_VERDICT_ALLOW);
    /* a client on an IPv6 socket with a mapped address is its IPv4 address */
    struct sockaddr_storage mapped = address_of("::ffff:192.0.2.10");
    facts.client = (const struct sockaddr *)&mapped;
    ck_assert_int_eq(verdict_for(RULES("action=deny from=192.0.2.0/24"), &facts),
                     RULE_VERDICT_DENY);
    struct sockaddr_storage v6 = address_of("2001:db8::5");
    facts.client = (const struct sockaddr *)&v6;
    ck_assert_int_eq(verdict_for(RULES("action=deny from=2001:db8::/32"), &facts),
                     RULE_VERDICT_DENY);
    facts.client = NULL;
    ck_assert_int_eq(verdict_for(RULES("action=deny from=0.0.0.0/0"), &facts), RULE_VERDICT_ALLOW);
}
END_TEST

START_TEST(to_field)
{
    struct rule_facts facts = alice();
    struct rule_set *rules = rules_of(RULES("action=deny to=198.51.100.0/24 to=2001:db8::/32"));
    ck_assert_int_eq(decide_at(rules, &facts, "198.51.100.1", false, NULL), RULE_VERDICT_DENY);
    ck_assert_int_eq(decide_at(rules, &facts, "::ffff:198.51.100.1", false, NULL),
                     RULE_VERDICT_DENY);
    ck_assert_int_eq(decide_at(rules, &facts, "2001:db8::1", false, NULL), RULE_VERDICT_DENY);
    ck_assert_int_eq(decide_at(rules, &facts, "198.51.101.1", false, NULL), RULE_VERDICT_ALLOW);
    ck_assert_int_eq(decide_at(rules, &facts, "2001:db9::1", false, NULL), RULE_VERDICT_ALLOW);
    rule_set_destroy(rules);
}
END_TEST

START_TEST(domain_field)
{
    struct rule_facts facts = alice();
    facts.domain = "www.Example.COM.";
    ck_assert_int_eq(verdict_for(RULES("action=deny domain=www.example.com"), &facts),
                     RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny domain=WWW.EXAMPLE.COM."), &facts),
                     RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny domain=*.example.com"), &facts),
                     RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny domain=example.com"), &facts),
                     RULE_VERDICT_ALLOW);
    facts.domain = "a.b.c.example.com";
    ck_assert_int_eq(verdict_for(RULES("action=deny domain=*.example.com"), &facts),
                     RULE_VERDICT_DENY);
    /* *.suffix is the sub-domains only: the bare name needs its own value */
    facts.domain = "example.com";
    ck_assert_int_eq(verdict_for(RULES("action=deny domain=*.example.com"), &facts),
                     RULE_VERDICT_ALLOW);
    ck_assert_int_eq(verdict_for(RULES("action=deny domain=*.example.com domain=example.com"),
                                 &facts),
                     RULE_VERDICT_DENY);
    facts.domain = "badexample.com";
    ck_assert_int_eq(verdict_for(RULES("action=deny domain=*.example.com"), &facts),
                     RULE_VERDICT_ALLOW);
    facts.domain = ".example.com";
    ck_assert_int_eq(verdict_for(RULES("action=deny domain=*.example.com"), &facts),
                     RULE_VERDICT_ALLOW);
    /* a literal request names no domain: a domain rule does not match it */
    facts.domain = NULL;
    ck_assert_int_eq(verdict_for(RULES("action=deny domain=example.com"), &facts),
                     RULE_VERDICT_ALLOW);
}
END_TEST

START_TEST(port_field)
{
    struct rule_facts facts = alice();
    ck_assert_int_eq(verdict_for(RULES("action=deny port=443"), &facts), RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny port=444"), &facts), RULE_VERDICT_ALLOW);
    ck_assert_int_eq(verdict_for(RULES("action=deny port=443-443"), &facts), RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny port=400-443"), &facts), RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny port=443-500"), &facts), RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny port=444-65535"), &facts), RULE_VERDICT_ALLOW);
    ck_assert_int_eq(verdict_for(RULES("action=deny port=0-442"), &facts), RULE_VERDICT_ALLOW);
    ck_assert_int_eq(verdict_for(RULES("action=deny port=22 port=443"), &facts), RULE_VERDICT_DENY);
    facts.port = 0;
    ck_assert_int_eq(verdict_for(RULES("action=deny port=0"), &facts), RULE_VERDICT_DENY);
    facts.port = 65535;
    ck_assert_int_eq(verdict_for(RULES("action=deny port=1-65535"), &facts), RULE_VERDICT_DENY);
}
END_TEST

START_TEST(command_field)
{
    struct rule_facts facts = alice();
    ck_assert_int_eq(verdict_for(RULES("action=deny command=connect"), &facts), RULE_VERDICT_DENY);
    ck_assert_int_eq(verdict_for(RULES("action=deny command=bind"), &facts), RULE_VERDICT_ALLOW);
    ck_assert_int_eq(verdict_for(RULES("action=deny command=udp"), &facts), RULE_VERDICT_ALLOW);
    facts.command = RULE_COMMAND_UDP;
    ck_assert_int_eq(verdict_for(RULES("action=deny command=bind command=udp"), &facts),
                     RULE_VERDICT_DENY);
    facts.command = RULE_COMMAND_BIND;
    ck_assert_int_eq(verdict_for(RULES("action=deny command=bind"), &facts), RULE_VERDICT_DENY);
}
END_TEST

/* ---- combined, and in order ---- */

START_TEST(every_key_must_match)
{
    const char *const rule = "action=deny user=alice role=user from=192.0.2.0/24 "
                             "to=198.51.100.0/24 domain=*.example.com port=443 command=connect";
    struct rule_facts facts = alice();
    facts.domain = "www.example.com";
    ck_assert_int_eq(verdict_for(RULES(rule), &facts), RULE_VERDICT_DENY);
    /* each fact changed alone makes the rule miss */
    struct rule_facts other = facts;
    other.user_name = "bob";
    ck_assert_int_eq(verdict_for(RULES(rule), &other), RULE_VERDICT_ALLOW);
    other = facts;
    other.admin_role = true;
    ck_assert_int_eq(verdict_for(RULES(rule), &other), RULE_VERDICT_ALLOW);
    other = facts;
    struct sockaddr_storage elsewhere = address_of("203.0.113.1");
    other.client = (const struct sockaddr *)&elsewhere;
    ck_assert_int_eq(verdict_for(RULES(rule), &other), RULE_VERDICT_ALLOW);
    other = facts;
    other.domain = "www.example.org";
    ck_assert_int_eq(verdict_for(RULES(rule), &other), RULE_VERDICT_ALLOW);
    other = facts;
    other.port = 80;
    ck_assert_int_eq(verdict_for(RULES(rule), &other), RULE_VERDICT_ALLOW);
    other = facts;
    other.command = RULE_COMMAND_BIND;
    ck_assert_int_eq(verdict_for(RULES(rule), &other), RULE_VERDICT_ALLOW);
    struct rule_set *rules = rules_of(RULES(rule));
    ck_assert_int_eq(decide_at(rules, &facts, "198.51.101.1", false, NULL), RULE_VERDICT_ALLOW);
    rule_set_destroy(rules);
}
END_TEST

START_TEST(first_match_wins)
{
    struct rule_facts facts = alice();
    struct rule_decision decision;
    struct rule_set *rules = rules_of(RULES("action=allow name=office port=443",
                                            "action=deny name=rest", "action=allow"));
    ck_assert_int_eq(decide_at(rules, &facts, "198.51.100.1", false, &decision),
                     RULE_VERDICT_ALLOW);
    ck_assert_uint_eq(decision.rule_index, 0);
    facts.port = 80;
    ck_assert_int_eq(decide_at(rules, &facts, "198.51.100.1", false, &decision),
                     RULE_VERDICT_DENY);
    ck_assert_uint_eq(decision.rule_index, 1);
    ck_assert_str_eq(rule_set_rule_name(rules, 1), "rest");
    ck_assert_ptr_null(decision.default_reason);
    rule_set_destroy(rules);
    facts.port = 443;
    ck_assert_int_eq(verdict_for(RULES("action=deny", "action=allow port=443"), &facts),
                     RULE_VERDICT_DENY);
}
END_TEST

/* ---- before the lookup ---- */

START_TEST(before_the_lookup)
{
    struct rule_facts facts = alice();
    facts.domain = "blocked.example";
    struct rule_decision decision;
    struct rule_set *rules = rules_of(RULES("action=deny user=bob to=10.0.0.0/8",
                                            "action=deny domain=blocked.example",
                                            "action=deny to=10.0.0.0/8", "action=allow"));
    /* a to= rule for someone else is skipped; the domain rule denies before any lookup */
    ck_assert_int_eq(rule_set_decide(rules, &facts, NULL, false, &decision), RULE_VERDICT_DENY);
    ck_assert_uint_eq(decision.rule_index, 1);
    /* a to= rule that could match: the answer waits for the addresses */
    facts.domain = "other.example";
    ck_assert_int_eq(rule_set_decide(rules, &facts, NULL, false, &decision),
                     RULE_VERDICT_NEEDS_ADDRESS);
    ck_assert_uint_eq(decision.rule_index, RULE_INDEX_NONE);
    ck_assert_int_eq(decide_at(rules, &facts, "10.1.2.3", false, &decision), RULE_VERDICT_DENY);
    ck_assert_uint_eq(decision.rule_index, 2);
    ck_assert_int_eq(decide_at(rules, &facts, "11.1.2.3", false, &decision), RULE_VERDICT_ALLOW);
    ck_assert_uint_eq(decision.rule_index, 3);
    rule_set_destroy(rules);

    rules = rules_of(RULES("action=allow port=443", "action=deny to=10.0.0.0/8"));
    ck_assert_int_eq(rule_set_decide(rules, &facts, NULL, false, &decision), RULE_VERDICT_ALLOW);
    ck_assert_uint_eq(decision.rule_index, 0);
    rule_set_destroy(rules);

    rules = rule_set_create();
    ck_assert_int_eq(rule_set_decide(rules, &facts, NULL, false, &decision), RULE_VERDICT_ALLOW);
    ck_assert_uint_eq(decision.rule_index, RULE_INDEX_NONE);
    /* before the lookup nothing says "loopback": "localhost" is judged by its addresses */
    facts.domain = "localhost";
    ck_assert_int_eq(rule_set_decide(rules, &facts, NULL, false, &decision), RULE_VERDICT_ALLOW);
    rule_set_destroy(rules);
}
END_TEST

/* ---- the safe defaults ---- */

static const struct {
    const char *address;
    const char *reason;
} denied_by_default[] = {
    {"127.0.0.1", "loopback"},         {"127.0.0.2", "loopback"},
    {"127.255.255.255", "loopback"},   {"::1", "loopback"},
    {"::ffff:127.0.0.1", "loopback"},  {"::ffff:127.1.2.3", "loopback"},
    {"0.0.0.0", "unspecified"},        {"0.1.2.3", "unspecified"},
    {"::", "unspecified"},             {"::ffff:0.0.0.0", "unspecified"},
    {"169.254.169.254", "link-local"}, {"169.254.0.1", "link-local"},
    {"::ffff:169.254.169.254", "link-local"}, {"fe80::1", "link-local"},
    {"febf::1", "link-local"},         {"224.0.0.1", "multicast"},
    {"239.255.255.250", "multicast"},  {"ff02::1", "multicast"},
    {"ff0e::1", "multicast"},          {"::ffff:224.0.0.1", "multicast"},
    {"255.255.255.255", "broadcast"},  {"::ffff:255.255.255.255", "broadcast"},
};
#define DENIED_BY_DEFAULT_COUNT (sizeof(denied_by_default) / sizeof(denied_by_default[0]))

START_TEST(defaults_deny_every_spelling)
{
    struct rule_facts facts = alice();
    struct rule_set *rules = rule_set_create();
    for (size_t i = 0; i < DENIED_BY_DEFAULT_COUNT; i++) {
        struct rule_decision decision;
        ck_assert_msg(decide_at(rules, &facts, denied_by_default[i].address, false, &decision) ==
                          RULE_VERDICT_DENY,
                      "%s allowed", denied_by_default[i].address);
        ck_assert_uint_eq(decision.rule_index, RULE_INDEX_NONE);
        ck_assert_str_eq(decision.default_reason, denied_by_default[i].reason);
    }
    rule_set_destroy(rules);
}
END_TEST

START_TEST(defaults_leave_the_rest_open)
{
    const char *open_addresses[] = {"10.0.0.1", "172.16.0.1", "192.168.1.1", "100.64.0.1",
                                    "1.1.1.1", "126.255.255.255", "128.0.0.1", "1.0.0.0",
                                    "169.253.255.255", "169.255.0.0", "223.255.255.255",
                                    "240.0.0.1", "255.255.255.254", "2001:db8::1", "fc00::1",
                                    "fec0::1", "::2", "::ffff:10.0.0.1", "feff::1"};
    struct rule_facts facts = alice();
    struct rule_set *rules = rule_set_create();
    for (size_t i = 0; i < sizeof(open_addresses) / sizeof(open_addresses[0]); i++) {
        struct rule_decision decision;
        ck_assert_msg(decide_at(rules, &facts, open_addresses[i], false, &decision) ==
                          RULE_VERDICT_ALLOW,
                      "%s denied (%s)", open_addresses[i],
                      decision.default_reason ? decision.default_reason : "?");
    }
    rule_set_destroy(rules);
}
END_TEST

START_TEST(allow_loopback_lifts_loopback_only)
{
    struct rule_facts facts = alice();
    struct rule_set *rules = rule_set_create();
    for (size_t i = 0; i < DENIED_BY_DEFAULT_COUNT; i++) {
        bool loopback = strcmp(denied_by_default[i].reason, "loopback") == 0;
        ck_assert_msg(decide_at(rules, &facts, denied_by_default[i].address, true, NULL) ==
                          (loopback ? RULE_VERDICT_ALLOW : RULE_VERDICT_DENY),
                      "%s with allow_loopback", denied_by_default[i].address);
    }
    rule_set_destroy(rules);
    /* a deny rule still denies loopback with allow_loopback */
    rules = rules_of(RULES("action=deny to=127.0.0.0/8"));
    ck_assert_int_eq(decide_at(rules, &facts, "127.0.0.1", true, NULL), RULE_VERDICT_DENY);
    rule_set_destroy(rules);
}
END_TEST

START_TEST(only_an_allow_with_to_opens_a_default)
{
    struct rule_facts facts = alice();
    struct rule_decision decision;
    /* a broad allow does not open the defaults */
    struct rule_set *rules = rules_of(RULES("action=allow user=alice"));
    ck_assert_int_eq(decide_at(rules, &facts, "127.0.0.1", false, &decision), RULE_VERDICT_DENY);
    ck_assert_str_eq(decision.default_reason, "loopback");
    ck_assert_uint_eq(decision.rule_index, RULE_INDEX_NONE);
    rule_set_destroy(rules);
    /* an allow naming the network does, for exactly that network */
    rules = rules_of(RULES("action=allow name=metadata to=169.254.169.254", "action=deny port=22"));
    ck_assert_int_eq(decide_at(rules, &facts, "169.254.169.254", false, &decision),
                     RULE_VERDICT_ALLOW);
    ck_assert_uint_eq(decision.rule_index, 0);
    ck_assert_int_eq(decide_at(rules, &facts, "::ffff:169.254.169.254", false, NULL),
                     RULE_VERDICT_ALLOW);
    ck_assert_int_eq(decide_at(rules, &facts, "169.254.169.253", false, &decision),
                     RULE_VERDICT_DENY);
    ck_assert_str_eq(decision.default_reason, "link-local");
    rule_set_destroy(rules);
    /* a deny before the opening allow wins */
    rules = rules_of(RULES("action=deny port=443", "action=allow to=127.0.0.0/8"));
    ck_assert_int_eq(decide_at(rules, &facts, "127.0.0.1", false, &decision), RULE_VERDICT_DENY);
    ck_assert_uint_eq(decision.rule_index, 0);
    rule_set_destroy(rules);
    /* an allow for someone else does not open it for alice */
    rules = rules_of(RULES("action=allow user=bob to=127.0.0.0/8"));
    ck_assert_int_eq(decide_at(rules, &facts, "127.0.0.1", false, NULL), RULE_VERDICT_DENY);
    facts.user_name = "bob";
    ck_assert_int_eq(decide_at(rules, &facts, "127.0.0.1", false, NULL), RULE_VERDICT_ALLOW);
    ck_assert_int_eq(decide_at(rules, &facts, "::1", false, NULL), RULE_VERDICT_DENY);
    rule_set_destroy(rules);
}
END_TEST

START_TEST(defaults_described)
{
    char text[512];
    rule_set_describe_defaults(text, sizeof(text));
    ck_assert_str_eq(text, "loopback 127.0.0.0/8 ::1/128, unspecified 0.0.0.0/8 ::/128, "
                           "link-local 169.254.0.0/16 fe80::/10, multicast 224.0.0.0/4 ff00::/8, "
                           "broadcast 255.255.255.255/32");
    char small[8];
    rule_set_describe_defaults(small, sizeof(small));
    ck_assert_str_eq(small, "loopbac");
}
END_TEST

/* ---- text, errors, garbage ---- */

START_TEST(rules_are_written_back_as_given)
{
    const char *const lines[] = {
        "deny name=ssh user=alice user=bob role=user role=admin from=192.0.2.0/24 "
        "to=10.0.0.0/8 to=fe80::/10 domain=*.example.com domain=example.org port=22 "
        "port=8000-8100 command=connect command=udp",
        "allow",
        "allow to=::ffff:10.0.0.0/104 domain=Example.COM.",
    };
    const char *const expected[] = {lines[0], "allow", "allow to=10.0.0.0/8 domain=example.com"};
    const char *const given[] = {
        "action=deny name=ssh user=alice user=bob role=user role=admin from=192.0.2.0/24 "
        "to=10.0.0.0/8 to=fe80::/10 domain=*.example.com domain=example.org port=22 "
        "port=8000-8100 command=connect command=udp",
        "action=allow",
        "action=allow to=::ffff:10.0.0.0/104 domain=Example.COM.",
        NULL,
    };
    struct rule_set *rules = rules_of(given);
    ck_assert_uint_eq(rule_set_count(rules), 3);
    for (size_t i = 0; i < 3; i++) {
        char text[1024];
        rule_set_describe(rules, i, text, sizeof(text));
        ck_assert_str_eq(text, expected[i]);
        ck_assert_uint_eq(rule_set_rule_line(rules, i), i + 1);
    }
    ck_assert_int_eq(rule_set_rule_action(rules, 0), RULE_DENY);
    ck_assert_int_eq(rule_set_rule_action(rules, 1), RULE_ALLOW);
    ck_assert_str_eq(rule_set_rule_name(rules, 0), "ssh");
    ck_assert_str_eq(rule_set_rule_name(rules, 1), "");
    ck_assert_str_eq(rule_set_rule_name(rules, 99), "");
    char text[16] = "x";
    rule_set_describe(rules, 99, text, sizeof(text));
    ck_assert_str_eq(text, "");
    rule_set_describe(rules, 0, text, sizeof(text)); /* cut short, still terminated */
    ck_assert_str_eq(text, "deny name=ssh u");
    rule_set_destroy(rules);
}
END_TEST

START_TEST(bad_fields_say_why)
{
    assert_field_rejected("acton", "deny", "unknown key 'acton' (expected action, name, user, "
                                           "role, from, to, domain, port or command)");
    assert_field_rejected("action", "Deny", "allow or deny");
    assert_field_rejected("action", "", "allow or deny");
    assert_field_rejected("name", "", "characters");
    assert_field_rejected("name", "two words", "spaces");
    assert_field_rejected("name", "a=b", "'='");
    assert_field_rejected("user", "", "characters");
    assert_field_rejected("user", "tab\there", "control");
    assert_field_rejected("role", "root", "user or admin");
    assert_field_rejected("from", "10.0.0.1/8", "host bits");
    assert_field_rejected("to", "10.0.0.0/40", "0 to 32");
    assert_field_rejected("to", "example.com", "IPv4 or IPv6");
    assert_field_rejected("domain", "", "expected a domain");
    assert_field_rejected("domain", "*", "expected a domain");
    assert_field_rejected("domain", "*.", "expected a domain");
    assert_field_rejected("domain", "a..b", "labels");
    assert_field_rejected("domain", "*.*.example.com", "labels");
    assert_field_rejected("domain", "ex ample.com", "labels");
    assert_field_rejected("domain", "example.com..", "labels");
    assert_field_rejected("port", "", "port");
    assert_field_rejected("port", "65536", "port");
    assert_field_rejected("port", "-1", "port");
    assert_field_rejected("port", "+1", "port");
    assert_field_rejected("port", "1-", "port");
    assert_field_rejected("port", "1-2-3", "port");
    assert_field_rejected("port", "100-99", "above its last");
    assert_field_rejected("command", "CONNECT", "connect, bind or udp");

    char long_label[80];
    memset(long_label, 'a', 64);
    strcpy(long_label + 64, ".com");
    assert_field_rejected("domain", long_label, "63");
    char long_name[300];
    memset(long_name, 'n', 256);
    long_name[256] = '\0';
    assert_field_rejected("name", long_name, "characters");
    assert_field_rejected("domain", long_name, "expected a domain");
}
END_TEST

START_TEST(one_action_one_name_and_finish)
{
    struct rule_set *rules = rule_set_create();
    struct destination_rule *rule = rule_set_add(rules, 7);
    char error[256];
    ck_assert(!destination_rule_finish(rule, error, sizeof(error)));
    ck_assert_str_eq(error, "a rule needs an action (allow or deny)");
    ck_assert(destination_rule_set_field(rule, "name", "first", error, sizeof(error)));
    ck_assert(!destination_rule_set_field(rule, "name", "second", error, sizeof(error)));
    ck_assert_str_eq(error, "a rule has one name");
    ck_assert(destination_rule_set_field(rule, "action", "deny", error, sizeof(error)));
    ck_assert(!destination_rule_set_field(rule, "action", "allow", error, sizeof(error)));
    ck_assert_str_eq(error, "a rule has one action");
    ck_assert(destination_rule_finish(rule, error, sizeof(error)));
    /* a rejected value leaves the rule as it was */
    ck_assert(!destination_rule_set_field(rule, "port", "x", error, sizeof(error)));
    char text[128];
    rule_set_describe(rules, 0, text, sizeof(text));
    ck_assert_str_eq(text, "deny name=first");
    ck_assert_uint_eq(rule_set_rule_line(rules, 0), 7);
    rule_set_destroy(rules);
    rule_set_destroy(NULL);
}
END_TEST

/* Each key's value with every byte in every place, and cut after it: accepted or rejected
 * with a reason, never a crash; an accepted value's rule is written back as text that builds
 * the same rule again. */
START_TEST(garbage_byte_by_byte)
{
    static const struct {
        const char *key;
        const char *value;
    } seeds[] = {
        {"action", "allow"},         {"name", "office"},       {"user", "alice"},
        {"role", "admin"},           {"from", "10.0.0.0/8"},  {"to", "fe80::/10"},
        {"domain", "*.example.com"}, {"port", "8000-8100"},   {"command", "connect"},
    };
    for (size_t s = 0; s < sizeof(seeds) / sizeof(seeds[0]); s++) {
        size_t length = strlen(seeds[s].value);
        for (size_t at = 0; at < length; at++) {
            for (int byte = 1; byte < 256; byte++) {
                for (int cut = 0; cut < 2; cut++) {
                    char value[64];
                    snprintf(value, sizeof(value), "%s", seeds[s].value);
                    value[at] = (char)byte;
                    if (cut)
                        value[at + 1] = '\0';
                    struct rule_set *rules = rule_set_create();
                    struct destination_rule *rule = rule_set_add(rules, 1);
                    char error[256] = "";
                    bool accepted = destination_rule_set_field(rule, seeds[s].key, value, error,
                                                               sizeof(error));
                    ck_assert_msg(accepted || error[0] != '\0', "%s=%s: no reason",
                                  seeds[s].key, value);
                    char text[512], again_text[512];
                    rule_set_describe(rules, 0, text, sizeof(text));
                    if (accepted && strcmp(seeds[s].key, "action") != 0) {
                        /* written back (with an action), it builds the same rule */
                        char line[600];
                        snprintf(line, sizeof(line), "action=allow%s", text + strlen("allow"));
                        struct rule_set *again = rules_of((const char *const[]){line, NULL});
                        rule_set_describe(again, 0, again_text, sizeof(again_text));
                        ck_assert_str_eq(again_text, text);
                        rule_set_destroy(again);
                    }
                    rule_set_destroy(rules);
                }
            }
        }
    }
}
END_TEST

/* ---- hits ---- */

START_TEST(hits_count_the_deciding_rule_once)
{
    struct rule_facts facts = alice();
    struct rule_set *rules = rules_of(RULES("action=deny port=22", "action=allow port=443"));
    ck_assert_uint_eq(rule_set_rule_hits(rules, 0), 0);
    ck_assert_uint_eq(rule_set_rule_hits(rules, 1), 0);
    struct rule_decision decision;
    for (int i = 0; i < 3; i++) {
        decide_at(rules, &facts, "198.51.100.1", false, &decision);
        /* deciding counts nothing; the caller counts once per request */
        ck_assert_uint_eq(rule_set_rule_hits(rules, 1), (uint64_t)i);
        rule_set_count_hit(rules, &decision);
    }
    ck_assert_uint_eq(rule_set_rule_hits(rules, 0), 0);
    ck_assert_uint_eq(rule_set_rule_hits(rules, 1), 3);
    facts.port = 22;
    decide_at(rules, &facts, "198.51.100.1", false, &decision);
    rule_set_count_hit(rules, &decision);
    ck_assert_uint_eq(rule_set_rule_hits(rules, 0), 1);
    /* a safe default's denial or no match is nobody's hit */
    facts.port = 80;
    decide_at(rules, &facts, "127.0.0.1", false, &decision);
    rule_set_count_hit(rules, &decision);
    decide_at(rules, &facts, "198.51.100.1", false, &decision);
    rule_set_count_hit(rules, &decision);
    ck_assert_uint_eq(rule_set_rule_hits(rules, 0), 1);
    ck_assert_uint_eq(rule_set_rule_hits(rules, 1), 3);
    ck_assert_uint_eq(rule_set_rule_hits(rules, 2), 0);
    rule_set_destroy(rules);
}
END_TEST

START_TEST(non_ip_destination_is_denied)
{
    struct rule_facts facts = alice();
    struct rule_set *rules = rules_of(RULES("action=allow"));
    struct sockaddr other = {.sa_family = AF_UNIX};
    struct rule_decision decision;
    ck_assert_int_eq(rule_set_decide(rules, &facts, &other, true, &decision), RULE_VERDICT_DENY);
    ck_assert_ptr_nonnull(decision.default_reason);
    rule_set_destroy(rules);
}
END_TEST

START_TEST(a_bind_for_any_peer_is_not_unspecified)
{
    struct rule_facts facts = alice();
    struct rule_set *none = rule_set_create();
    /* CONNECT to 0.0.0.0 or :: is denied; a BIND with zeros asks for any peer and is not. */
    ck_assert_int_eq(decide_at(none, &facts, "0.0.0.0", false, NULL), RULE_VERDICT_DENY);
    ck_assert_int_eq(decide_at(none, &facts, "::", false, NULL), RULE_VERDICT_DENY);
    facts.command = RULE_COMMAND_BIND;
    ck_assert_int_eq(decide_at(none, &facts, "0.0.0.0", false, NULL), RULE_VERDICT_ALLOW);
    ck_assert_int_eq(decide_at(none, &facts, "::", false, NULL), RULE_VERDICT_ALLOW);
    /* Only the all-zero address: the rest of 0.0.0.0/8 and the other defaults still hold. */
    ck_assert_int_eq(decide_at(none, &facts, "0.0.0.1", false, NULL), RULE_VERDICT_DENY);
    ck_assert_int_eq(decide_at(none, &facts, "127.0.0.1", false, NULL), RULE_VERDICT_DENY);
    ck_assert_int_eq(decide_at(none, &facts, "169.254.169.254", false, NULL), RULE_VERDICT_DENY);
    /* Rules still judge it: a BIND deny rule refuses it. */
    struct rule_set *rules = rules_of(RULES("action=deny command=bind"));
    ck_assert_int_eq(decide_at(rules, &facts, "0.0.0.0", false, NULL), RULE_VERDICT_DENY);
    rule_set_destroy(rules);
    rule_set_destroy(none);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("destination_rules");
    TCase *fields = tcase_create("fields");
    tcase_add_test(fields, action_alone_decides_everything);
    tcase_add_test(fields, user_field);
    tcase_add_test(fields, role_field);
    tcase_add_test(fields, from_field);
    tcase_add_test(fields, to_field);
    tcase_add_test(fields, domain_field);
    tcase_add_test(fields, port_field);
    tcase_add_test(fields, command_field);
    tcase_add_test(fields, every_key_must_match);
    tcase_add_test(fields, first_match_wins);
    tcase_add_test(fields, before_the_lookup);
    suite_add_tcase(suite, fields);
    TCase *defaults = tcase_create("defaults");
    tcase_add_test(defaults, defaults_deny_every_spelling);
    tcase_add_test(defaults, defaults_leave_the_rest_open);
    tcase_add_test(defaults, allow_loopback_lifts_loopback_only);
    tcase_add_test(defaults, only_an_allow_with_to_opens_a_default);
    tcase_add_test(defaults, defaults_described);
    tcase_add_test(defaults, non_ip_destination_is_denied);
    tcase_add_test(defaults, a_bind_for_any_peer_is_not_unspecified);
    suite_add_tcase(suite, defaults);
    TCase *text = tcase_create("text");
    tcase_add_test(text, rules_are_written_back_as_given);
    tcase_add_test(text, bad_fields_say_why);
    tcase_add_test(text, one_action_one_name_and_finish);
    tcase_add_test(text, garbage_byte_by_byte);
    suite_add_tcase(suite, text);
    TCase *hits = tcase_create("hits");
    tcase_add_test(hits, hits_count_the_deciding_rule_once);
    suite_add_tcase(suite, hits);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
