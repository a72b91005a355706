/* destination_rules: the ordered allow/deny rules — who (user, role, client network) may reach
 * what (network, domain, port, command) — first match wins, behind the safe defaults. */
#include "destination_rules.h"

#include "counter.h"
#include "network.h"
#include "rule_fields.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A list a rule's key may fill: each value given for the key, in order. */
struct value_list {
    void *items;
    size_t count;
};

struct rule_user {
    char name[RULE_FIELD_TEXT_MAX + 1];
};

enum { ROLE_USER = 1u << 0, ROLE_ADMIN = 1u << 1 };

struct destination_rule {
    unsigned source_line;
    bool has_action;
    enum rule_action action;
    char name[RULE_FIELD_TEXT_MAX + 1];
    struct value_list users;   /* struct rule_user */
    unsigned roles;            /* ROLE_*; 0 = any */
    struct value_list from;    /* struct network */
    struct value_list to;      /* struct network */
    struct value_list domains; /* struct domain_pattern */
    struct value_list ports;   /* struct port_range */
    unsigned commands;         /* enum rule_command bits; 0 = any */
    uint64_t hits;             /* relaxed atomics */
};

struct rule_set {
    struct destination_rule **rules;
    size_t count;
};

/* ---- the safe defaults ---- */

static const struct safe_default {
    struct network network;
    const char *reason;
} safe_defaults[] = {
    {{{AF_INET, {127}}, 8}, "loopback"},
    {{{AF_INET6, {[15] = 1}}, 128}, "loopback"},
    {{{AF_INET, {0}}, 8}, "unspecified"},
    {{{AF_INET6, {0}}, 128}, "unspecified"},
    {{{AF_INET, {169, 254}}, 16}, "link-local"},
    {{{AF_INET6, {0xfe, 0x80}}, 10}, "link-local"},
    {{{AF_INET, {224}}, 4}, "multicast"},
    {{{AF_INET6, {0xff}}, 8}, "multicast"},
    {{{AF_INET, {255, 255, 255, 255}}, 32}, "broadcast"},
};

static const char *safe_default_reason(const struct ip_address *address, bool allow_loopback)
{
    for (size_t i = 0; i < sizeof(safe_defaults) / sizeof(safe_defaults[0]); i++) {
        const struct safe_default *entry = &safe_defaults[i];
        if (network_contains(&entry->network, address) &&
            !(allow_loopback && strcmp(entry->reason, "loopback") == 0))
            return entry->reason;
    }
    return NULL;
}

/* ---- building ---- */

struct rule_set *rule_set_create(void)
{
    return calloc(1, sizeof(struct rule_set));
}

static void rule_free(struct destination_rule *rule)
{
    free(rule->users.items);
    free(rule->from.items);
    free(rule->to.items);
    free(rule->domains.items);
    free(rule->ports.items);
    free(rule);
}

void rule_set_destroy(struct rule_set *rules)
{
    if (rules == NULL)
        return;
    for (size_t i = 0; i < rules->count; i++)
        rule_free(rules->rules[i]);
    free(rules->rules);
    free(rules);
}

size_t rule_set_count(const struct rule_set *rules)
{
    return rules->count;
}

struct destination_rule *rule_set_add(struct rule_set *rules, unsigned source_line)
{
    struct destination_rule **grown = realloc(rules->rules, (rules->count + 1) * sizeof(*grown));
    if (grown == NULL)
        return NULL;
    rules->rules = grown;
    struct destination_rule *rule = calloc(1, sizeof(*rule));
    if (rule == NULL)
        return NULL;
    rule->source_line = source_line;
    rules->rules[rules->count++] = rule;
    return rule;
}

static void *value_list_append(struct value_list *list, size_t item_size)
{
    char *grown = realloc(list->items, (list->count + 1) * item_size);
    if (grown == NULL)
        return NULL;
    list->items = grown;
    return grown + item_size * list->count;
}

