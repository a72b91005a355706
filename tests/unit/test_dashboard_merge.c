/* test_dashboard_merge: checks the fleet dashboard's merge — users by name with each server's
 * share, sums and rates, servers left out while down, joined trees, deep model copies. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "dashboard_merge.h"
#include "dashboard_model.h"
#include "rates.h"

static const char *const names[] = { "10.0.0.1:1080", "10.0.0.2:1080", "10.0.0.3:1080" };

static struct dashboard_usage usage(const char *name, uint64_t live, uint64_t total, uint64_t up,
                                    uint64_t down)
{
    struct dashboard_usage result = { .connections_live = live, .connections_total = total,
                                       .bytes_up = up, .bytes_down = down };
    strcpy(result.name, name);
    strcpy(result.role, "user");
    return result;
}

/* A server's model: users put twice, one second apart, so their rates are known. */
static void server_model(struct dashboard_model *model, const struct dashboard_usage *users,
                         size_t count, uint64_t growth)
{
    dashboard_model_init(model);
    for (int sample = 0; sample < 2; sample++) {
        dashboard_model_begin_users(model);
        for (size_t i = 0; i < count; i++) {
            struct dashboard_usage one = users[i];
            one.bytes_up += sample * growth;
            one.bytes_down += sample * growth * 2;
            ck_assert(dashboard_model_put_user(model, &one, 10.0 + sample));
        }
        dashboard_model_end_users(model);
        struct dashboard_metrics metrics = { .valid = true, .connections_total = 100 + sample * growth,
                                             .connections_current = count, .bytes_up = 1000,
                                             .bytes_down = 2000, .send_errors = 1,
                                             .uptime_seconds = 50 * growth };
        dashboard_model_set_metrics(model, &metrics, 10.0 + sample);
    }
}

START_TEST(users_merge_by_name_with_each_share)
{
    struct dashboard_usage first[] = { usage("alice", 1, 2, 10, 20), usage("bob", 0, 1, 5, 5) };
    struct dashboard_usage second[] = { usage("alice", 2, 3, 30, 40), usage("carol", 1, 1, 1, 1) };
    first[0].max_connections = 4;
    second[0].max_connections = 6;
    first[1].upload_limit = 100; /* bob: limited on one server only, the other has none */
    struct dashboard_model models[2], merged;
    server_model(&models[0], first, 2, 10);
    server_model(&models[1], second, 2, 20);
    struct merge_source sources[] = { { &models[0], true }, { &models[1], true } };
    dashboard_model_init(&merged);
    ck_assert(dashboard_merge(&merged, sources, 2, names, 20.0));

    ck_assert_uint_eq(merged.user_count, 3);
    struct dashboard_user *alice = dashboard_model_find(&merged, "alice");
    ck_assert_ptr_nonnull(alice);
    ck_assert_uint_eq(alice->usage.connections_live, 3);
    ck_assert_uint_eq(alice->usage.connections_total, 5);
    ck_assert_uint_eq(alice->usage.bytes_up, 10 + 10 + 30 + 20);
    ck_assert_uint_eq(alice->usage.max_connections, 10); /* each server enforces its own */
    ck_assert(rate_known(&alice->rate_up));
    ck_assert(rate_per_second(&alice->rate_up) == 30.0);   /* 10/s + 20/s */
    ck_assert(rate_per_second(&alice->rate_down) == 60.0); /* 20/s + 40/s */
    ck_assert_uint_eq(alice->part_count, 2);
    ck_assert_uint_eq(alice->parts[0].server, 0);
    ck_assert_uint_eq(alice->parts[0].usage.connections_live, 1);
    ck_assert_uint_eq(alice->parts[1].server, 1);
    ck_assert_uint_eq(alice->parts[1].usage.connections_live, 2);
    ck_assert(rate_per_second(&alice->parts[1].rate_up) == 20.0);

    struct dashboard_user *bob = dashboard_model_find(&merged, "bob");
    ck_assert_uint_eq(bob->part_count, 1);
    ck_assert_uint_eq(bob->usage.upload_limit, 100);
    ck_assert_uint_eq(dashboard_model_find(&merged, "carol")->parts[0].server, 1);

    /* The header: counters summed, the oldest server's uptime, rates summed. */
    ck_assert(merged.metrics.valid);
    ck_assert_uint_eq(merged.metrics.connections_total, 110 + 120);
    ck_assert_uint_eq(merged.metrics.connections_current, 4);
    ck_assert_uint_eq(merged.metrics.send_errors, 2);
    ck_assert_uint_eq(merged.metrics.uptime_seconds, 1000);
    ck_assert(rate_per_second(&merged.rate_connections) == 30.0);
    ck_assert_uint_eq(merged.server_count, 2);

    dashboard_model_free(&merged);
    dashboard_model_free(&models[0]);
    dashboard_model_free(&models[1]);
}
END_TEST

