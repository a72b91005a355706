/* dashboard_header: the meters at the top of the dashboard — server, traffic, users and errors
 * for an admin, the user's own traffic otherwise — as labelled fields, and the pane drawing them. */
#ifndef DASHBOARD_HEADER_H
#define DASHBOARD_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "dashboard_fetch.h"
#include "dashboard_model.h"
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
/* A header line as plain text: "label value  label value", cut to the width. */
void header_line_text(const struct header_line *line, const struct screen_style *style,
                      char *out, size_t size);

struct header_pane {
    struct pane pane;
    const struct screen *screen;
    const struct dashboard_model *model;
    const struct dashboard_session *session;
};

void header_pane_init(struct header_pane *header, const struct screen *screen,
                      const struct dashboard_model *model,
                      const struct dashboard_session *session);

#endif
