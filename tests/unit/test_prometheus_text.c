/* test_prometheus_text: Check suite for server/admin/prometheus_text — the exposition of a fixed
 * snapshot line by line; every registry metric shown once, each family once with HELP and
 * TYPE, under Prometheus's naming rules; the per-user cut; histograms. */
#include "prometheus_text.h"

#include <check.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct metrics numbered_metrics(void)
{
    /* Each counter a value of its own: metric i holds 1000 + i. */
    struct metrics metrics;
    uint64_t *values = (uint64_t *)&metrics;
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++)
        values[i] = 1000 + i;
    return metrics;
}

/* The exposition of a snapshot with the given users (NULL-terminated text). */
static char *write_text(struct prometheus_user *users, size_t user_count, size_t max_users,
                        const struct latency_histogram *handshake)
{
    static const struct latency_histogram empty;
    struct metrics metrics = numbered_metrics();
    struct prometheus_snapshot snapshot = {
        .metrics = &metrics,
        .users = 7,
        .admin_sessions = 2,
        .started_ms = 1764790000123,
        .handshake = handshake != NULL ? handshake : &empty,
        .connect = &empty,
        .user_rows = users,
        .user_count = user_count,
        .max_users = max_users,
    };
    struct prometheus_buffer out = { 0 };
    ck_assert(prometheus_text_write(&snapshot, &out));
    ck_assert_uint_eq(strlen(out.data), out.length);
    return out.data;
}

static bool has_line(const char *text, const char *line)
{
    size_t length = strlen(line);
    for (const char *at = text; (at = strstr(at, line)) != NULL; at++)
        if ((at == text || at[-1] == '\n') && at[length] == '\n')
            return true;
    return false;
}

static void assert_line(const char *text, const char *line)
{
    ck_assert_msg(has_line(text, line), "missing line: %s\n%s", line, text);
}

static size_t count_occurrences(const char *text, const char *needle)
{
    size_t count = 0;
    for (const char *at = text; (at = strstr(at, needle)) != NULL; at += strlen(needle))
        count++;
    return count;
}

START_TEST(fixed_snapshot)
{
    char *text = write_text(NULL, 0, 1000, NULL);
    assert_line(text, "# HELP socks5d_connections_total connections accepted");
    assert_line(text, "# TYPE socks5d_connections_total counter");
    char line[128];
    snprintf(line, sizeof(line), "socks5d_connections_total %u",
             1000 + ADMIN_METRIC_INDEX_connections_total);
    assert_line(text, line);
    snprintf(line, sizeof(line), "socks5d_bytes_total{direction=\"up\"} %u",
             1000 + ADMIN_METRIC_INDEX_bytes_up);
    assert_line(text, line);
    snprintf(line, sizeof(line), "socks5d_bytes_total{direction=\"down\"} %u",
             1000 + ADMIN_METRIC_INDEX_bytes_down);
    assert_line(text, line);
    snprintf(line, sizeof(line), "socks5d_connections_live %u",
             1000 + ADMIN_METRIC_INDEX_connections_current);
    assert_line(text, line);
    assert_line(text, "# TYPE socks5d_connections_live gauge");
    snprintf(line, sizeof(line), "socks5d_errors_total{cause=\"dns\"} %u",
             1000 + ADMIN_METRIC_INDEX_dns_errors);
    assert_line(text, line);
    snprintf(line, sizeof(line), "socks5d_auth_failures_total %u",
             1000 + ADMIN_METRIC_INDEX_auth_errors);
    assert_line(text, line);
    snprintf(line, sizeof(line), "socks5d_rule_denials_total %u",
             1000 + ADMIN_METRIC_INDEX_rule_denials);
    assert_line(text, line);
    snprintf(line, sizeof(line), "socks5d_limit_refusals_total %u",
             1000 + ADMIN_METRIC_INDEX_limit_refusals);
    assert_line(text, line);
    snprintf(line, sizeof(line), "socks5d_listeners_paused %u",
             1000 + ADMIN_METRIC_INDEX_listeners_paused);
    assert_line(text, line);
    snprintf(line, sizeof(line), "socks5d_udp_dropped_total{cause=\"policy\"} %u",
             1000 + ADMIN_METRIC_INDEX_udp_dropped_policy);
    assert_line(text, line);
    assert_line(text, "socks5d_users 7");
    assert_line(text, "socks5d_admin_sessions 2");
    assert_line(text, "socks5d_start_time_seconds 1764790000.123");
    /* No users, no per-user families. */
    ck_assert_ptr_null(strstr(text, "socks5d_user_"));
    ck_assert(text[strlen(text) - 1] == '\n');
    free(text);
}
END_TEST

static bool is_metric_name(const char *name, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        bool letter = isalpha((unsigned char)c) || c == '_' || c == ':';
        if (!letter && !(i > 0 && isdigit((unsigned char)c)))
            return false;
    }
    return length > 0;
}

