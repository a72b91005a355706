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
/* The same row with the ratio given rather than computed from the two figures: a summary of
 * rounds, where the ratio is not the quotient of the two medians. */
void report_compare_ratio(struct bench_report *report, const char *label, const char *key,
                          double proxy, double direct, double ratio, int decimals);

/* Most rounds report_compare_rounds summarises. */
#define REPORT_MAX_ROUNDS 20

/* Median of count values (the two middle ones averaged when count is even); count is at most
 * REPORT_MAX_ROUNDS, 0 gives 0. */
double report_median(const double *values, unsigned count);
/* Median of proxy[i] / direct[i]: each ratio compares two passes seconds apart, so a machine
 * that drifts between rounds moves both sides of it alike, which a ratio of medians (passes
 * minutes apart) does not cancel. */
double report_median_ratio(const double *proxy, const double *direct, unsigned count);
/* rounds rounds of one figure, proxy[i] and direct[i] measured back to back in round i + 1:
 * a report_compare_ratio row of the two medians and report_median_ratio, then (when there is
 * more than one round) a row per round, keys "round<R>_<key>", "round<R>_direct_<key>" and
 * "round<R>_<key>_vs_direct". */
void report_compare_rounds(struct bench_report *report, const char *label, const char *key,
                           const double *proxy, const double *direct, unsigned rounds,
                           int decimals);
/* A failed scenario: "<section>.error=<message>" and a line in the table. */
void report_failure(struct bench_report *report, const char *message);

void report_print_table(const struct bench_report *report, FILE *out);
void report_print_kv(const struct bench_report *report, FILE *out);

#endif
