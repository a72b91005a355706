/* bench_report: results as sections of labelled rows, printed as an aligned table for people
 * and as "section.key=value" lines for scripts (scripts/bench builds its comparison from them). */
#ifndef BENCH_REPORT_H
#define BENCH_REPORT_H

#include <stdio.h>

struct bench_report;

struct bench_report *report_new(void);
void report_free(struct bench_report *report);

/* Starts a section: key prefix for the key=value lines ("rate.ipv4.noauth.step") and a title. */
void report_section(struct bench_report *report, const char *key, const char *title);
/* One value: key "tunnels_per_s" becomes "<section>.tunnels_per_s". */
void report_value(struct bench_report *report, const char *label, const char *key, double value,
                  int decimals);
/* Through the proxy beside direct: keys "<key>", "direct_<key>" and "<key>_vs_direct"
 * (proxy divided by direct). */
void report_compare(struct bench_report *report, const char *label, const char *key,
                    double proxy, double direct, int decimals);
/* A failed scenario: "<section>.error=<message>" and a line in the table. */
void report_failure(struct bench_report *report, const char *message);

void report_print_table(const struct bench_report *report, FILE *out);
void report_print_kv(const struct bench_report *report, FILE *out);

#endif