/* The format's rules, checked over the whole text: each family's HELP then TYPE once, its
 * samples right after, names well formed, counters named _total, no sample repeated. */
START_TEST(every_family_once_and_well_formed)
{
    struct prometheus_user users[] = { { .name = "alice", .bytes_up = 5 } };
    char *text = write_text(users, 1, 1000, NULL);
    char families[128][PROMETHEUS_FAMILY_MAX];
    size_t family_count = 0;
    char current[PROMETHEUS_FAMILY_MAX] = "";
    char type[16] = "";
    char *save = NULL;
    char *copy = strdup(text);
    for (char *line = strtok_r(copy, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "# HELP ", 7) == 0) {
            size_t length = strcspn(line + 7, " ");
            ck_assert(is_metric_name(line + 7, length));
            snprintf(current, sizeof(current), "%.*s", (int)length, line + 7);
            for (size_t i = 0; i < family_count; i++)
                ck_assert_msg(strcmp(families[i], current) != 0, "family twice: %s", current);
            ck_assert_uint_lt(family_count, 128);
            snprintf(families[family_count++], PROMETHEUS_FAMILY_MAX, "%s", current);
            type[0] = '\0';
            continue;
        }
        if (strncmp(line, "# TYPE ", 7) == 0) {
            char name[PROMETHEUS_FAMILY_MAX];
            ck_assert_int_eq(sscanf(line + 7, "%95s %15s", name, type), 2);
            ck_assert_str_eq(name, current);
            ck_assert(strcmp(type, "counter") == 0 || strcmp(type, "gauge") == 0 ||
                      strcmp(type, "histogram") == 0);
            if (strcmp(type, "counter") == 0)
                ck_assert_msg(strlen(name) > 6 && strcmp(name + strlen(name) - 6, "_total") == 0,
                              "counter %s", name);
            continue;
        }
        /* A sample: its name is the family's (a histogram's with its suffixes). */
        ck_assert_msg(type[0] != '\0', "sample before its TYPE: %s", line);
        size_t length = strcspn(line, "{ ");
        ck_assert(is_metric_name(line, length));
        ck_assert_msg(strncmp(line, current, strlen(current)) == 0, "%s outside %s", line, current);
        ck_assert_uint_eq(count_occurrences(text, line), 1);
    }
    /* Every registry metric is one sample, of a family its kind agrees with. */
    for (size_t i = 0; i < ADMIN_METRIC_COUNT; i++) {
        char family_text[PROMETHEUS_FAMILY_MAX];
        struct prometheus_series series;
        prometheus_series_of(i, &series, family_text, sizeof(family_text));
        char sample[256];
        if (series.label != NULL)
            snprintf(sample, sizeof(sample), "%s{%s=\"%s\"} %zu", series.family, series.label,
                     series.label_value, 1000 + i);
        else
            snprintf(sample, sizeof(sample), "%s %zu", series.family, 1000 + i);
        assert_line(text, sample);
        char type_line[256];
        snprintf(type_line, sizeof(type_line), "# TYPE %s %s", series.family,
                 admin_metrics[i].kind == ADMIN_METRIC_COUNTER ? "counter" : "gauge");
        assert_line(text, type_line);
        ck_assert_ptr_nonnull(series.help);
    }
    free(copy);
    free(text);
}
END_TEST

START_TEST(users_past_the_limit_are_summed)
{
    struct prometheus_user users[] = {
        { .name = "small", .bytes_up = 1, .bytes_down = 1, .connections_total = 1 },
        { .name = "big", .bytes_up = 900, .bytes_down = 100, .connections_total = 3,
          .connections_live = 2 },
        { .name = "other", .bytes_up = 500, .bytes_down = 500, .connections_total = 4 },
        { .name = "middle", .bytes_up = 10, .bytes_down = 90, .connections_total = 5,
          .connections_live = 1 },
        { .name = "tie-b", .bytes_up = 1, .bytes_down = 1, .connections_total = 6 },
    };
    /* Room for two: big and middle (most bytes; "other" always joins the sum), the rest summed. */
    char *text = write_text(users, 5, 2, NULL);
    assert_line(text, "socks5d_user_bytes_total{user=\"big\",direction=\"up\"} 900");
    assert_line(text, "socks5d_user_bytes_total{user=\"big\",direction=\"down\"} 100");
    assert_line(text, "socks5d_user_bytes_total{user=\"middle\",direction=\"down\"} 90");
    assert_line(text, "socks5d_user_bytes_total{user=\"other\",direction=\"up\"} 502");
    assert_line(text, "socks5d_user_bytes_total{user=\"other\",direction=\"down\"} 502");
    assert_line(text, "socks5d_user_connections_total{user=\"other\"} 11");
    assert_line(text, "socks5d_user_connections_live{user=\"big\"} 2");
    assert_line(text, "socks5d_user_connections_live{user=\"other\"} 0");
    ck_assert_ptr_null(strstr(text, "user=\"small\""));
    ck_assert_ptr_null(strstr(text, "user=\"tie-b\""));
    ck_assert_uint_eq(count_occurrences(text, "# TYPE socks5d_user_bytes_total counter"), 1);
    ck_assert_uint_eq(count_occurrences(text, "# TYPE socks5d_user_connections_live gauge"), 1);
    free(text);

    /* Everyone fits: no "other" series at all. */
    struct prometheus_user two[] = { { .name = "a", .bytes_up = 1 }, { .name = "b" } };
    text = write_text(two, 2, 1000, NULL);
    ck_assert_ptr_null(strstr(text, "{user=\"other\""));
    assert_line(text, "socks5d_user_connections_total{user=\"b\"} 0");
    free(text);

    /* 0: nobody on their own, everything summed. */
    text = write_text(two, 2, 0, NULL);
    ck_assert_ptr_null(strstr(text, "user=\"a\""));
    assert_line(text, "socks5d_user_bytes_total{user=\"other\",direction=\"up\"} 1");
    free(text);
}
END_TEST

