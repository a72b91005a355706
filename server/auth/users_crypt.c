/* users_crypt: crypt(3) for the users table — hashing a new password, checking one against a
 * hash — and hashing on a work pool, off the caller's loop (~70 ms of yescrypt each). */
#include "users_crypt.h"

#include "work_pool.h"

#include <crypt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

char *users_crypt_hash(const char *password)
{
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    /* NULL prefix = libcrypt's preferred method (yescrypt on Debian) at its default cost. */
    if (crypt_gensalt_rn(NULL, 0, NULL, 0, salt, sizeof(salt)) == NULL)
        return NULL;
    struct crypt_data *scratch = calloc(1, sizeof(*scratch));
    if (scratch == NULL)
        return NULL;
    char *hash = crypt_rn(password, salt, scratch, sizeof(*scratch));
    char *copy = hash != NULL && hash[0] != '*' ? strdup(hash) : NULL;
    explicit_bzero(scratch, sizeof(*scratch));
    free(scratch);
    return copy;
}

bool users_crypt_matches(const char *password, const char *hash)
{
    struct crypt_data *scratch = calloc(1, sizeof(*scratch));
    if (scratch == NULL)
        return false;
    const char *computed = crypt_rn(password, hash, scratch, sizeof(*scratch));
    bool matches = computed != NULL && computed[0] != '*' && strcmp(computed, hash) == 0;
    explicit_bzero(scratch, sizeof(*scratch));
    free(scratch);
    return matches;
}

char *users_crypt_decoy_hash(void)
{
    uint8_t random[16];
    char text[2 * sizeof(random) + 1];
    if (getrandom(random, sizeof(random), 0) != sizeof(random))
        return NULL;
    for (size_t i = 0; i < sizeof(random); i++) {
        text[2 * i] = "0123456789abcdef"[random[i] >> 4];
        text[2 * i + 1] = "0123456789abcdef"[random[i] & 15];
    }
    text[2 * sizeof(random)] = '\0';
    return users_crypt_hash(text);
}

struct users_hashing {
    struct work_item item; /* first: the work pool hands this pointer back */
    users_hash_callback callback;
    void *owner; /* NULL once cancelled */
    char *hash;
    char password[USERS_CRYPT_PASSWORD_MAX + 1];
};

static void hashing_run(struct work_item *item)
{
    struct users_hashing *hashing = (struct users_hashing *)item;
    hashing->hash = users_crypt_hash(hashing->password);
    explicit_bzero(hashing->password, sizeof(hashing->password));
}

static void hashing_done(struct work_item *item)
{
    struct users_hashing *hashing = (struct users_hashing *)item;
    explicit_bzero(hashing->password, sizeof(hashing->password));
    if (hashing->owner != NULL)
        hashing->callback(hashing->owner, hashing->hash);
    else
        free(hashing->hash);
    free(hashing);
}

struct users_hashing *users_hash_password(struct work_pool *crypt_pool, const char *password,
                                          users_hash_callback callback, void *owner)
{
    if (strlen(password) > USERS_CRYPT_PASSWORD_MAX)
        return NULL;
    struct users_hashing *hashing = calloc(1, sizeof(*hashing));
    if (hashing == NULL)
        return NULL;
    hashing->callback = callback;
    hashing->owner = owner;
    strcpy(hashing->password, password);
    if (!work_pool_submit(crypt_pool, &hashing->item, hashing_run, hashing_done)) {
        explicit_bzero(hashing->password, sizeof(hashing->password));
        free(hashing);
        return NULL;
    }
    return hashing;
}

void users_hashing_cancel(struct users_hashing *hashing) { hashing->owner = NULL; }
