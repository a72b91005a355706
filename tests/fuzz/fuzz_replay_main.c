/* fuzz_replay_main: runs every file of the given corpus directories (or single files) through
 * a harness's LLVMFuzzerTestOneInput, so a checked-in corpus is a regression test in any build. */
#include "fuzz_feed.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

/* Each input gets a buffer of exactly its size, so ASan sees any read past its end. */
static int replay_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL) {
        perror(path);
        return -1;
    }
    struct stat info;
    if (fstat(fileno(file), &info) != 0 || info.st_size < 0) {
        perror(path);
        fclose(file);
        return -1;
    }
    size_t size = (size_t)info.st_size;
    uint8_t *data = malloc(size ? size : 1);
    if (data == NULL || fread(data, 1, size, file) != size) {
        fprintf(stderr, "%s: cannot read\n", path);
        free(data);
        fclose(file);
        return -1;
    }
    fclose(file);
    fprintf(stderr, "replaying %s (%zu bytes)\n", path, size);
    LLVMFuzzerTestOneInput(data, size);
    free(data);
    return 0;
}

static int skip_hidden(const struct dirent *entry)
{
    return entry->d_name[0] != '.';
}

/* Returns how many inputs ran, or -1. Sorted, so a failure always shows up in the same place. */
static long replay_directory(const char *directory)
{
    struct dirent **entries;
    int count = scandir(directory, &entries, skip_hidden, alphasort);
    if (count < 0) {
        perror(directory);
        return -1;
    }
    long replayed = 0;
    for (int i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", directory, entries[i]->d_name);
        struct stat info;
        if (replayed >= 0 && stat(path, &info) == 0 && S_ISREG(info.st_mode))
            replayed = replay_file(path) == 0 ? replayed + 1 : -1;
        free(entries[i]);
    }
    free(entries);
    return replayed;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
        return 64;
    }
    long total = 0;
    for (int i = 1; i < argc; i++) {
        struct stat info;
        if (stat(argv[i], &info) != 0) {
            perror(argv[i]);
            return 1;
        }
        long replayed = S_ISDIR(info.st_mode) ? replay_directory(argv[i])
                                               : (replay_file(argv[i]) == 0 ? 1 : -1);
        if (replayed < 0)
            return 1;
        total += replayed;
    }
    /* An empty corpus is a misconfiguration, not a pass. */
    if (total == 0) {
        fprintf(stderr, "no inputs found\n");
        return 1;
    }
    fprintf(stderr, "replayed %ld inputs without a broken invariant\n", total);
    return 0;
}
