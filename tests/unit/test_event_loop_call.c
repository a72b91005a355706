/* test_event_loop_call: event_loop_call from many threads into several loops — each call runs
 * exactly once on its loop's thread, loops that call each other never deadlock, and calls
 * made while a loop stops are released. */
#include "event_loop.h"

#include <check.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define LOOPS 4
#define CALLER_THREADS 8
#define CALLS_PER_THREAD 2000
#define CROSSINGS 300
/* A deadlock shows as a scenario that has not finished by then (the whole test is seconds). */
#define SCENARIO_DEADLINE_S 60

/* Check's assertions may only fail on the test's own thread: the others count here. */
static atomic_uint failures_off_the_test_thread;

static void expect(bool holds)
{
    if (!holds)
        atomic_fetch_add(&failures_off_the_test_thread, 1);
}

static void start_thread(pthread_t *thread, void *(*body)(void *), void *argument)
{
    if (pthread_create(thread, NULL, body, argument) != 0)
        abort(); /* from any thread: the run fails loudly */
}

/* One loop on its own thread, with what the calls made to it saw. */
struct test_loop {
    struct event_loop *loop;
    pthread_t thread; /* as seen from the loop's own thread */
    uint64_t calls_run; /* written only on the loop's thread: a race here is a bug */
};

static void record_thread(void *argument)
{
    struct test_loop *loop = argument;
    loop->thread = pthread_self();
}

static void start_loops(struct test_loop *loops, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        loops[i].loop = event_loop_create();
        ck_assert_ptr_nonnull(loops[i].loop);
        loops[i].calls_run = 0;
        ck_assert(event_loop_start_thread(loops[i].loop, NULL, NULL));
        event_loop_call(loops[i].loop, record_thread, &loops[i]);
        ck_assert(!pthread_equal(loops[i].thread, pthread_self()));
    }
}

static void stop_loops(struct test_loop *loops, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        event_loop_join_thread(loops[i].loop);
        event_loop_destroy(loops[i].loop);
    }
}

/* Runs scenario(argument) on a thread of its own and fails if it has not returned by the
 * deadline: a deadlock fails the test with a message instead of hanging the suite. */
static void run_with_deadline(void *(*scenario)(void *), void *argument, const char *what)
{
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, scenario, argument), 0);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += SCENARIO_DEADLINE_S;
    int joined = pthread_timedjoin_np(thread, NULL, &deadline);
    ck_assert_msg(joined == 0, "%s: not done after %d s (deadlock?)", what, SCENARIO_DEADLINE_S);
    ck_assert_uint_eq(atomic_load(&failures_off_the_test_thread), 0);
}

/* ---- many threads into several loops ---- */

struct counted_call {
    struct test_loop *target;
    atomic_uint runs;
    bool on_wrong_thread;
};

static void counted(void *argument)
{
    struct counted_call *call = argument;
    if (!pthread_equal(pthread_self(), call->target->thread))
        call->on_wrong_thread = true;
    call->target->calls_run++;
    atomic_fetch_add(&call->runs, 1);
}

struct caller {
    struct test_loop *loops;
    unsigned seed;
    struct counted_call calls[CALLS_PER_THREAD];
};

static void *caller_thread(void *argument)
{
    struct caller *caller = argument;
    for (size_t i = 0; i < CALLS_PER_THREAD; i++) {
        struct counted_call *call = &caller->calls[i];
        call->target = &caller->loops[rand_r(&caller->seed) % LOOPS];
        event_loop_call(call->target->loop, counted, call);
        /* Returned only once it ran: exactly once, and already. */
        expect(atomic_load(&call->runs) == 1);
    }
    return NULL;
}

struct many_callers {
    struct test_loop loops[LOOPS];
    struct caller callers[CALLER_THREADS];
};

static void *many_callers_scenario(void *argument)
{
    struct many_callers *state = argument;
    pthread_t threads[CALLER_THREADS];
    for (size_t i = 0; i < CALLER_THREADS; i++) {
        state->callers[i].loops = state->loops;
        state->callers[i].seed = (unsigned)i + 1;
        start_thread(&threads[i], caller_thread, &state->callers[i]);
    }
    for (size_t i = 0; i < CALLER_THREADS; i++)
        pthread_join(threads[i], NULL);
    return NULL;
}

