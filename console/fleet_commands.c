/* fleet_commands: a console command run on every server of the fleet at once — the calls, the
 * merged result in the chosen format, each server's failure, and the worst exit code. */
#include "fleet_commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin_protocol.h"
#include "admin_text.h"
#include "fleet.h"
#include "fleet_merge.h"
#include "output.h"

#define REASON_SIZE 640
#define SERVER_TEXT_SIZE 1100 /* a host:port escaped */

/* One call to every server: the outcomes and what each means for the console. */
struct fleet_round {
    size_t count;
    struct fleet_outcome *outcomes;
    struct fleet_answer *answers;
    char (*reasons)[REASON_SIZE];
    int worst; /* the highest exit code of the servers */
};

bool fleet_commands_active(const struct console_context *context)
{
    return context->fleet != NULL && fleet_count(context->fleet) > 1;
}

static void raise_failure(int *worst, int code)
{
    if (code > *worst)
        *worst = code;
}

/* Why a server refused, as the one-server console words it: its message, without the command
 * name socks5d puts first, and the status's name. */
static void refusal_reason(const char *name, const struct admin_reply *reply, char *out,
                           size_t size)
{
    const char *message = reply->body != NULL ? reply->body : "";
    size_t length = reply->body != NULL ? reply->body_length : 0;
    size_t name_length = strlen(name);
    if (length > name_length + 2 && strncmp(message, name, name_length) == 0 &&
        message[name_length] == ':' && message[name_length + 1] == ' ') {
        message += name_length + 2;
        length -= name_length + 2;
    }
    while (length > 0 && (message[length - 1] == '\n' || message[length - 1] == '\r'))
        length--;
    snprintf(out, size, "%.*s (%s)", (int)length, message, admin_status_name(reply->status));
}

static void round_free(struct fleet_round *round)
{
    if (round->outcomes != NULL)
        fleet_outcomes_free(round->outcomes, round->count);
    free(round->outcomes);
    free(round->answers);
    free(round->reasons);
    *round = (struct fleet_round){0};
}

/* Calls every server; false (reported) when memory is short. */
static bool round_run(struct console_context *context, const char *name,
                      const struct admin_request *request, struct fleet_round *round)
{
    *round = (struct fleet_round){.count = fleet_count(context->fleet)};
    round->outcomes = calloc(round->count, sizeof(*round->outcomes));
    round->answers = calloc(round->count, sizeof(*round->answers));
    round->reasons = calloc(round->count, sizeof(*round->reasons));
    if (round->outcomes == NULL || round->answers == NULL || round->reasons == NULL) {
        fprintf(context->err, "%s: out of memory\n", name);
        round_free(round);
        return false;
    }
    fleet_call_all(context->fleet, request, round->outcomes);
    for (size_t i = 0; i < round->count; i++) {
        const struct fleet_outcome *outcome = &round->outcomes[i];
        struct fleet_answer *answer = &round->answers[i];
        *answer = (struct fleet_answer){.server = fleet_name(context->fleet, i),
                                        .error = round->reasons[i]};
        if (outcome->result != ADMIN_CLIENT_OK) {
            snprintf(round->reasons[i], REASON_SIZE, "%s", outcome->error);
            raise_failure(&round->worst,
                          console_exit_for_client(outcome->result, outcome->login_status));
        } else if (outcome->reply.status != ADMIN_STATUS_OK) {
            refusal_reason(name, &outcome->reply, round->reasons[i], REASON_SIZE);
            raise_failure(&round->worst, console_exit_for_status(outcome->reply.status));
        } else {
            answer->ok = true;
            answer->body = outcome->reply.body != NULL ? outcome->reply.body : "";
            answer->length = outcome->reply.body_length;
        }
    }
    return true;
}

static void report_failures(struct console_context *context, const char *name,
                            const struct fleet_round *round)
{
    for (size_t i = 0; i < round->count; i++)
        if (!round->answers[i].ok)
            fprintf(context->err, "%s: %s: %s\n", name, round->answers[i].server,
                    round->answers[i].error);
}

static enum admin_body_kind result_kind(const struct admin_request *request)
{
    const struct admin_command_info *info = admin_command_info(request->command);
    return info != NULL ? info->result : ADMIN_BODY_RECORD;
}

