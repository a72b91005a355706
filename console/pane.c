/* pane: the one interface of the dashboard's panes — each is placed on rows of the screen,
 * draws itself there and handles the keys it is given — and what a key asks of the others. */
#include "pane.h"

#include <stddef.h>

void pane_place(struct pane *pane, struct pane_area area)
{
    pane->area = area;
    if (pane->ops->placed != NULL)
        pane->ops->placed(pane);
}

void pane_draw(struct pane *pane)
{
    pane->ops->draw(pane);
}

struct pane_result pane_handle_key(struct pane *pane, int key)
{
    if (pane->ops->handle_key == NULL)
        return pane_result(PANE_IGNORED);
    return pane->ops->handle_key(pane, key);
}
