/* connection_tree: an expanded user's connections in the list — titles, one line each by
 * connection_columns, the closing note — and a connection's details popup text. No terminal. */
#ifndef CONNECTION_TREE_H
#define CONNECTION_TREE_H

#include <stdbool.h>
#include <stddef.h>

#include "dashboard_model.h"
#include "screen_text.h"

/* One line of a connection's details: room for an escaped 255-byte name. */
#define DETAIL_LINE_SIZE 1100

/* Connections asked per expanded user: what fits a list of list_height lines, at least a few
 * (a user with 9,000 tunnels is never pulled whole). */
size_t connection_tree_rows_wanted(size_t list_height);

/* The tree ends in a note: still loading, no connections, or how many more were not fetched. */
bool connection_tree_needs_note(const struct dashboard_user *user);

/* Each line exactly style->width columns wide. In a fleet (model->server_count > 1) each row
 * begins with its server. */
void connection_tree_titles(const struct dashboard_model *model, const struct screen_style *style,
                            char *out, size_t size);
void connection_tree_line(const struct dashboard_model *model,
                          const struct dashboard_connection *connection, bool last,
                          const struct screen_style *style, char *out, size_t size);
void connection_tree_note(const struct dashboard_user *user, const struct screen_style *style,
                          char *out, size_t size);

/* A connection in full, one "name: value" line each; returns the count (at most max). server:
 * the one it runs on, named in a fleet (NULL: not named). */
size_t connection_details(const struct dashboard_user *user, const char *server,
                          const struct dashboard_connection *connection,
                          char lines[][DETAIL_LINE_SIZE], size_t max);

#endif
