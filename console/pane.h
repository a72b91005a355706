/* pane: the one interface of the dashboard's panes — each is placed on rows of the screen,
 * draws itself there and handles the keys it is given — and what a key asks of the others. */
#ifndef PANE_H
#define PANE_H

#include <stddef.h>
#include <stdint.h>

enum pane_request {
    PANE_IGNORED,      /* not this pane's key: the dashboard's own keys may take it */
    PANE_HANDLED,      /* done; the screen is drawn again */
    PANE_QUIT,
    PANE_REFRESH_NOW,  /* what is shown may have changed on the server */
    PANE_SHOW_DETAILS, /* the users pane's cursor is on a connection to show in full */
    PANE_ASK_CLOSE,    /* close connection id on server, once confirmed */
    PANE_CLOSE,        /* confirmed: close connection id on server */
    PANE_ASK_HISTORY,  /* one more page of the older connections of the user named text */
    PANE_FILTER,       /* the users filter now reads text */
};

struct pane_result {
    enum pane_request request;
    uint64_t id;
    size_t server; /* the fleet's server (its index) the request is for */
    const char *text;
};

struct pane_area {
    int top;
    int height;
    int width;
};

struct pane;

struct pane_ops {
    /* The pane's rows changed (start, terminal resize); may be NULL. */
    void (*placed)(struct pane *pane);
    void (*draw)(struct pane *pane);
    /* May be NULL: a pane that takes no keys. */
    struct pane_result (*handle_key)(struct pane *pane, int key);
};

/* Embedded first in every pane's own struct. */
struct pane {
    const struct pane_ops *ops;
    struct pane_area area;
};

void pane_place(struct pane *pane, struct pane_area area);
void pane_draw(struct pane *pane);
struct pane_result pane_handle_key(struct pane *pane, int key);

static inline struct pane_result pane_result(enum pane_request request)
{
    return (struct pane_result){ .request = request };
}

#endif