START_TEST(ties_cut_by_name)
{
    struct prometheus_user users[] = { { .name = "carol", .bytes_up = 5 },
                                       { .name = "alice", .bytes_up = 5 },
                                       { .name = "bob", .bytes_up = 5 } };
    char *text = write_text(users, 3, 2, NULL);
    assert_line(text, "socks5d_user_bytes_total{user=\"alice\",direction=\"up\"} 5");
    assert_line(text, "socks5d_user_bytes_total{user=\"bob\",direction=\"up\"} 5");
    assert_line(text, "socks5d_user_bytes_total{user=\"other\",direction=\"up\"} 5");
    free(text);
}
END_TEST

START_TEST(label_values_are_escaped)
{
    struct prometheus_user users[] = { { .name = "a\"b\\c", .connections_total = 1 } };
    char *text = write_text(users, 1, 10, NULL);
    assert_line(text, "socks5d_user_connections_total{user=\"a\\\"b\\\\c\"} 1");
    free(text);
}
END_TEST

START_TEST(histogram_buckets)
{
    struct latency_histogram histogram = { 0 };
    latency_histogram_observe(&histogram, 200);     /* 0.0002 s */
    latency_histogram_observe(&histogram, 500);     /* on the first bound: in it */
    latency_histogram_observe(&histogram, 501);
    latency_histogram_observe(&histogram, 30000);   /* 0.03 s */
    latency_histogram_observe(&histogram, 20000000); /* 20 s: past every bound */
    ck_assert_uint_eq(latency_histogram_count(&histogram), 5);
    char *text = write_text(NULL, 0, 10, &histogram);
    assert_line(text, "# TYPE socks5d_handshake_seconds histogram");
    assert_line(text, "socks5d_handshake_seconds_bucket{le=\"0.0005\"} 2");
    assert_line(text, "socks5d_handshake_seconds_bucket{le=\"0.001\"} 3");
    assert_line(text, "socks5d_handshake_seconds_bucket{le=\"0.025\"} 3");
    assert_line(text, "socks5d_handshake_seconds_bucket{le=\"0.05\"} 4");
    assert_line(text, "socks5d_handshake_seconds_bucket{le=\"10\"} 4");
    assert_line(text, "socks5d_handshake_seconds_bucket{le=\"+Inf\"} 5");
    assert_line(text, "socks5d_handshake_seconds_sum 20.031201");
    assert_line(text, "socks5d_handshake_seconds_count 5");
    assert_line(text, "socks5d_connect_seconds_count 0");
    assert_line(text, "socks5d_connect_seconds_sum 0");
    free(text);

    /* Summing workers adds bucket by bucket. */
    struct latency_histogram total = { 0 };
    latency_histogram_add_up(&total, &histogram);
    latency_histogram_add_up(&total, &histogram);
    ck_assert_uint_eq(latency_histogram_count(&total), 10);
    ck_assert_uint_eq(total.sum_us, 2 * histogram.sum_us);
}
END_TEST

static Suite *prometheus_text_suite(void)
{
    Suite *suite = suite_create("prometheus_text");
    TCase *exposition = tcase_create("exposition");
    tcase_add_test(exposition, fixed_snapshot);
    tcase_add_test(exposition, every_family_once_and_well_formed);
    tcase_add_test(exposition, users_past_the_limit_are_summed);
    tcase_add_test(exposition, ties_cut_by_name);
    tcase_add_test(exposition, label_values_are_escaped);
    tcase_add_test(exposition, histogram_buckets);
    suite_add_tcase(suite, exposition);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(prometheus_text_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
