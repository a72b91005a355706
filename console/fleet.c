/* fleet: the servers socks5ctl manages — one admin session each, all as the same user — and
 * requests sent to all of them at once, each on its own thread, so no server waits for another. */
#include "fleet.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fleet_member {
    struct admin_client *client;
    pthread_mutex_t lock;
};

struct fleet {
    struct fleet_member *members;
    size_t count;
};

/* One server's part of a call-all: what to do and where its outcome goes. */
struct fleet_job {
    struct fleet *fleet;
    size_t index;
    const struct admin_request *request; /* NULL: log in */
    struct fleet_outcome *outcome;
};

struct fleet *fleet_create(const struct admin_client_options *options,
                           const struct server_address *addresses, size_t count)
{
    struct fleet *fleet = calloc(1, sizeof(*fleet));
    if (fleet == NULL)
        return NULL;
    fleet->members = calloc(count > 0 ? count : 1, sizeof(*fleet->members));
    if (fleet->members == NULL) {
        free(fleet);
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        struct admin_client_options one = *options;
        one.host = addresses[i].host;
        one.port = addresses[i].port[0] != '\0' ? addresses[i].port : options->port;
        fleet->members[i].client = admin_client_create(&one);
        if (fleet->members[i].client == NULL) {
            fleet_destroy(fleet);
            return NULL;
        }
        pthread_mutex_init(&fleet->members[i].lock, NULL);
        fleet->count++;
    }
    return fleet;
}

void fleet_destroy(struct fleet *fleet)
{
    if (fleet == NULL)
        return;
    for (size_t i = 0; i < fleet->count; i++) {
        admin_client_destroy(fleet->members[i].client);
        pthread_mutex_destroy(&fleet->members[i].lock);
    }
    free(fleet->members);
    free(fleet);
}

size_t fleet_count(const struct fleet *fleet)
{
    return fleet->count;
}

struct admin_client *fleet_client(const struct fleet *fleet, size_t index)
{
    return fleet->members[index].client;
}

const char *fleet_name(const struct fleet *fleet, size_t index)
{
    return admin_client_address(fleet->members[index].client);
}

void fleet_lock(struct fleet *fleet, size_t index)
{
    pthread_mutex_lock(&fleet->members[index].lock);
}

void fleet_unlock(struct fleet *fleet, size_t index)
{
    pthread_mutex_unlock(&fleet->members[index].lock);
}

static void *fleet_job_run(void *argument)
{
    struct fleet_job *job = argument;
    struct fleet_outcome *outcome = job->outcome;
    struct admin_client *client = job->fleet->members[job->index].client;
    *outcome = (struct fleet_outcome){.login_status = 0};
    fleet_lock(job->fleet, job->index);
    if (job->request == NULL)
        outcome->result = admin_client_connect(client, &outcome->login_status, outcome->error,
                                               sizeof(outcome->error));
    else
        outcome->result = admin_client_call(client, job->request, &outcome->reply,
                                            outcome->error, sizeof(outcome->error));
    if (job->request != NULL)
        outcome->login_status = admin_client_login_status(client);
    fleet_unlock(job->fleet, job->index);
    return NULL;
}

/* Runs one job per server: on threads when there are several (a job whose thread cannot
 * start, or every job when memory is short, runs on this thread after the others started). */
static void fleet_run_all(struct fleet *fleet, const struct admin_request *request,
                          struct fleet_outcome *outcomes)
{
    size_t count = fleet->count;
    struct fleet_job one;
    struct fleet_job *jobs = count > 1 ? calloc(count, sizeof(*jobs)) : &one;
    pthread_t *threads = count > 1 ? calloc(count, sizeof(*threads)) : NULL;
    bool *started = count > 1 ? calloc(count, sizeof(*started)) : NULL;
    bool threaded = jobs != NULL && threads != NULL && started != NULL;
    for (size_t i = 0; i < count; i++) {
        struct fleet_job job = {fleet, i, request, &outcomes[i]};
        if (!threaded) {
            fleet_job_run(&job);
            continue;
        }
        jobs[i] = job;
        started[i] = pthread_create(&threads[i], NULL, fleet_job_run, &jobs[i]) == 0;
    }
    for (size_t i = 0; threaded && i < count; i++)
        if (!started[i])
            fleet_job_run(&jobs[i]);
    for (size_t i = 0; threaded && i < count; i++)
        if (started[i])
            pthread_join(threads[i], NULL);
    if (jobs != &one)
        free(jobs);
    free(threads);
    free(started);
}

void fleet_connect_all(struct fleet *fleet, struct fleet_outcome *outcomes)
{
    fleet_run_all(fleet, NULL, outcomes);
}

void fleet_call_all(struct fleet *fleet, const struct admin_request *request,
                    struct fleet_outcome *outcomes)
{
    fleet_run_all(fleet, request, outcomes);
}

void fleet_outcomes_free(struct fleet_outcome *outcomes, size_t count)
{
    for (size_t i = 0; i < count; i++)
        admin_reply_free(&outcomes[i].reply);
}

bool fleet_set_password(struct fleet *fleet, const char *password)
{
    bool all = true;
    for (size_t i = 0; i < fleet->count; i++) {
        fleet_lock(fleet, i);
        all &= admin_client_set_password(fleet->members[i].client, password);
        fleet_unlock(fleet, i);
    }
    return all;
}

void fleet_set_interrupt(struct fleet *fleet, const volatile sig_atomic_t *flag)
{
    for (size_t i = 0; i < fleet->count; i++)
        admin_client_set_interrupt(fleet->members[i].client, flag);
}