/* Appends the parsed value only once it parsed: a rejected value leaves the rule as it was. */
#define APPEND_PARSED(list, type, parse)                                                      \
    do {                                                                                      \
        type parsed;                                                                          \
        if (!parse)                                                                           \
            return false;                                                                     \
        type *slot = value_list_append(&(list), sizeof(type));                                \
        if (slot == NULL) {                                                                   \
            snprintf(error, error_size, "out of memory");                                     \
            return false;                                                                     \
        }                                                                                     \
        *slot = parsed;                                                                       \
        (list).count++;                                                                       \
        return true;                                                                          \
    } while (0)

static bool parse_action(struct destination_rule *rule, const char *value, char *error,
                         size_t error_size)
{
    if (rule->has_action) {
        snprintf(error, error_size, "a rule has one action");
        return false;
    }
    if (strcmp(value, "allow") != 0 && strcmp(value, "deny") != 0) {
        snprintf(error, error_size, "expected allow or deny");
        return false;
    }
    rule->action = value[0] == 'a' ? RULE_ALLOW : RULE_DENY;
    rule->has_action = true;
    return true;
}

static bool parse_name(struct destination_rule *rule, const char *value, char *error,
                       size_t error_size)
{
    if (rule->name[0] != '\0') {
        snprintf(error, error_size, "a rule has one name");
        return false;
    }
    return rule_word_parse(value, rule->name, error, error_size);
}

static bool parse_user(struct destination_rule *rule, const char *value, char *error,
                       size_t error_size)
{
    APPEND_PARSED(rule->users, struct rule_user,
                  rule_word_parse(value, parsed.name, error, error_size));
}

static bool parse_role(struct destination_rule *rule, const char *value, char *error,
                       size_t error_size)
{
    if (strcmp(value, "user") != 0 && strcmp(value, "admin") != 0) {
        snprintf(error, error_size, "expected user or admin");
        return false;
    }
    rule->roles |= value[0] == 'u' ? ROLE_USER : ROLE_ADMIN;
    return true;
}

static bool parse_from(struct destination_rule *rule, const char *value, char *error,
                       size_t error_size)
{
    APPEND_PARSED(rule->from, struct network, network_parse(value, &parsed, error, error_size));
}

static bool parse_to(struct destination_rule *rule, const char *value, char *error,
                     size_t error_size)
{
    APPEND_PARSED(rule->to, struct network, network_parse(value, &parsed, error, error_size));
}

static bool parse_domain(struct destination_rule *rule, const char *value, char *error,
                         size_t error_size)
{
    APPEND_PARSED(rule->domains, struct domain_pattern,
                  domain_pattern_parse(value, &parsed, error, error_size));
}

static bool parse_port(struct destination_rule *rule, const char *value, char *error,
                       size_t error_size)
{
    APPEND_PARSED(rule->ports, struct port_range,
                  port_range_parse(value, &parsed, error, error_size));
}

static const struct {
    const char *name;
    enum rule_command command;
} command_names[] = {
    {"connect", RULE_COMMAND_CONNECT},
    {"bind", RULE_COMMAND_BIND},
    {"udp", RULE_COMMAND_UDP},
};
#define COMMAND_NAME_COUNT (sizeof(command_names) / sizeof(command_names[0]))

static bool parse_command(struct destination_rule *rule, const char *value, char *error,
                          size_t error_size)
{
    for (size_t i = 0; i < COMMAND_NAME_COUNT; i++) {
        if (strcmp(value, command_names[i].name) == 0) {
            rule->commands |= command_names[i].command;
            return true;
        }
    }
    snprintf(error, error_size, "expected connect, bind or udp");
    return false;
}

/* ---- describing ---- */

struct text_out {
    char *text;
    size_t size;
    size_t used;
};

