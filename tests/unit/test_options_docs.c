/* test_options_docs: the man page and README.md document exactly the options socks5d's table
 * has — the man page one heading per option with its default, README the --help output. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"

#ifndef SOURCE_DIR
#error "SOURCE_DIR must name the source tree"
#endif

static char *read_file(const char *relative_path)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", SOURCE_DIR, relative_path);
    FILE *file = fopen(path, "r");
    ck_assert_msg(file != NULL, "cannot open %s", path);
    char *text = NULL;
    size_t size = 0;
    FILE *copy = open_memstream(&text, &size);
    int c;
    while ((c = fgetc(file)) != EOF)
        fputc(c, copy);
    fclose(copy);
    fclose(file);
    return text;
}

/* The text between start (excluded) and the next end, as a new string; NULL without start. */
static char *between(const char *text, const char *start, const char *end)
{
    const char *from = strstr(text, start);
    if (from == NULL)
        return NULL;
    from += strlen(start);
    const char *to = strstr(from, end);
    size_t length = to != NULL ? (size_t)(to - from) : strlen(from);
    return strndup(from, length);
}

/* roff writes a literal '-' as "\-". */
static void append_roff(FILE *out, const char *text)
{
    for (; *text != '\0'; text++) {
        if (*text == '-')
            fputc('\\', out);
        fputc(*text, out);
    }
}

/* The heading the man page gives the option: .BR \-p ", " \-\-port " \fIPORT\fR" */
static char *man_heading(const struct option_spec *spec)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    fputs(".BR ", out);
    if (spec->short_name != 0)
        fprintf(out, "\\-%c \", \" ", spec->short_name);
    append_roff(out, "--");
    append_roff(out, spec->name);
    if (spec->argument != NULL) {
        fputs(" \" \\fI", out);
        append_roff(out, spec->argument);
        fputs("\\fR\"", out);
    }
    fclose(out);
    return text;
}

/* The man page's OPTIONS section, cut into entries: each .TP's heading line and its text. */
struct man_entry {
    char *heading;
    char *text;
};

static size_t man_entries(struct man_entry *entries, size_t capacity)
{
    char *page = read_file("assets/socks5d.8");
    char *section = between(page, "\n.SH OPTIONS\n", "\n.SH ");
    ck_assert_msg(section != NULL, "assets/socks5d.8 has no OPTIONS section");
    size_t count = 0;
    for (char *entry = strstr(section, ".TP\n"); entry != NULL; ) {
        entry += strlen(".TP\n");
        char *next = strstr(entry, "\n.TP\n");
        char *line_end = strchr(entry, '\n');
        ck_assert_uint_lt(count, capacity);
        size_t heading_length = line_end ? (size_t)(line_end - entry) : strlen(entry);
        entries[count].heading = strndup(entry, heading_length);
        entries[count].text = next != NULL ? strndup(entry, (size_t)(next - entry)) : strdup(entry);
        count++;
        entry = next != NULL ? next + 1 : NULL;
    }
    free(section);
    free(page);
    return count;
}

static void free_man_entries(struct man_entry *entries, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(entries[i].heading);
        free(entries[i].text);
    }
}

/* The man page's text with roff's "\-" read as '-'. */
static char *unescaped(const char *roff)
{
    char *text = strdup(roff);
    char *out = text;
    for (const char *in = roff; *in != '\0'; in++) {
        if (in[0] == '\\' && in[1] == '-')
            in++;
        *out++ = *in;
    }
    *out = '\0';
    return text;
}

#define MAX_MAN_ENTRIES 256

/* Problems are gathered and reported together after everything is freed, so one run names
 * every gap and a failure leaves no leak report behind it. */
struct problems {
    char *text;
    size_t size;
    FILE *out;
};

static void problems_open(struct problems *problems)
{
    problems->text = NULL;
    problems->size = 0;
    problems->out = open_memstream(&problems->text, &problems->size);
}

static void problems_check(struct problems *problems)
{
    fclose(problems->out);
    char message[4096];
    snprintf(message, sizeof(message), "%s", problems->text);
    bool none = problems->size == 0;
    free(problems->text);
    ck_assert_msg(none, "%s", message);
}

