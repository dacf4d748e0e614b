/*
 * The JSON access log reader (see accesslog.h).  Lines are read whole with
 * getline and parsed with cJSON: access logs are small next to the sessions
 * files, so no fast path is needed.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "accesslog.h"
#include "../core/keys.h"
#include "../core/timeparse.h"

struct sk_alog {
    FILE           *fp;
    int             own;               /* close fp at the end */
    int             strict;
    char           *path;
    char           *buf;
    size_t          cap;
    sk_alog_stats   stats;
    int             n_msgs;
    char           *msgs[SK_ALOG_MSGS];
    char            error[512];
};

sk_alog *
sk_alog_open(const char *path, int strict, char *err, size_t errlen)
{
    sk_alog  *a;

    a = calloc(1, sizeof(*a));
    if (a == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    if (strcmp(path, "-") == 0) {
        a->fp = stdin;
    } else {
        a->fp = fopen(path, "r");
        a->own = 1;
        if (a->fp == NULL) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            free(a);
            return NULL;
        }
    }
    a->path = strdup(path);
    a->strict = strict;
    if (a->path == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        sk_alog_close(a);
        return NULL;
    }
    return a;
}

/* The value of key as text: strings as they are, numbers printed.  NULL
 * when absent, null, or of another type. */
static const char *
field_text(const cJSON *obj, const char *key, char *num, size_t numlen)
{
    const cJSON  *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    if (cJSON_IsString(v)) {
        return v->valuestring;
    }
    if (cJSON_IsNumber(v)) {
        snprintf(num, numlen, "%.17g", v->valuedouble);
        return num;
    }
    return NULL;
}

static const char *
first_text(const cJSON *obj, const char *const *keys, char *num,
    size_t numlen)
{
    const char  *s;

    for (; *keys; keys++) {
        s = field_text(obj, *keys, num, numlen);
        if (s != NULL && *s != '\0') {
            return s;
        }
    }
    return NULL;
}

