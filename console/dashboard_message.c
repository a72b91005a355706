/* dashboard_message: the one line under the list saying what the last key or server call had
 * to say — an answer, or an error shown as one. */
#include "dashboard_message.h"

#include <stdarg.h>
#include <stdio.h>

void message_set(struct dashboard_message *message, bool error, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    vsnprintf(message->text, sizeof(message->text), format, args);
    va_end(args);
    message->error = error;
}

void message_clear(struct dashboard_message *message)
{
    message->text[0] = '\0';
    message->error = false;
}