START_TEST(man_page_documents_every_option_with_its_default)
{
    struct man_entry entries[MAX_MAN_ENTRIES];
    size_t count = man_entries(entries, MAX_MAN_ENTRIES);
    struct problems problems;
    problems_open(&problems);
    for (const struct option_spec *spec = option_specs; spec->name != NULL; spec++) {
        char *heading = man_heading(spec);
        size_t found = 0;
        for (size_t i = 0; i < count; i++) {
            if (strcmp(entries[i].heading, heading) != 0)
                continue;
            found++;
            char *text = unescaped(entries[i].text);
            if (spec->default_value != NULL && strstr(text, spec->default_value) == NULL)
                fprintf(problems.out, "\nassets/socks5d.8: --%s does not give its default '%s'",
                        spec->name, spec->default_value);
            free(text);
        }
        if (found == 0)
            fprintf(problems.out, "\nassets/socks5d.8 lacks --%s (no heading '%s')", spec->name,
                    heading);
        else if (found > 1)
            fprintf(problems.out, "\nassets/socks5d.8 documents --%s %zu times", spec->name,
                    found);
        free(heading);
    }
    free_man_entries(entries, count);
    problems_check(&problems);
}
END_TEST

START_TEST(man_page_documents_no_other_option)
{
    struct man_entry entries[MAX_MAN_ENTRIES];
    size_t count = man_entries(entries, MAX_MAN_ENTRIES);
    struct problems problems;
    problems_open(&problems);
    for (size_t i = 0; i < count; i++) {
        bool known = false;
        for (const struct option_spec *spec = option_specs; spec->name != NULL && !known; spec++) {
            char *heading = man_heading(spec);
            known = strcmp(entries[i].heading, heading) == 0;
            free(heading);
        }
        if (!known)
            fprintf(problems.out,
                    "\nassets/socks5d.8 documents '%s', no option of the table (headings read "
                    ".BR \\-x \", \" \\-\\-name \" \\fIARG\\fR\")",
                    entries[i].heading);
    }
    free_man_entries(entries, count);
    problems_check(&problems);
}
END_TEST

/* README's socks5d section shows `socks5d --help` as it prints, byte for byte. */
START_TEST(readme_shows_the_help_output)
{
    char *readme = read_file("README.md");
    char *section = between(readme, "\n## socks5d\n", "\n## ");
    char *block = section != NULL ? between(section, "```\n", "```\n") : NULL;
    char *help = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&help, &size);
    options_write_help(out, "socks5d");
    fclose(out);
    struct problems problems;
    problems_open(&problems);
    if (block == NULL)
        fprintf(problems.out, "\nREADME.md has no '## socks5d' section with a ``` block");
    const char *readme_line = block != NULL ? block : "", *help_line = help;
    for (int line = 1; *readme_line != '\0' || *help_line != '\0'; line++) {
        size_t readme_length = strcspn(readme_line, "\n");
        size_t help_length = strcspn(help_line, "\n");
        if (readme_length != help_length || memcmp(readme_line, help_line, help_length) != 0) {
            fprintf(problems.out, "\nREADME.md's socks5d block, line %d: '%.*s'\n"
                    "socks5d --help,                line %d: '%.*s'",
                    line, (int)readme_length, readme_line, line, (int)help_length, help_line);
            break;
        }
        readme_line += readme_length + (readme_line[readme_length] == '\n');
        help_line += help_length + (help_line[help_length] == '\n');
    }
    free(help);
    free(block);
    free(section);
    free(readme);
    problems_check(&problems);
}
END_TEST

static Suite *options_docs_suite(void)
{
    Suite *suite = suite_create("options_docs");
    TCase *docs = tcase_create("docs");
    tcase_add_test(docs, man_page_documents_every_option_with_its_default);
    tcase_add_test(docs, man_page_documents_no_other_option);
    tcase_add_test(docs, readme_shows_the_help_output);
    suite_add_tcase(suite, docs);
    return suite;
}

int main(void)
{
    SRunner *runner = srunner_create(options_docs_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
