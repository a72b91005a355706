/* bench_history: the history scenario — a connection history of N rows built through the
 * accounting store in a temp directory, then each kind of search timed: first and tenth page. */
#ifndef BENCH_HISTORY_H
#define BENCH_HISTORY_H

struct bench_context;

/* Builds the database (--history-rows rows, 50,000 per transaction), times every filter kind
 * 20 times (p50 and max, ms) and reports them with the build rate and the file's size; removes
 * the directory. Needs no proxy. Returns 0, or -1 if the store failed (in the report). */
int history_run(const struct bench_context *context);

#endif
