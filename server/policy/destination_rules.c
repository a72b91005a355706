/* destination_rules: the ordered allow/deny rules — who (user, role, client network) may reach
 * what (network, domain, port, command) — first match wins, behind the safe defaults. */
#include "destination_rules.h"

#include <stdio.h>
#include <stdlib.h>

/* PLACEHOLDER until the rules engine lands: an empty set that allows everything. */
struct rule_set {
    size_t count;
};

struct rule_set *rule_set_create(void)
{
    return calloc(1, sizeof(struct rule_set));
}

void rule_set_destroy(struct rule_set *rules)
{
    free(rules);
}

size_t rule_set_count(const struct rule_set *rules)
{
    return rules->count;
}

struct destination_rule *rule_set_add(struct rule_set *rules, unsigned source_line)
{
    (void)rules;
    (void)source_line;
    return NULL;
}

bool destination_rule_set_field(struct destination_rule *rule, const char *key, const char *value,
                                char *error, size_t error_size)
{
    (void)rule;
    (void)key;
    (void)value;
    snprintf(error, error_size, "rules are not implemented");
    return false;
}

bool destination_rule_finish(const struct destination_rule *rule, char *error, size_t error_size)
{
    (void)rule;
    snprintf(error, error_size, "rules are not implemented");
    return false;
}

enum rule_verdict rule_set_decide(const struct rule_set *rules, const struct rule_facts *facts,
                                  const struct sockaddr *destination, bool allow_loopback,
                                  struct rule_decision *decision)
{
    (void)rules;
    (void)facts;
    (void)destination;
    (void)allow_loopback;
    *decision = (struct rule_decision){ RULE_VERDICT_ALLOW, RULE_INDEX_NONE, NULL };
    return RULE_VERDICT_ALLOW;
}

const char *rule_set_rule_name(const struct rule_set *rules, size_t index)
{
    (void)rules;
    (void)index;
    return "";
}

uint64_t rule_set_rule_hits(const struct rule_set *rules, size_t index)
{
    (void)rules;
    (void)index;
    return 0;
}

void rule_set_describe(const struct rule_set *rules, size_t index, char *text, size_t size)
{
    (void)rules;
    (void)index;
    snprintf(text, size, "%s", "");
}
