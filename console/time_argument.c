/* time_argument: the times socks5ctl's history options take — ISO 8601 dates and times (UTC
 * unless an offset is given) or a span ago (30s, 15m, 2h, 7d) — read without I/O. */
#include "time_argument.h"

#define MS_PER_SECOND INT64_C(1000)
#define MS_PER_MINUTE (60 * MS_PER_SECOND)
#define MS_PER_HOUR (60 * MS_PER_MINUTE)
#define MS_PER_DAY (24 * MS_PER_HOUR)
/* More digits than any span back to 1970 needs, so their value cannot overflow. */
#define SPAN_DIGITS_MAX 12

struct cursor {
    const char *at;
    const char *end;
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Exactly count digits into *value. */
static bool read_digits(struct cursor *cursor, size_t count, int64_t *value)
{
    if ((size_t)(cursor->end - cursor->at) < count)
        return false;
    int64_t number = 0;
    for (size_t i = 0; i < count; i++) {
        if (!is_digit(cursor->at[i]))
            return false;
        number = number * 10 + (cursor->at[i] - '0');
    }
    cursor->at += count;
    *value = number;
    return true;
}

static bool take(struct cursor *cursor, char c)
{
    if (cursor->at < cursor->end && *cursor->at == c) {
        cursor->at++;
        return true;
    }
    return false;
}

static bool leap_year(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int64_t days_in_month(int64_t year, int64_t month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && leap_year(year) ? 29 : days[month - 1];
}

/* Days from 1970-01-01 to the date (Howard Hinnant's days_from_civil, years from 1970). */
static int64_t days_from_civil(int64_t year, int64_t month, int64_t day)
{
    year -= month <= 2;
    int64_t era = year / 400; /* year >= 1969: never negative */
    int64_t year_of_era = year - era * 400;
    int64_t day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * 146097 + day_of_era - 719468;
}

/* "30s", "15m", "2h", "7d": that long before now. */
static bool parse_span(struct cursor *cursor, int64_t now_ms, int64_t *unix_ms,
                       const char **problem)
{
    int64_t count = 0;
    size_t digits = 0;
    while (cursor->at < cursor->end && is_digit(*cursor->at)) {
        if (++digits > SPAN_DIGITS_MAX) {
            *problem = "the span is too long";
            return false;
        }
        count = count * 10 + (*cursor->at++ - '0');
    }
    int64_t unit;
    switch (cursor->end - cursor->at == 1 ? *cursor->at : '\0') {
    case 's': unit = MS_PER_SECOND; break;
    case 'm': unit = MS_PER_MINUTE; break;
    case 'h': unit = MS_PER_HOUR; break;
    case 'd': unit = MS_PER_DAY; break;
    default:
        *problem = "a span is digits and one of s, m, h, d (e.g. 15m)";
        return false;
    }
    if (count > now_ms / unit) {
        *problem = "the span reaches back before 1970";
        return false;
    }
    *unix_ms = now_ms - count * unit;
    return true;
}

/* HH:MM[:SS[.fff]] into milliseconds of the day. */
static bool parse_clock(struct cursor *cursor, int64_t *ms, const char **problem)
{
    int64_t hour, minute, second = 0, fraction = 0;
    if (!read_digits(cursor, 2, &hour) || !take(cursor, ':') || !read_digits(cursor, 2, &minute)) {
        *problem = "expected the time as HH:MM";
        return false;
    }
    if (take(cursor, ':')) {
        if (!read_digits(cursor, 2, &second)) {
            *problem = "expected the seconds as SS";
            return false;
        }
        if (take(cursor, '.')) {
            size_t digits = 0;
            int64_t scale = 100;
            while (cursor->at < cursor->end && is_digit(*cursor->at) && digits < 3) {
                fraction += (*cursor->at++ - '0') * scale;
                scale /= 10;
                digits++;
            }
            if (digits == 0) {
                *problem = "expected 1 to 3 digits after the '.'";
                return false;
            }
        }
    }
    if (hour > 23 || minute > 59 || second > 59) {
        *problem = "the time is out of range (00:00:00 to 23:59:59)";
        return false;
    }
    *ms = hour * MS_PER_HOUR + minute * MS_PER_MINUTE + second * MS_PER_SECOND + fraction;
    return true;
}

/* "Z", "+HH", "+HH:MM", "+HHMM" or their '-' forms: milliseconds to subtract for UTC. */
static bool parse_offset(struct cursor *cursor, int64_t *offset_ms, const char **problem)
{
    *offset_ms = 0;
    if (cursor->at == cursor->end || take(cursor, 'Z') || take(cursor, 'z'))
        return true;
    int64_t sign = take(cursor, '+') ? 1 : take(cursor, '-') ? -1 : 0;
    int64_t hours, minutes = 0;
    if (sign == 0 || !read_digits(cursor, 2, &hours)) {
        *problem = "expected an offset: Z, +HH:MM or -HH:MM";
        return false;
    }
    if (cursor->at < cursor->end) {
        take(cursor, ':');
        if (!read_digits(cursor, 2, &minutes)) {
            *problem = "expected the offset's minutes as MM";
            return false;
        }
    }
    if (hours > 23 || minutes > 59) {
        *problem = "the offset is out of range";
        return false;
    }
    *offset_ms = sign * (hours * MS_PER_HOUR + minutes * MS_PER_MINUTE);
    return true;
}

static bool parse_date_time(struct cursor *cursor, int64_t *unix_ms, const char **problem)
{
    int64_t year, month, day;
    if (!read_digits(cursor, 4, &year) || !take(cursor, '-') || !read_digits(cursor, 2, &month) ||
        !take(cursor, '-') || !read_digits(cursor, 2, &day)) {
        *problem = "expected a date as YYYY-MM-DD or a span such as 15m";
        return false;
    }
    if (year < 1970 || month < 1 || month > 12 || day < 1 || day > days_in_month(year, month)) {
        *problem = "the date is out of range (1970-01-01 to 9999-12-31)";
        return false;
    }
    int64_t time_of_day = 0, offset = 0;
    if (take(cursor, 'T') || take(cursor, 't') || take(cursor, ' ')) {
        if (!parse_clock(cursor, &time_of_day, problem) || !parse_offset(cursor, &offset, problem))
            return false;
    }
    if (cursor->at != cursor->end) {
        *problem = "unexpected characters after the time";
        return false;
    }
    int64_t value = days_from_civil(year, month, day) * MS_PER_DAY + time_of_day - offset;
    if (value < 0) {
        *problem = "the time is before 1970";
        return false;
    }
    *unix_ms = value;
    return true;
}

bool time_argument_parse(const char *text, size_t length, int64_t now_ms, int64_t *unix_ms,
                         const char **problem)
{
    struct cursor cursor = {text, text + length};
    *problem = NULL;
    if (length == 0) {
        *problem = "expected a time";
        return false;
    }
    /* A date starts with four digits and '-'; a span is digits and a letter. */
    size_t digits = 0;
    while (digits < length && is_digit(text[digits]))
        digits++;
    if (digits == 4 && length > 4 && text[4] == '-')
        return parse_date_time(&cursor, unix_ms, problem);
    if (digits == 0) {
        *problem = "expected a date as YYYY-MM-DD or a span such as 15m";
        return false;
    }
    return parse_span(&cursor, now_ms, unix_ms, problem);
}