START_TEST(many_threads_call_into_several_loops_each_call_runs_once_on_its_loop)
{
    struct many_callers *state = calloc(1, sizeof(*state));
    ck_assert_ptr_nonnull(state);
    start_loops(state->loops, LOOPS);
    run_with_deadline(many_callers_scenario, state, "8 threads calling 4 loops");
    uint64_t per_loop[LOOPS] = { 0 };
    for (size_t t = 0; t < CALLER_THREADS; t++) {
        for (size_t i = 0; i < CALLS_PER_THREAD; i++) {
            const struct counted_call *call = &state->callers[t].calls[i];
            ck_assert_uint_eq(atomic_load(&call->runs), 1);
            ck_assert(!call->on_wrong_thread);
            per_loop[call->target - state->loops]++;
        }
    }
    stop_loops(state->loops, LOOPS);
    uint64_t total = 0;
    for (size_t i = 0; i < LOOPS; i++) {
        ck_assert_uint_eq(state->loops[i].calls_run, per_loop[i]);
        total += per_loop[i];
    }
    ck_assert_uint_eq(total, (uint64_t)CALLER_THREADS * CALLS_PER_THREAD);
    free(state);
}
END_TEST

/* ---- loops that call each other ---- */

/* Each crossing: every loop of the circle is inside a call at the same moment (the barrier),
 * and from there calls the next loop of the circle, which is just as busy calling its own
 * next. Waiting without running the calls made to one's own loop would hang at once. */
struct circle {
    struct test_loop *loops;
    size_t size;
    pthread_barrier_t next_crossing; /* between crossings: every outer call of the last is done */
    pthread_barrier_t all_inside;
    atomic_uint inner_runs;
    atomic_uint wrong_thread;
};

struct circle_step {
    struct circle *circle;
    size_t index;
};

static void inner_call(void *argument)
{
    struct circle_step *step = argument;
    struct test_loop *here = &step->circle->loops[step->index];
    if (!pthread_equal(pthread_self(), here->thread))
        atomic_fetch_add(&step->circle->wrong_thread, 1);
    here->calls_run++;
    atomic_fetch_add(&step->circle->inner_runs, 1);
}

static void outer_call(void *argument)
{
    struct circle_step *step = argument;
    struct circle *circle = step->circle;
    pthread_barrier_wait(&circle->all_inside);
    struct circle_step next = { circle, (step->index + 1) % circle->size };
    event_loop_call(circle->loops[next.index].loop, inner_call, &next);
}

struct circle_caller {
    struct circle *circle;
    size_t index;
};

static void *circle_caller_thread(void *argument)
{
    struct circle_caller *caller = argument;
    for (int i = 0; i < CROSSINGS; i++) {
        /* Else a loop could sit at the next crossing's barrier (which runs no calls) while
         * another still waits for it to run a call of this one. */
        pthread_barrier_wait(&caller->circle->next_crossing);
        struct circle_step step = { caller->circle, caller->index };
        event_loop_call(caller->circle->loops[caller->index].loop, outer_call, &step);
    }
    return NULL;
}

static void *circle_scenario(void *argument)
{
    struct circle *circle = argument;
    pthread_t threads[LOOPS];
    struct circle_caller callers[LOOPS];
    for (size_t i = 0; i < circle->size; i++) {
        callers[i] = (struct circle_caller){ circle, i };
        start_thread(&threads[i], circle_caller_thread, &callers[i]);
    }
    for (size_t i = 0; i < circle->size; i++)
        pthread_join(threads[i], NULL);
    return NULL;
}

static void check_circle(size_t size, const char *what)
{
    struct test_loop loops[LOOPS];
    start_loops(loops, size);
    struct circle circle = { .loops = loops, .size = size };
    pthread_barrier_init(&circle.next_crossing, NULL, (unsigned)size);
    pthread_barrier_init(&circle.all_inside, NULL, (unsigned)size);
    run_with_deadline(circle_scenario, &circle, what);
    pthread_barrier_destroy(&circle.all_inside);
    pthread_barrier_destroy(&circle.next_crossing);
    stop_loops(loops, size);
    ck_assert_uint_eq(atomic_load(&circle.inner_runs), size * CROSSINGS);
    ck_assert_uint_eq(atomic_load(&circle.wrong_thread), 0);
    for (size_t i = 0; i < size; i++)
        ck_assert_uint_eq(loops[i].calls_run, CROSSINGS);
}

START_TEST(loop_a_calling_b_while_b_calls_a_does_not_deadlock)
{
    check_circle(2, "A calls B while B calls A");
}
END_TEST

START_TEST(a_circle_of_three_loops_calling_round_does_not_deadlock)
{
    check_circle(3, "A calls B, B calls C, C calls A");
}
END_TEST

/* ---- inline: one's own loop, and loops that do not run ---- */

struct self_call {
    struct test_loop *loop;
    int depth;
    bool inline_on_own_thread;
};

static void call_self(void *argument)
{
    struct self_call *call = argument;
    if (call->depth++ == 0)
        event_loop_call(call->loop->loop, call_self, call); /* would wait for itself */
    else
        call->inline_on_own_thread = pthread_equal(pthread_self(), call->loop->thread);
}

