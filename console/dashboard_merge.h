/* dashboard_merge: the fleet's view made of every server's model — records and rates summed, users
 * merged by name with each server's share, trees joined with each row's server. No I/O. */
#ifndef DASHBOARD_MERGE_H
#define DASHBOARD_MERGE_H

#include <stdbool.h>
#include <stddef.h>

#include "dashboard_model.h"

/* One server's latest model; counted: it is up, so its figures are part of the sums. */
struct merge_source {
    const struct dashboard_model *model;
    bool counted;
};

/* Rebuilds merged from count sources (names: each server's, borrowed for as long as merged
 * lives). The figures of servers not counted are left out, unless none is counted (then every
 * server's last figures stay). Users keep their expansion across merges by name; a user new to
 * merged comes expanded when a server expanded it by itself. The tree of an expanded user is
 * every server's: live rows, then recent ones, then the history's. False when out of memory. */
bool dashboard_merge(struct dashboard_model *merged, const struct merge_source *sources,
                     size_t count, const char *const *names, double now);

#endif
