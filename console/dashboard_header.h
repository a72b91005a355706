/* dashboard_header: the meters at the top of the dashboard — server or fleet, traffic, users,
 * errors (an admin's), the user's own traffic otherwise — as labelled fields, and their pane. */
#ifndef DASHBOARD_HEADER_H
#define DASHBOARD_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "dashboard_fetch.h"
#include "dashboard_model.h"
#include "dashboard_poller.h"
#include "pane.h"
#include "screen.h"
#include "screen_text.h"

#define HEADER_LINES 4
#define HEADER_FIELDS 6

/* A label (shown highlighted) and its value. */
struct header_field {
    char label[16];
    char value[96];
};

struct header_line {
    struct header_field fields[HEADER_FIELDS];
    size_t count;
};

/* Who is looking. */
struct header_viewer {
    const char *user;     /* the logged-in user */
    bool admin;           /* the server answers metrics: global header and all users */
    const char *endpoint; /* the admin endpoint, host:port; NULL when unknown */
};

void header_fields(const struct dashboard_model *model, const struct header_viewer *viewer,
                   struct header_line lines[HEADER_LINES]);

#define HEADER_DOWN_LINES_MAX 4 /* lines naming down servers; the last says how many more */

/* The fleet (more than one server) as the header shows it. */
struct header_fleet {
    size_t count;
    const char *const *names;
    const struct poller_status *statuses; /* count of them, as last published */
    double now;           /* monotonic seconds: what the time to a retry is counted from */
    double fetch_seconds; /* the slowest answered server's last fetch */
    double frame_seconds; /* from the start of the newest fetch to its merged frame */
};

/* The fleet's header: the HEADER_LINES of sums (the servers up out of all on the first), then
 * a line for each down server with why and when it is tried again (at most
 * HEADER_DOWN_LINES_MAX). lines holds HEADER_LINES + HEADER_DOWN_LINES_MAX; returns the count. */
size_t header_fleet_fields(const struct dashboard_model *model, const struct header_viewer *viewer,
                           const struct header_fleet *fleet, struct header_line *lines);
/* How many down servers the fleet's header names a line each for. */
size_t header_fleet_down_lines(const struct header_fleet *fleet);
/* A header line as plain text: "label value  label value", cut to the width. */
void header_line_text(const struct header_line *line, const struct screen_style *style,
                      char *out, size_t size);

struct header_pane {
    struct pane pane;
    const struct screen *screen;
    const struct dashboard_model *model;
    const struct dashboard_session *session;
    const struct header_fleet *fleet; /* NULL: one server */
};

void header_pane_init(struct header_pane *header, const struct screen *screen,
                      const struct dashboard_model *model,
                      const struct dashboard_session *session, const struct header_fleet *fleet);
/* The lines the header takes: HEADER_LINES, and in a fleet one per down server it names. */
int header_pane_lines(const struct header_pane *header);

#endif
