/* dashboard_message: the one line under the list saying what the last key or server call had
 * to say — an answer, or an error shown as one. */
#ifndef DASHBOARD_MESSAGE_H
#define DASHBOARD_MESSAGE_H

#include <stdbool.h>

struct dashboard_message {
    char text[512];
    bool error;
};

void message_set(struct dashboard_message *message, bool error, const char *format, ...)
    __attribute__((format(printf, 3, 4)));
void message_clear(struct dashboard_message *message);

#endif