/* The merged body into reply; false (reported) when it could not be built. */
static bool merge_into(struct console_context *context, const char *name,
                       const struct fleet_round *round, enum admin_body_kind kind,
                       struct admin_reply *reply)
{
    struct admin_text text;
    admin_text_init(&text, 0, SIZE_MAX / 2);
    bool merged = fleet_merge(kind, round->answers, round->count, &text);
    if (merged) {
        size_t length = admin_text_body_length(&text);
        reply->body = malloc(length + 1);
        merged = reply->body != NULL;
        if (merged) {
            memcpy(reply->body, admin_text_body(&text), length);
            reply->body[length] = '\0';
            reply->body_length = length;
            reply->status = ADMIN_STATUS_OK;
        }
    }
    admin_text_free(&text);
    if (!merged)
        fprintf(context->err, "%s: out of memory\n", name);
    return merged;
}

int fleet_commands_call(struct console_context *context, const char *name,
                        const struct admin_request *request, struct admin_reply *reply)
{
    *reply = (struct admin_reply){0};
    struct fleet_round round;
    if (!round_run(context, name, request, &round))
        return CONSOLE_EXIT_SERVER_ERROR;
    report_failures(context, name, &round);
    int worst = round.worst;
    raise_failure(&context->fleet_failure, worst);
    bool any_ok = false;
    for (size_t i = 0; i < round.count; i++)
        any_ok |= round.answers[i].ok;
    int code = CONSOLE_EXIT_OK;
    if (!any_ok)
        code = worst;
    else if (!merge_into(context, name, &round, result_kind(request), reply))
        code = CONSOLE_EXIT_SERVER_ERROR;
    round_free(&round);
    return code;
}

/* After set-password on the session's own user, the sessions of the servers that took it log
 * in with the new password from then on. */
static void keep_own_password(struct console_context *context, const struct admin_request *request,
                              const struct fleet_round *round)
{
    const struct admin_args_set_password *args = &request->args.set_password;
    if (request->command != ADMIN_CMD_SET_PASSWORD)
        return;
    for (size_t i = 0; i < round->count; i++) {
        if (!round->answers[i].ok)
            continue;
        struct admin_client *client = fleet_client(context->fleet, i);
        fleet_lock(context->fleet, i);
        if (args->user.length == 0 || strcmp(args->user.text, admin_client_user(client)) == 0)
            admin_client_set_password(client, args->password.text);
        fleet_unlock(context->fleet, i);
    }
}

static void print_changes(struct console_context *context, const struct fleet_round *round)
{
    for (size_t i = 0; i < round->count; i++) {
        char server[SERVER_TEXT_SIZE];
        const struct fleet_answer *answer = &round->answers[i];
        admin_text_escape(answer->server, strlen(answer->server), server, sizeof(server));
        if (answer->ok)
            fprintf(context->out, "%s: ok\n", server);
        else
            fprintf(context->out, "%s: error: %s\n", server, answer->error);
    }
}

int fleet_commands_call_and_print(struct console_context *context, const char *name,
                                  const struct admin_request *request)
{
    struct fleet_round round;
    if (!round_run(context, name, request, &round))
        return CONSOLE_EXIT_SERVER_ERROR;
    keep_own_password(context, request, &round);
    enum admin_body_kind kind = result_kind(request);
    int code = round.worst;
    struct admin_reply merged = {0};
    if (kind == ADMIN_BODY_EMPTY && context->format == CONSOLE_FORMAT_TABLE) {
        print_changes(context, &round);
    } else {
        if (kind != ADMIN_BODY_EMPTY)
            report_failures(context, name, &round);
        bool any_ok = kind == ADMIN_BODY_EMPTY;
        for (size_t i = 0; i < round.count; i++)
            any_ok |= round.answers[i].ok;
        if (any_ok && merge_into(context, name, &round, kind, &merged))
            output_result(context->out, context->format, name, merged.body, merged.body_length);
        else if (any_ok)
            raise_failure(&code, CONSOLE_EXIT_SERVER_ERROR);
    }
    fflush(context->out);
    admin_reply_free(&merged);
    round_free(&round);
    return code;
}