START_TEST(down_servers_are_left_out_unless_all_are)
{
    struct dashboard_usage first[] = { usage("alice", 1, 1, 1, 1) };
    struct dashboard_usage second[] = { usage("alice", 5, 5, 5, 5), usage("bob", 1, 1, 1, 1) };
    struct dashboard_model models[2], merged;
    server_model(&models[0], first, 1, 1);
    server_model(&models[1], second, 2, 1);
    struct merge_source sources[] = { { &models[0], true }, { &models[1], false } };
    dashboard_model_init(&merged);
    ck_assert(dashboard_merge(&merged, sources, 2, names, 20.0));
    ck_assert_uint_eq(merged.user_count, 1);
    ck_assert_uint_eq(merged.users[0].usage.connections_live, 1);
    ck_assert_uint_eq(merged.metrics.connections_current, 1);

    sources[0].counted = false; /* none up: every server's last figures stay */
    ck_assert(dashboard_merge(&merged, sources, 2, names, 21.0));
    ck_assert_uint_eq(merged.user_count, 2);
    ck_assert_uint_eq(dashboard_model_find(&merged, "alice")->usage.connections_live, 6);
    dashboard_model_free(&merged);
    dashboard_model_free(&models[0]);
    dashboard_model_free(&models[1]);
}
END_TEST

static struct dashboard_connection connection(uint64_t id, bool live)
{
    struct dashboard_connection row = { .id = id, .live = live };
    return row;
}

START_TEST(one_server_merges_to_itself)
{
    struct dashboard_usage users[] = { usage("alice", 1, 2, 10, 20), usage("bob", 0, 1, 5, 5) };
    struct dashboard_model model, merged;
    server_model(&model, users, 2, 7);
    struct dashboard_user *alice = dashboard_model_find(&model, "alice");
    alice->expanded = true;
    struct dashboard_connection live[] = { connection(4, true) };
    struct dashboard_connection recent[] = { connection(2, false), connection(3, false) };
    ck_assert(dashboard_user_set_connections(alice, live, 1, 1, recent, 2, 9));
    struct merge_source source = { &model, true };
    dashboard_model_init(&merged);
    ck_assert(dashboard_merge(&merged, &source, 1, names, 20.0));
    ck_assert_uint_eq(merged.user_count, 2);
    struct dashboard_user *copy = dashboard_model_find(&merged, "alice");
    ck_assert(memcmp(&copy->usage, &alice->usage, sizeof(copy->usage)) == 0);
    ck_assert(rate_per_second(&copy->rate_up) == rate_per_second(&alice->rate_up));
    ck_assert_uint_eq(copy->part_count, 0); /* one server: no shares to show */
    ck_assert(copy->expanded);              /* new to the screen: as the server had it */
    ck_assert_uint_eq(copy->live_shown, 1);
    ck_assert_uint_eq(copy->recent_shown, 2);
    ck_assert_uint_eq(copy->recent_total, 9);
    ck_assert_uint_eq(copy->connections[0].id, 4);
    ck_assert_uint_eq(copy->connections[1].id, 3);
    ck_assert(memcmp(&merged.metrics, &model.metrics, sizeof(merged.metrics)) == 0);
    ck_assert(rate_per_second(&merged.rate_up) == rate_per_second(&model.rate_up));
    ck_assert(rate_known(&merged.rate_up) == rate_known(&model.rate_up));
    dashboard_model_free(&merged);
    dashboard_model_free(&model);
}
END_TEST

