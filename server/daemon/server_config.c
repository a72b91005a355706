/* server_config: everything socks5d loads, whole — defaults, then the config file (-C), then
 * the command line — for a start, a reload or --check-config, and what a reload cannot apply. */
#include "server_config.h"

#include "admin_tls.h"
#include "config_file.h"
#include "log.h"
#include "pam_auth.h"
#include "policy.h"
#include "user_store.h"
#include "users_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static enum server_config_status fail(struct server_config *config,
                                      enum server_config_status status)
{
    server_config_free(config);
    return status;
}

enum server_config_status server_config_load(int argc, char **argv, bool with_credentials,
                                             struct server_config *config, char *problems,
                                             size_t problems_size)
{
    memset(config, 0, sizeof(*config));
    options_init(&config->options);
    const char *path;
    bool check;
    if (!options_find_config(argc, argv, &path, &check, problems, problems_size))
        return fail(config, SERVER_CONFIG_USAGE_ERROR);
    config->policy = policy_create();
    config->strings = config_strings_create();
    if (config->policy == NULL || config->strings == NULL) {
        snprintf(problems, problems_size, "out of memory");
        return fail(config, SERVER_CONFIG_FILE_ERROR);
    }
    if (path != NULL) {
        char *text;
        size_t length;
        if (!config_file_read(path, &text, &length, problems, problems_size))
            return fail(config, SERVER_CONFIG_FILE_ERROR);
        size_t count = config_file_apply(path, text, length, &config->options, config->policy,
                                         config->strings, problems, problems_size);
        free(text);
        if (count > 0)
            return fail(config, SERVER_CONFIG_FILE_ERROR);
    }
    if (!options_apply_argv(argc, argv, with_credentials, &config->options, problems,
                            problems_size))
        return fail(config, SERVER_CONFIG_USAGE_ERROR);
    options_finish(&config->options);
    const char *problem = admin_tls_options_problem(&config->options);
    if (problem != NULL) {
        snprintf(problems, problems_size, "%s", problem);
        return fail(config, SERVER_CONFIG_USAGE_ERROR);
    }
    char service[PAM_AUTH_SERVICE_MAX + 1], why[160];
    if (!pam_auth_parse_method(config->options.auth, service, why, sizeof(why))) {
        snprintf(problems, problems_size, "--auth: %s", why);
        return fail(config, SERVER_CONFIG_USAGE_ERROR);
    }
    if (service[0] == '\0' &&
        (config->options.pam_config_dir != NULL || config->options.admin_group != NULL)) {
        snprintf(problems, problems_size, "--%s needs --auth pam",
                 config->options.admin_group != NULL ? "admin-group" : "pam-config-dir");
        return fail(config, SERVER_CONFIG_USAGE_ERROR);
    }
    return SERVER_CONFIG_LOADED;
}

void server_config_free(struct server_config *config)
{
    options_free(&config->options);
    policy_destroy(config->policy);
    config_strings_destroy(config->strings);
    config->policy = NULL;
    config->strings = NULL;
}

/* ---- what a reload leaves for a restart ---- */

static bool same_text(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static bool same_value(const struct option_spec *spec, const struct server_options *a,
                       const struct server_options *b)
{
    if (strcmp(spec->name, "listen") == 0) {
        if (a->socks_address_count != b->socks_address_count)
            return false;
        for (size_t i = 0; i < a->socks_address_count; i++)
            if (!same_text(a->socks_addresses[i], b->socks_addresses[i]))
                return false;
        return true;
    }
    const char *field_a = (const char *)a + spec->offset;
    const char *field_b = (const char *)b + spec->offset;
    if (spec->kind == OPTION_ADDRESS || spec->kind == OPTION_ENDPOINT || spec->kind == OPTION_TEXT ||
        spec->kind == OPTION_CONGESTION) {
        const char *text_a, *text_b;
        memcpy(&text_a, field_a, sizeof(text_a));
        memcpy(&text_b, field_b, sizeof(text_b));
        return same_text(text_a, text_b);
    }
    return memcmp(field_a, field_b, spec->size) == 0;
}

void server_config_restart_keys(const struct server_options *running,
                                const struct server_options *loaded, char *keys,
                                size_t keys_size)
{
    size_t length = 0;
    if (keys_size > 0)
        keys[0] = '\0';
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++) {
        /* Credentials are a start's first users, and config names the file itself. */
        if (spec->reloadable || spec->kind == OPTION_CREDENTIALS ||
            strcmp(spec->name, "config") == 0 || same_value(spec, running, loaded))
            continue;
        int written = snprintf(keys + length, keys_size - length, "%s%s",
                               length > 0 ? ", " : "", spec->name);
        if (written < 0 || (size_t)written >= keys_size - length)
            return;
        length += (size_t)written;
    }
}

/* ---- --check-config ---- */

static bool check_users_file(const struct server_options *options, FILE *out)
{
    struct user_store *store = user_store_create(options->users_file, NULL);
    if (store == NULL) {
        fprintf(out, "socks5d: out of memory\n");
        return false;
    }
    const char *path = user_store_path(store);
    bool good = true;
    if (path == NULL) {
        fprintf(out, "socks5d: users in memory only (users-file off)\n");
    } else {
        struct users_file_contents contents;
        bool missing;
        char error[512];
        good = users_file_read(path, &contents, &missing, error, sizeof(error));
        if (!good)
            fprintf(out, "%s: %s\n", path, error);
        else if (missing)
            fprintf(out, "socks5d: users file %s: none yet (made at start)\n", path);
        else
            fprintf(out, "socks5d: users file %s: %zu users\n", path, contents.count);
        users_file_contents_free(&contents);
    }
    user_store_destroy(store);
    return good;
}

int server_config_check(int argc, char **argv, FILE *out)
{
    struct server_config config;
    char problems[4096];
    enum server_config_status status =
        server_config_load(argc, argv, true, &config, problems, sizeof(problems));
    if (status != SERVER_CONFIG_LOADED) {
        fprintf(out, "%s%s\n", status == SERVER_CONFIG_USAGE_ERROR ? "socks5d: " : "",
                problems);
        fprintf(out, "socks5d: configuration has problems\n");
        return 1;
    }
    bool good = check_users_file(&config.options, out);
    char tls_error[512];
    if (!admin_tls_check(&config.options, tls_error, sizeof(tls_error))) {
        fprintf(out, "%s\n", tls_error);
        good = false;
    }
    if (good)
        fprintf(out, "socks5d: configuration %s is good\n",
                config.options.config_path != NULL ? config.options.config_path
                                                   : "(command line only)");
    else
        fprintf(out, "socks5d: configuration has problems\n");
    server_config_free(&config);
    return good ? 0 : 1;
}

/* ---- a refused reload's words ---- */

void server_config_log_refusal(const char *trigger, const char *problems, size_t users)
{
    for (const char *line = problems; *line != '\0';) {
        size_t length = strcspn(line, "\n");
        log_message(LOG_ERROR, "%s: %.*s", trigger, (int)length, line);
        line += length + (line[length] == '\n');
    }
    log_message(LOG_ERROR, "%s: refused; keeping the running configuration and the %zu users "
                           "in memory", trigger, users);
}

void server_config_first_problem(const char *problems, char *message, size_t message_size)
{
    size_t length = strcspn(problems, "\n");
    size_t more = 0;
    for (const char *c = problems + length; *c != '\0'; c++)
        more += *c == '\n';
    if (more > 0)
        snprintf(message, message_size, "%.*s (and %zu more, see the log)", (int)length,
                 problems, more);
    else
        snprintf(message, message_size, "%.*s", (int)length, problems);
}