START_TEST(a_call_to_the_callers_own_loop_runs_at_once)
{
    struct test_loop loop;
    start_loops(&loop, 1);
    struct self_call call = { &loop, 0, false };
    event_loop_call(loop.loop, call_self, &call);
    ck_assert_int_eq(call.depth, 2);
    ck_assert(call.inline_on_own_thread);
    stop_loops(&loop, 1);
}
END_TEST

static void note_thread(void *argument) { *(pthread_t *)argument = pthread_self(); }

START_TEST(a_loop_that_is_not_running_has_calls_run_by_the_caller)
{
    struct event_loop *loop = event_loop_create();
    ck_assert_ptr_nonnull(loop);
    pthread_t ran_on = 0;
    event_loop_call(loop, note_thread, &ran_on); /* not started */
    ck_assert(pthread_equal(ran_on, pthread_self()));
    ck_assert(event_loop_start_thread(loop, NULL, NULL));
    event_loop_call(loop, note_thread, &ran_on);
    ck_assert(!pthread_equal(ran_on, pthread_self()));
    event_loop_join_thread(loop);
    event_loop_call(loop, note_thread, &ran_on); /* stopped */
    ck_assert(pthread_equal(ran_on, pthread_self()));
    event_loop_destroy(loop);
}
END_TEST

/* ---- calls made while the loop stops ---- */

#define SHUTDOWN_CALLERS 6

struct shutdown_caller {
    struct event_loop *loop;
    atomic_bool *keep_calling;
    atomic_uint runs;  /* bumped by each call, wherever it ran */
    unsigned returned; /* calls that came back to this thread */
};

static void bump(void *argument)
{
    struct shutdown_caller *caller = argument;
    atomic_fetch_add(&caller->runs, 1);
}

static void *shutdown_caller_thread(void *argument)
{
    struct shutdown_caller *caller = argument;
    /* Goes on well past the stop: those calls run inline, none may hang or vanish. */
    while (atomic_load(caller->keep_calling) || caller->returned < 100) {
        event_loop_call(caller->loop, bump, caller);
        caller->returned++;
    }
    return NULL;
}

struct shutdown_race {
    struct event_loop *loop;
    struct shutdown_caller callers[SHUTDOWN_CALLERS];
    atomic_bool keep_calling;
};

static void *shutdown_scenario(void *argument)
{
    struct shutdown_race *race = argument;
    pthread_t threads[SHUTDOWN_CALLERS];
    atomic_store(&race->keep_calling, true);
    for (size_t i = 0; i < SHUTDOWN_CALLERS; i++) {
        race->callers[i].loop = race->loop;
        race->callers[i].keep_calling = &race->keep_calling;
        start_thread(&threads[i], shutdown_caller_thread, &race->callers[i]);
    }
    usleep(20 * 1000); /* the callers keep the loop's queue busy */
    event_loop_join_thread(race->loop);
    usleep(20 * 1000);
    atomic_store(&race->keep_calling, false);
    for (size_t i = 0; i < SHUTDOWN_CALLERS; i++)
        pthread_join(threads[i], NULL);
    return NULL;
}

START_TEST(calls_made_while_the_loop_stops_are_all_run_and_released)
{
    for (int round = 0; round < 20; round++) {
        struct shutdown_race *race = calloc(1, sizeof(*race));
        ck_assert_ptr_nonnull(race);
        race->loop = event_loop_create();
        ck_assert_ptr_nonnull(race->loop);
        ck_assert(event_loop_start_thread(race->loop, NULL, NULL));
        run_with_deadline(shutdown_scenario, race, "calls racing the loop's stop");
        for (size_t i = 0; i < SHUTDOWN_CALLERS; i++) {
            ck_assert_uint_ge(race->callers[i].returned, 100);
            ck_assert_uint_eq(atomic_load(&race->callers[i].runs), race->callers[i].returned);
        }
        event_loop_destroy(race->loop);
        free(race);
    }
}
END_TEST

static Suite *event_loop_call_suite(void)
{
    Suite *suite = suite_create("event_loop_call");
    TCase *calls = tcase_create("calls");
    tcase_set_timeout(calls, 120);
    tcase_add_test(calls, many_threads_call_into_several_loops_each_call_runs_once_on_its_loop);
    tcase_add_test(calls, loop_a_calling_b_while_b_calls_a_does_not_deadlock);
    tcase_add_test(calls, a_circle_of_three_loops_calling_round_does_not_deadlock);
    tcase_add_test(calls, a_call_to_the_callers_own_loop_runs_at_once);
    tcase_add_test(calls, a_loop_that_is_not_running_has_calls_run_by_the_caller);
    tcase_add_test(calls, calls_made_while_the_loop_stops_are_all_run_and_released);
    suite_add_tcase(suite, calls);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(event_loop_call_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