START_TEST(trees_join_live_then_recent_with_their_server)
{
    struct dashboard_usage users[] = { usage("alice", 1, 2, 10, 20) };
    struct dashboard_model models[2], merged;
    server_model(&models[0], users, 1, 1);
    server_model(&models[1], users, 1, 1);
    struct dashboard_connection live0[] = { connection(7, true) };
    struct dashboard_connection recent0[] = { connection(6, false) };
    struct dashboard_connection live1[] = { connection(7, true), connection(8, true) };
    struct dashboard_connection recent1[] = { connection(5, false) };
    ck_assert(dashboard_user_set_connections(&models[0].users[0], live0, 1, 1, recent0, 1, 1));
    ck_assert(dashboard_user_set_connections(&models[1].users[0], live1, 2, 2, recent1, 1, 4));
    struct dashboard_connection older[] = { connection(2, false) };
    ck_assert(dashboard_user_add_history(&models[1].users[0], older, 1, true));
    struct merge_source sources[] = { { &models[0], true }, { &models[1], true } };
    dashboard_model_init(&merged);
    ck_assert(dashboard_merge(&merged, sources, 2, names, 20.0));
    ck_assert(!merged.users[0].expanded);
    ck_assert_uint_eq(dashboard_user_tree_rows(&merged.users[0]), 0); /* collapsed: no tree */

    merged.users[0].expanded = true; /* the screen expands alice: kept across merges */
    ck_assert(dashboard_merge(&merged, sources, 2, names, 21.0));
    const struct dashboard_user *alice = &merged.users[0];
    ck_assert(alice->expanded);
    ck_assert_uint_eq(alice->live_shown, 3);
    ck_assert_uint_eq(alice->recent_shown, 2);
    ck_assert_uint_eq(alice->live_total, 3);
    ck_assert_uint_eq(alice->recent_total, 5);
    ck_assert_uint_eq(alice->history_count, 1); /* the history's rows come last */
    ck_assert(alice->history_asked && alice->history_more);
    ck_assert_uint_eq(dashboard_user_tree_rows(alice), 6);
    const uint64_t ids[] = { 7, 8, 7, 6, 5, 2 };
    const size_t servers[] = { 0, 1, 1, 0, 1, 1 };
    for (size_t i = 0; i < 6; i++) {
        ck_assert_uint_eq(alice->connections[i].id, ids[i]);
        ck_assert_uint_eq(alice->connections[i].server, servers[i]);
    }
    ck_assert_uint_eq(alice->history[0].server, 1);
    merged.users[0].expanded = false;
    ck_assert(dashboard_merge(&merged, sources, 2, names, 22.0));
    ck_assert_ptr_null(merged.users[0].connections);
    dashboard_model_free(&merged);
    dashboard_model_free(&models[0]);
    dashboard_model_free(&models[1]);
}
END_TEST

START_TEST(copies_are_deep)
{
    struct dashboard_usage users[] = { usage("alice", 1, 2, 10, 20), usage("bob", 0, 1, 5, 5) };
    struct dashboard_model model, copy;
    server_model(&model, users, 2, 1);
    struct dashboard_connection live[] = { connection(4, true) };
    ck_assert(dashboard_user_set_connections(&model.users[0], live, 1, 1, NULL, 0, 0));
    struct dashboard_connection older[] = { connection(1, false) };
    ck_assert(dashboard_user_add_history(&model.users[0], older, 1, false));
    ck_assert(dashboard_model_copy(&copy, &model));
    ck_assert_uint_eq(copy.user_count, 2);
    ck_assert_ptr_ne(copy.users[0].connections, model.users[0].connections);
    ck_assert_uint_eq(dashboard_user_tree_rows(&copy.users[0]), 2);
    ck_assert_uint_eq(copy.users[0].connections[1].id, 1);
    copy.users[0].connections[0].id = 99;
    ck_assert_uint_eq(model.users[0].connections[0].id, 4);
    dashboard_model_free(&model);
    ck_assert_uint_eq(copy.users[0].history[0].id, 1); /* still its own after the original went */
    dashboard_model_free(&copy);

    struct rate sum;
    rate_reset(&sum);
    struct rate unknown;
    rate_reset(&unknown);
    rate_add(&sum, &unknown);
    ck_assert(!rate_known(&sum));
}
END_TEST

static Suite *dashboard_merge_suite(void)
{
    Suite *suite = suite_create("dashboard_merge");
    TCase *merge = tcase_create("merge");
    tcase_add_test(merge, users_merge_by_name_with_each_share);
    tcase_add_test(merge, down_servers_are_left_out_unless_all_are);
    tcase_add_test(merge, one_server_merges_to_itself);
    tcase_add_test(merge, trees_join_live_then_recent_with_their_server);
    tcase_add_test(merge, copies_are_deep);
    suite_add_tcase(suite, merge);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(dashboard_merge_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
