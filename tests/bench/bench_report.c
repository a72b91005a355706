/* bench_report: results as sections of labelled rows, printed as an aligned table for people
 * and as "section.key=value" lines for scripts (scripts/bench builds its comparison from them). */
#include "bench_report.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_LEN 96
#define TEXT_MAX_LEN 200

enum row_kind { ROW_VALUE, ROW_COMPARE, ROW_FAILURE };

struct report_row {
    enum row_kind kind;
    char section[NAME_MAX_LEN];
    char key[NAME_MAX_LEN];
    char key_prefix[16];      /* "round2_" for the rows of one round, else empty */
    char label[TEXT_MAX_LEN]; /* the message for ROW_FAILURE */
    double proxy;
    double direct;
    double ratio; /* ROW_COMPARE */
    int decimals;
    bool starts_section;
    char title[TEXT_MAX_LEN];
};

struct bench_report {
    struct report_row *rows;
    size_t count;
    size_t capacity;
    char section[NAME_MAX_LEN];
    char title[TEXT_MAX_LEN];
    bool section_pending;
};

struct bench_report *report_new(void)
{
    return calloc(1, sizeof(struct bench_report));
}

void report_free(struct bench_report *report)
{
    if (report == NULL)
        return;
    free(report->rows);
    free(report);
}

void report_section(struct bench_report *report, const char *key, const char *title)
{
    snprintf(report->section, sizeof(report->section), "%s", key);
    snprintf(report->title, sizeof(report->title), "%s", title);
    report->section_pending = true;
}

static struct report_row *report_add(struct bench_report *report, enum row_kind kind,
                                     const char *label, const char *key)
{
    if (report->count == report->capacity) {
        size_t capacity = report->capacity ? report->capacity * 2 : 32;
        struct report_row *rows = realloc(report->rows, capacity * sizeof(*rows));
        if (rows == NULL)
            return NULL;
        report->rows = rows;
        report->capacity = capacity;
    }
    struct report_row *row = &report->rows[report->count++];
    memset(row, 0, sizeof(*row));
    row->kind = kind;
    snprintf(row->section, sizeof(row->section), "%s", report->section);
    snprintf(row->key, sizeof(row->key), "%s", key);
    snprintf(row->label, sizeof(row->label), "%s", label);
    row->starts_section = report->section_pending;
    snprintf(row->title, sizeof(row->title), "%s", report->title);
    report->section_pending = false;
    return row;
}

void report_value(struct bench_report *report, const char *label, const char *key, double value,
                  int decimals)
{
    struct report_row *row = report_add(report, ROW_VALUE, label, key);
    if (row == NULL)
        return;
    row->proxy = value;
    row->decimals = decimals;
}

static double ratio_of(double proxy, double direct)
{
    return direct != 0.0 ? proxy / direct : 0.0;
}

static struct report_row *report_add_compare(struct bench_report *report, const char *label,
                                             const char *key, double proxy, double direct,
                                             double ratio, int decimals)
{
    struct report_row *row = report_add(report, ROW_COMPARE, label, key);
    if (row == NULL)
        return NULL;
    row->proxy = proxy;
    row->direct = direct;
    row->ratio = ratio;
    row->decimals = decimals;
    return row;
}

void report_compare(struct bench_report *report, const char *label, const char *key,
                    double proxy, double direct, int decimals)
{
    report_add_compare(report, label, key, proxy, direct, ratio_of(proxy, direct), decimals);
}

void report_compare_ratio(struct bench_report *report, const char *label, const char *key,
                          double proxy, double direct, double ratio, int decimals)
{
    report_add_compare(report, label, key, proxy, direct, ratio, decimals);
}

double report_median(const double *values, unsigned count)
{
    if (count > REPORT_MAX_ROUNDS)
        count = REPORT_MAX_ROUNDS;
    if (count == 0)
        return 0.0;
    double sorted[REPORT_MAX_ROUNDS];
    for (unsigned i = 0; i < count; i++) {
        unsigned at = i;
        for (; at > 0 && sorted[at - 1] > values[i]; at--)
            sorted[at] = sorted[at - 1];
        sorted[at] = values[i];
    }
    if (count % 2 == 1)
        return sorted[count / 2];
    return (sorted[count / 2 - 1] + sorted[count / 2]) / 2.0;
}

