/* prompt: socks5ctl's interactive face — readline with persistent history, completion of
 * command and user names, and word of a server that went away while the prompt waited. */
#ifndef PROMPT_H
#define PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#include "console.h"

/* Reads and runs commands until quit, exit or Ctrl-D. Returns CONSOLE_EXIT_OK. */
int prompt_run(struct console_context *context);

/* $XDG_STATE_HOME/socks5ctl/history, or $HOME/.local/state/socks5ctl/history (a relative
 * XDG_STATE_HOME is ignored, as the XDG spec says). False when neither is usable. */
bool prompt_history_path(const char *xdg_state_home, const char *home, char *out, size_t size);

/* Whether a line carries a password — a word standing for a protocol field that holds one
 * (add-user NAME PASSWORD, set-password NAME PASSWORD) — so it must stay out of the history. */
bool prompt_line_has_secret(const char *line);

#endif