static void text_put(struct text_out *out, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
static void text_put(struct text_out *out, const char *format, ...)
{
    if (out->used >= out->size)
        return;
    va_list arguments;
    va_start(arguments, format);
    int written = vsnprintf(out->text + out->used, out->size - out->used, format, arguments);
    va_end(arguments);
    if (written > 0)
        out->used += (size_t)written;
}

static void describe_action(const struct destination_rule *rule, struct text_out *out)
{
    text_put(out, "%s", rule->action == RULE_ALLOW ? "allow" : "deny");
}

static void describe_name(const struct destination_rule *rule, struct text_out *out)
{
    if (rule->name[0] != '\0')
        text_put(out, " name=%s", rule->name);
}

static void describe_user(const struct destination_rule *rule, struct text_out *out)
{
    const struct rule_user *users = rule->users.items;
    for (size_t i = 0; i < rule->users.count; i++)
        text_put(out, " user=%s", users[i].name);
}

static void describe_role(const struct destination_rule *rule, struct text_out *out)
{
    if (rule->roles & ROLE_USER)
        text_put(out, " role=user");
    if (rule->roles & ROLE_ADMIN)
        text_put(out, " role=admin");
}

static void describe_networks(const struct value_list *list, const char *key,
                              struct text_out *out)
{
    const struct network *networks = list->items;
    for (size_t i = 0; i < list->count; i++) {
        char text[NETWORK_TEXT_MAX];
        network_format(&networks[i], text, sizeof(text));
        text_put(out, " %s=%s", key, text);
    }
}

static void describe_from(const struct destination_rule *rule, struct text_out *out)
{
    describe_networks(&rule->from, "from", out);
}

static void describe_to(const struct destination_rule *rule, struct text_out *out)
{
    describe_networks(&rule->to, "to", out);
}

static void describe_domain(const struct destination_rule *rule, struct text_out *out)
{
    const struct domain_pattern *domains = rule->domains.items;
    for (size_t i = 0; i < rule->domains.count; i++) {
        char text[RULE_FIELD_TEXT_MAX + 3];
        domain_pattern_format(&domains[i], text, sizeof(text));
        text_put(out, " domain=%s", text);
    }
}

static void describe_port(const struct destination_rule *rule, struct text_out *out)
{
    const struct port_range *ports = rule->ports.items;
    for (size_t i = 0; i < rule->ports.count; i++) {
        if (ports[i].first == ports[i].last)
            text_put(out, " port=%u", ports[i].first);
        else
            text_put(out, " port=%u-%u", ports[i].first, ports[i].last);
    }
}

static void describe_command(const struct destination_rule *rule, struct text_out *out)
{
    for (size_t i = 0; i < COMMAND_NAME_COUNT; i++) {
        if (rule->commands & command_names[i].command)
            text_put(out, " command=%s", command_names[i].name);
    }
}

/* Every key a rule has: how its value is read, and how it is written back, in this order. */
static const struct rule_key {
    const char *key;
    bool (*parse)(struct destination_rule *rule, const char *value, char *error,
                  size_t error_size);
    void (*describe)(const struct destination_rule *rule, struct text_out *out);
} rule_keys[] = {
    {"action", parse_action, describe_action},
    {"name", parse_name, describe_name},
    {"user", parse_user, describe_user},
    {"role", parse_role, describe_role},
    {"from", parse_from, describe_from},
    {"to", parse_to, describe_to},
    {"domain", parse_domain, describe_domain},
    {"port", parse_port, describe_port},
    {"command", parse_command, describe_command},
};
#define RULE_KEY_COUNT (sizeof(rule_keys) / sizeof(rule_keys[0]))

bool destination_rule_set_field(struct destination_rule *rule, const char *key, const char *value,
                                char *error, size_t error_size)
{
    for (size_t i = 0; i < RULE_KEY_COUNT; i++) {
        if (strcmp(key, rule_keys[i].key) == 0)
            return rule_keys[i].parse(rule, value, error, error_size);
    }
    struct text_out out = {error, error_size, 0};
    text_put(&out, "unknown key '%.64s' (expected ", key);
    for (size_t i = 0; i < RULE_KEY_COUNT; i++)
        text_put(&out, "%s%s", i == 0 ? "" : i + 1 == RULE_KEY_COUNT ? " or " : ", ",
                 rule_keys[i].key);
    text_put(&out, ")");
    return false;
}

bool destination_rule_finish(const struct destination_rule *rule, char *error, size_t error_size)
{
    if (!rule->has_action) {
        snprintf(error, error_size, "a rule needs an action (allow or deny)");
        return false;
    }
    return true;
}

/* ---- deciding ---- */

static bool networks_hold(const struct value_list *list, const struct ip_address *address)
{
    const struct network *networks = list->items;
    for (size_t i = 0; i < list->count; i++) {
        if (network_contains(&networks[i], address))
            return true;
    }
    return false;
}

static bool users_match(const struct destination_rule *rule, const char *user_name)
{
    if (rule->users.count == 0)
        return true;
    const struct rule_user *users = rule->users.items;
    for (size_t i = 0; user_name != NULL && i < rule->users.count; i++) {
        if (strcmp(users[i].name, user_name) == 0)
            return true;
    }
    return false;
}

static bool client_matches(const struct destination_rule *rule, const struct sockaddr *client)
{
    if (rule->from.count == 0)
        return true;
    struct ip_address address;
    return client != NULL && ip_address_from_sockaddr(client, &address) &&
           networks_hold(&rule->from, &address);
}

static bool domain_matches(const struct destination_rule *rule, const char *domain)
{
    if (rule->domains.count == 0)
        return true;
    const struct domain_pattern *domains = rule->domains.items;
    for (size_t i = 0; domain != NULL && i < rule->domains.count; i++) {
        if (domain_pattern_matches(&domains[i], domain))
            return true;
    }
    return false;
}

static bool port_matches(const struct destination_rule *rule, uint16_t port)
{
    if (rule->ports.count == 0)
        return true;
    const struct port_range *ports = rule->ports.items;
    for (size_t i = 0; i < rule->ports.count; i++) {
        if (port >= ports[i].first && port <= ports[i].last)
            return true;
    }
    return false;
}

/* Every field but the destination networks: what is known before the lookup. */
static bool matches_without_address(const struct destination_rule *rule,
                                    const struct rule_facts *facts)
{
    unsigned role = facts->admin_role ? ROLE_ADMIN : ROLE_USER;
    return users_match(rule, facts->user_name) && (rule->roles == 0 || (rule->roles & role)) &&
           client_matches(rule, facts->client) && domain_matches(rule, facts->domain) &&
           port_matches(rule, facts->port) &&
           (rule->commands == 0 || (rule->commands & facts->command));
}

static enum rule_verdict decided(struct rule_decision *decision, enum rule_verdict verdict,
                                 size_t rule_index, const char *default_reason)
{
    *decision = (struct rule_decision){verdict, rule_index, default_reason};
    return verdict;
}

static enum rule_verdict decide_before_lookup(const struct rule_set *rules,
                                              const struct rule_facts *facts,
                                              struct rule_decision *decision)
{
    for (size_t i = 0; i < rules->count; i++) {
        const struct destination_rule *rule = rules->rules[i];
        if (!matches_without_address(rule, facts))
            continue;
        if (rule->to.count > 0)
            return decided(decision, RULE_VERDICT_NEEDS_ADDRESS, RULE_INDEX_NONE, NULL);
        return decided(decision, rule->action == RULE_DENY ? RULE_VERDICT_DENY : RULE_VERDICT_ALLOW,
                       i, NULL);
    }
    return decided(decision, RULE_VERDICT_ALLOW, RULE_INDEX_NONE, NULL);
}

enum rule_verdict rule_set_decide(const struct rule_set *rules, const struct rule_facts *facts,
                                  const struct sockaddr *destination, bool allow_loopback,
                                  struct rule_decision *decision)
{
    if (destination == NULL)
        return decide_before_lookup(rules, facts, decision);
    struct ip_address address;
    if (!ip_address_from_sockaddr(destination, &address))
        return decided(decision, RULE_VERDICT_DENY, RULE_INDEX_NONE, "not an IP address");
    size_t matched = RULE_INDEX_NONE;
    for (size_t i = 0; i < rules->count && matched == RULE_INDEX_NONE; i++) {
        const struct destination_rule *rule = rules->rules[i];
        if (matches_without_address(rule, facts) &&
            (rule->to.count == 0 || networks_hold(&rule->to, &address)))
            matched = i;
    }
    const struct destination_rule *rule = matched != RULE_INDEX_NONE ? rules->rules[matched] : NULL;
    if (rule != NULL && rule->action == RULE_DENY)
        return decided(decision, RULE_VERDICT_DENY, matched, NULL);
    const char *reason = safe_default_reason(&address, allow_loopback);
    /* A BIND whose DST.ADDR is all zeros reaches nothing: it accepts a peer from anywhere
     * (clients that cannot know the application server's address send zeros), so the
     * unspecified default, which is about connecting to 0.0.0.0, does not apply to it. */
    static const uint8_t zeros[16];
    if (reason != NULL && facts->command == RULE_COMMAND_BIND &&
        memcmp(address.bytes, zeros, address.family == AF_INET ? 4 : 16) == 0)
        reason = NULL;
    /* Only an allow that names the destination's network opens a default: a broad "allow
     * everything for alice" must not hand her the proxy host's own services. */
    if (reason != NULL && (rule == NULL || rule->to.count == 0))
        return decided(decision, RULE_VERDICT_DENY, RULE_INDEX_NONE, reason);
    return decided(decision, RULE_VERDICT_ALLOW, matched, NULL);
}

void rule_set_count_hit(const struct rule_set *rules, const struct rule_decision *decision)
{
    if (decision->rule_index < rules->count)
        counter_add_shared(&rules->rules[decision->rule_index]->hits, 1);
}

/* ---- reading ---- */

const char *rule_set_rule_name(const struct rule_set *rules, size_t index)
{
    return index < rules->count ? rules->rules[index]->name : "";
}

enum rule_action rule_set_rule_action(const struct rule_set *rules, size_t index)
{
    return index < rules->count ? rules->rules[index]->action : RULE_DENY;
}

unsigned rule_set_rule_line(const struct rule_set *rules, size_t index)
{
    return index < rules->count ? rules->rules[index]->source_line : 0;
}

uint64_t rule_set_rule_hits(const struct rule_set *rules, size_t index)
{
    return index < rules->count ? counter_read(&rules->rules[index]->hits) : 0;
}

void rule_set_describe(const struct rule_set *rules, size_t index, char *text, size_t size)
{
    struct text_out out = {text, size, 0};
    if (size > 0)
        text[0] = '\0';
    if (index >= rules->count)
        return;
    for (size_t i = 0; i < RULE_KEY_COUNT; i++)
        rule_keys[i].describe(rules->rules[index], &out);
}

void rule_set_describe_defaults(char *text, size_t size)
{
    struct text_out out = {text, size, 0};
    if (size > 0)
        text[0] = '\0';
    const char *reason = NULL;
    for (size_t i = 0; i < sizeof(safe_defaults) / sizeof(safe_defaults[0]); i++) {
        char network[NETWORK_TEXT_MAX];
        network_format(&safe_defaults[i].network, network, sizeof(network));
        if (reason != NULL && strcmp(reason, safe_defaults[i].reason) == 0) {
            text_put(&out, " %s", network);
        } else {
            text_put(&out, "%s%s %s", reason == NULL ? "" : ", ", safe_defaults[i].reason,
                     network);
        }
        reason = safe_defaults[i].reason;
    }
}