static void
copy_str(char *dst, const char *src, size_t len)
{
    if (len > SK_ALOG_STR) {
        len = SK_ALOG_STR;
    }
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Seconds with a fraction ($msec) or a timestamp ($time_iso8601). */
static int
parse_time(const char *s, int64_t *ms)
{
    char    *end;
    double   sec;

    errno = 0;
    sec = strtod(s, &end);
    if (end != s && *end == '\0' && errno == 0 && isfinite(sec)
        && sec >= 0.0 && sec < 253402300800.0)       /* year 10000 */
    {
        *ms = llround(sec * 1000.0);
        return 0;
    }
    return sk_time_parse(s, strlen(s), ms, NULL, NULL);
}

static int
parse_int64(const char *s, int64_t *out)
{
    char       *end;
    long long   v;

    errno = 0;
    v = strtoll(s, &end, 10);
    if (end == s || *end != '\0' || errno != 0) {
        return -1;
    }
    *out = v;
    return 0;
}

int
sk_alog_parse_line(const char *line, size_t len, sk_alog_entry *e,
    char *why, size_t whylen)
{
    static const char *const time_keys[] = { "time", "msec", NULL };
    static const char *const user_keys[] = { "user", "user_id", NULL };
    static const char *const track_keys[] = { "track", "track_id", NULL };
    static const char *const uri_keys[] = { "uri", "request_uri", NULL };
    static const char *const cache_keys[] = { "cache", "cache_status",
                                              "upstream_cache_status", NULL };
    cJSON       *obj;
    const char  *s, *q;
    char         num[64];
    int64_t      v;
    int          rc = -1;

    memset(e, 0, sizeof(*e));
    e->user_id = -1;
    e->decision = SK_DECIDE_NONE;
    e->score = NAN;
    e->status = -1;

    obj = cJSON_ParseWithLength(line, len);
    if (obj == NULL) {
        snprintf(why, whylen, "invalid JSON");
        return -1;
    }
    if (!cJSON_IsObject(obj)) {
        snprintf(why, whylen, "not a JSON object");
        goto done;
    }

    s = first_text(obj, time_keys, num, sizeof(num));
    if (s == NULL) {
        snprintf(why, whylen, "field 'time': missing");
        goto done;
    }
    if (parse_time(s, &e->time_ms) != 0) {
        snprintf(why, whylen, "field 'time': not a timestamp: \"%.40s\"", s);
        goto done;
    }

    s = first_text(obj, user_keys, num, sizeof(num));
    if (s != NULL && parse_int64(s, &v) == 0 && v >= 0) {
        e->user_id = v;
    }

    s = first_text(obj, track_keys, num, sizeof(num));
    if (s == NULL) {
        /* .../tracks/<id>?query -> <id>; other URIs (events, metrics)
         * name no track. */
        s = first_text(obj, uri_keys, num, sizeof(num));
        if (s != NULL && (q = strstr(s, "/tracks/")) != NULL) {
            s = q + 8;
            len = strcspn(s, "?/");
            if (sk_id_valid(s, len)) {
                copy_str(e->track, s, len);
            }
        }
    } else if (sk_id_valid(s, strlen(s))) {
        copy_str(e->track, s, strlen(s));
    }

    s = field_text(obj, "arm", num, sizeof(num));
    if (s != NULL) {
        copy_str(e->arm, s, strlen(s));
    }
    s = field_text(obj, "model", num, sizeof(num));
    if (s != NULL) {
        copy_str(e->model, s, strlen(s));
    }
    if (e->arm[0] == '\0' && e->model[0] != '\0') {
        q = strchr(e->model, '@');
        copy_str(e->arm, e->model, q ? (size_t) (q - e->model)
                                     : strlen(e->model));
    }

    s = field_text(obj, "decision", num, sizeof(num));
    if (s != NULL) {
        if (strcasecmp(s, "play") == 0) {
            e->decision = SK_DECIDE_PLAY;
        } else if (strcasecmp(s, "skip") == 0) {
            e->decision = SK_DECIDE_SKIP;
        }
    }

    s = field_text(obj, "score", num, sizeof(num));
    if (s != NULL && *s != '\0') {
        char    *end;
        double   d = strtod(s, &end);

        if (end != s && *end == '\0' && isfinite(d)) {
            e->score = d;
        }
    }

    s = field_text(obj, "source", num, sizeof(num));
    if (s != NULL) {
        copy_str(e->source, s, strlen(s));
    }
    s = field_text(obj, "status", num, sizeof(num));
    if (s != NULL && parse_int64(s, &v) == 0 && v >= 0 && v < 1000) {
        e->status = (int) v;
    }
    s = first_text(obj, cache_keys, num, sizeof(num));
    if (s != NULL) {
        copy_str(e->cache, s, strlen(s));
    }
    rc = 0;

done:
    cJSON_Delete(obj);
    return rc;
}

static void
add_message(sk_alog *a, const char *fmt, ...)
{
    va_list  ap;
    char     buf[512];

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (a->n_msgs < SK_ALOG_MSGS) {
        a->msgs[a->n_msgs] = strdup(buf);
        if (a->msgs[a->n_msgs] != NULL) {
            a->n_msgs++;
        }
    }
    snprintf(a->error, sizeof(a->error), "%s", buf);
}

int
sk_alog_next(sk_alog *a, sk_alog_entry *e)
{
    ssize_t  n;
    char     why[256];

    for ( ;; ) {
        errno = 0;
        n = getline(&a->buf, &a->cap, a->fp);
        if (n < 0) {
            if (ferror(a->fp)) {
                snprintf(a->error, sizeof(a->error), "%s: read error: %s",
                         a->path, strerror(errno));
                return -1;
            }
            return 0;
        }
        a->stats.lines++;
        while (n > 0 && (a->buf[n - 1] == '\n' || a->buf[n - 1] == '\r')) {
            n--;
        }
        if (n == 0) {
            continue;
        }
        if (sk_alog_parse_line(a->buf, (size_t) n, e, why, sizeof(why)) == 0) {
            e->line = a->stats.lines;
            a->stats.entries++;
            return 1;
        }
        a->stats.skipped++;
        add_message(a, "%s:%ld: %s", a->path, a->stats.lines, why);
        if (a->strict) {
            return -1;
        }
    }
}

const char *
sk_alog_error(const sk_alog *a)
{
    return a->error;
}

const sk_alog_stats *
sk_alog_get_stats(const sk_alog *a)
{
    return &a->stats;
}

int
sk_alog_n_messages(const sk_alog *a)
{
    return a->n_msgs;
}

const char *
sk_alog_message(const sk_alog *a, int i)
{
    return (i >= 0 && i < a->n_msgs) ? a->msgs[i] : NULL;
}

void
sk_alog_close(sk_alog *a)
{
    if (a == NULL) {
        return;
    }
    if (a->own && a->fp != NULL) {
        fclose(a->fp);
    }
    for (int i = 0; i < a->n_msgs; i++) {
        free(a->msgs[i]);
    }
    free(a->buf);
    free(a->path);
    free(a);
}
