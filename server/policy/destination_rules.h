/* destination_rules: the ordered allow/deny rules — who (user, role, client network) may reach
 * what (network, domain, port, command) — first match wins, behind the safe defaults. */
#ifndef DESTINATION_RULES_H
#define DESTINATION_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

enum rule_action { RULE_ALLOW, RULE_DENY };

/* The command a rule may name; a rule naming none matches all three. */
enum rule_command {
    RULE_COMMAND_CONNECT = 1u << 0,
    RULE_COMMAND_BIND = 1u << 1,
    RULE_COMMAND_UDP = 1u << 2,
};

/* What is known of a request when the rules are asked about it. */
struct rule_facts {
    const char *user_name;        /* the authenticated user, or "anonymous" (no-auth) */
    bool admin_role;              /* the user's role is admin */
    const struct sockaddr *client; /* the client's address */
    const char *domain;           /* the name the client asked for; NULL for an address */
    uint16_t port;                /* the destination port */
    enum rule_command command;
};

enum rule_verdict {
    RULE_VERDICT_ALLOW,
    RULE_VERDICT_DENY,
    /* Before the lookup: a rule that names destination networks could decide, so the answer
     * waits for the addresses. */
    RULE_VERDICT_NEEDS_ADDRESS,
};

/* Why a request was decided as it was: the rule that matched, or a safe default. */
struct rule_decision {
    enum rule_verdict verdict;
    size_t rule_index;       /* RULE_INDEX_NONE when no rule matched */
    const char *default_reason; /* "loopback", "link-local", ...: a safe default denied it */
};
#define RULE_INDEX_NONE SIZE_MAX

struct rule_set;
struct destination_rule;

struct rule_set *rule_set_create(void);
void rule_set_destroy(struct rule_set *rules);
size_t rule_set_count(const struct rule_set *rules);

/* Building, as a config file gives it: a new rule at the end (NULL when out of memory), then
 * each of its fields as text. Keys: action (allow|deny), name, user, role (user|admin), from
 * (client network), to (destination network), domain (exact, or *.suffix for its sub-domains
 * but not the bare suffix; only requests that name a domain match it), port (N or N-M),
 * command (connect|bind|udp); every key but action and name may be given several times, a
 * rule matching when each key given matches one of its values. On error returns false with a
 * message saying what was expected. */
struct destination_rule *rule_set_add(struct rule_set *rules, unsigned source_line);
bool destination_rule_set_field(struct destination_rule *rule, const char *key, const char *value,
                                char *error, size_t error_size);
/* Once every field is set: false (with why) when the rule is incomplete (no action). */
bool destination_rule_finish(const struct destination_rule *rule, char *error, size_t error_size);

/* Deciding. destination is NULL before the lookup: the answer is DENY when a rule that needs
 * no address denies (the name is then never resolved), NEEDS_ADDRESS when a rule naming
 * destination networks comes first that could match, else ALLOW — and the addresses must still
 * each be decided, for the safe defaults. Else destination is one of the addresses, each of
 * which must be allowed; an IPv4-mapped IPv6 address is judged as the IPv4 address it carries.
 * Loopback, unspecified, link-local, multicast and broadcast destinations are denied unless
 * the first matching rule is an allow whose destination networks hold them (loopback: or
 * allow_loopback); an allow rule without `to` does not open them. Counts nothing. */
enum rule_verdict rule_set_decide(const struct rule_set *rules, const struct rule_facts *facts,
                                  const struct sockaddr *destination, bool allow_loopback,
                                  struct rule_decision *decision);
/* Once per request, for the decision that settled it: one hit for its rule (none for a safe
 * default or no match). Relaxed atomics: any thread. */
void rule_set_count_hit(const struct rule_set *rules, const struct rule_decision *decision);

/* Reading, for the admin's `rules` listing and the logs. Rules are numbered from 1 there. */
const char *rule_set_rule_name(const struct rule_set *rules, size_t index); /* "" when none */
enum rule_action rule_set_rule_action(const struct rule_set *rules, size_t index);
unsigned rule_set_rule_line(const struct rule_set *rules, size_t index); /* as given to add */
uint64_t rule_set_rule_hits(const struct rule_set *rules, size_t index);
/* The rule as one line of key=value text ("deny to=10.0.0.0/8 port=22"). */
void rule_set_describe(const struct rule_set *rules, size_t index, char *text, size_t size);
/* The safe defaults as one line ("loopback 127.0.0.0/8 ::1/128, unspecified ..."). */
void rule_set_describe_defaults(char *text, size_t size);

#endif