double report_median_ratio(const double *proxy, const double *direct, unsigned count)
{
    if (count > REPORT_MAX_ROUNDS)
        count = REPORT_MAX_ROUNDS;
    double ratios[REPORT_MAX_ROUNDS] = {0};
    for (unsigned i = 0; i < count; i++)
        ratios[i] = ratio_of(proxy[i], direct[i]);
    return report_median(ratios, count);
}

void report_compare_rounds(struct bench_report *report, const char *label, const char *key,
                           const double *proxy, const double *direct, unsigned rounds,
                           int decimals)
{
    report_compare_ratio(report, label, key, report_median(proxy, rounds),
                         report_median(direct, rounds),
                         report_median_ratio(proxy, direct, rounds), decimals);
    if (rounds < 2)
        return; /* the one round is the row above */
    for (unsigned i = 0; i < rounds && i < REPORT_MAX_ROUNDS; i++) {
        char round_label[32];
        snprintf(round_label, sizeof(round_label), "  round %u", i + 1);
        struct report_row *row = report_add_compare(report, round_label, key, proxy[i],
                                                    direct[i], ratio_of(proxy[i], direct[i]),
                                                    decimals);
        if (row != NULL)
            snprintf(row->key_prefix, sizeof(row->key_prefix), "round%u_", i + 1);
    }
}

void report_failure(struct bench_report *report, const char *message)
{
    report_add(report, ROW_FAILURE, message, "error");
}

static void table_print_row(const struct report_row *row, FILE *out)
{
    switch (row->kind) {
    case ROW_VALUE:
        fprintf(out, "  %-30s %14.*f\n", row->label, row->decimals, row->proxy);
        break;
    case ROW_COMPARE:
        fprintf(out, "  %-30s %14.*f %14.*f %12.3f\n", row->label, row->decimals, row->proxy,
                row->decimals, row->direct, row->ratio);
        break;
    case ROW_FAILURE:
        fprintf(out, "  FAILED: %s\n", row->label);
        break;
    }
}

/* A section gets the three-column header only if it compares against a direct run. */
static bool section_has_compare(const struct bench_report *report, size_t first)
{
    for (size_t i = first; i < report->count; i++) {
        if (i > first && report->rows[i].starts_section)
            break;
        if (report->rows[i].kind == ROW_COMPARE)
            return true;
    }
    return false;
}

void report_print_table(const struct bench_report *report, FILE *out)
{
    for (size_t i = 0; i < report->count; i++) {
        const struct report_row *row = &report->rows[i];
        if (row->starts_section) {
            fprintf(out, "%s%s\n", i > 0 ? "\n" : "", row->title);
            if (section_has_compare(report, i))
                fprintf(out, "  %-30s %14s %14s %12s\n", "", "proxy", "direct", "proxy/direct");
        }
        table_print_row(row, out);
    }
    fflush(out);
}

static void kv_print_compare(const struct report_row *row, FILE *out)
{
    fprintf(out, "%s.%s%s=%.*f\n", row->section, row->key_prefix, row->key, row->decimals,
            row->proxy);
    fprintf(out, "%s.%sdirect_%s=%.*f\n", row->section, row->key_prefix, row->key,
            row->decimals, row->direct);
    fprintf(out, "%s.%s%s_vs_direct=%.3f\n", row->section, row->key_prefix, row->key,
            row->ratio);
}

void report_print_kv(const struct bench_report *report, FILE *out)
{
    for (size_t i = 0; i < report->count; i++) {
        const struct report_row *row = &report->rows[i];
        switch (row->kind) {
        case ROW_VALUE:
            fprintf(out, "%s.%s=%.*f\n", row->section, row->key, row->decimals, row->proxy);
            break;
        case ROW_COMPARE:
            kv_print_compare(row, out);
            break;
        case ROW_FAILURE:
            fprintf(out, "%s.error=%s\n", row->section, row->label);
            break;
        }
    }
    fflush(out);
}
