/* skipctl replay --player: the report (replay_report.h). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "replay_report.h"

#define MAX_GROUP_VALUES  16

/* ---- slice keys --------------------------------------------------------- */

static int
cmp_key(const void *a, const void *b)
{
    const sk_slice_key  *x = a, *y = b;
    int                  c = strcmp(x->track, y->track);

    if (c != 0) {
        return c;
    }
    return (x->start > y->start) - (x->start < y->start);
}

/* Sort and drop duplicates; returns the new count. */
static size_t
keys_unique(sk_slice_key *k, size_t n)
{
    size_t  i, m = 0;

    if (n < 2) {
        return n;
    }
    qsort(k, n, sizeof(*k), cmp_key);
    for (i = 0; i < n; i++) {
        if (m == 0 || cmp_key(&k[m - 1], &k[i]) != 0) {
            k[m++] = k[i];
        }
    }
    return m;
}

static int
keys_have(const sk_slice_key *k, size_t n, const char *track, int64_t start)
{
    sk_slice_key  key;

    if (n == 0) {
        return 0;
    }
    memset(&key, 0, sizeof(key));
    snprintf(key.track, sizeof(key.track), "%s", track);
    key.start = start;
    return bsearch(&key, k, n, sizeof(key), cmp_key) != NULL;
}

/* ---- the origin log ---------------------------------------------------- */

typedef struct {
    sk_slice_key  key;
    double        bytes;
    int           prefetch;
    char          arm[SK_RR_VALUE];
} origin_line;

static const char *
json_str(const cJSON *obj, const char *name)
{
    const cJSON  *v = cJSON_GetObjectItemCaseSensitive(obj, name);

    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

/* One line of the origin log; 0, or -1 when it is not one. */
static int
parse_origin_line(const char *line, size_t len, origin_line *o)
{
    cJSON        *obj = cJSON_ParseWithLength(line, len);
    const cJSON  *b;
    const char   *uri, *range, *pf, *arm, *slash;
    int           rc = -1;

    memset(o, 0, sizeof(*o));
    if (!cJSON_IsObject(obj)) {
        goto done;
    }
    uri = json_str(obj, "uri");
    range = json_str(obj, "range");
    pf = json_str(obj, "prefetch");
    arm = json_str(obj, "arm");
    b = cJSON_GetObjectItemCaseSensitive(obj, "bytes");
    if (uri == NULL || (slash = strrchr(uri, '/')) == NULL
        || strlen(slash + 1) > SK_ID_LEN)
    {
        goto done;
    }
    if (cJSON_IsNumber(b)) {
        o->bytes = b->valuedouble;
    } else if (cJSON_IsString(b) && b->valuestring) {
        char  *end;

        o->bytes = strtod(b->valuestring, &end);
        if (end == b->valuestring || *end != '\0') {
            goto done;
        }
    } else {
        goto done;
    }
    if (o->bytes < 0) {
        goto done;
    }
    snprintf(o->key.track, sizeof(o->key.track), "%s", slash + 1);
    /* "bytes=S-E": the slice is named by S; no range: the whole track */
    if (range != NULL && range[0] != '\0') {
        char       *end;
        long long   s;

        if (strncasecmp(range, "bytes=", 6) != 0) {
            goto done;
        }
        errno = 0;
        s = strtoll(range + 6, &end, 10);
        if (errno != 0 || end == range + 6 || *end != '-' || s < 0) {
            goto done;
        }
        o->key.start = s;
    }
    o->prefetch = pf != NULL && strcmp(pf, "1") == 0;
    if (arm != NULL && strcmp(arm, "-") != 0) {
        snprintf(o->arm, sizeof(o->arm), "%s", arm);
    }
    rc = 0;
done:
    cJSON_Delete(obj);
    return rc;
}

static sk_origin_by *
origin_arm(sk_origin_acct *a, const char *arm)
{
    int  i;

    if (arm[0] == '\0') {
        return NULL;
    }
    for (i = 0; i < a->n_arms; i++) {
        if (strcmp(a->arm[i].arm, arm) == 0) {
            return &a->arm[i];
        }
    }
    if (a->n_arms == SK_RR_ARMS) {
        return NULL;
    }
    snprintf(a->arm[a->n_arms].arm, sizeof(a->arm[0].arm), "%s", arm);
    return &a->arm[a->n_arms++];
}

static void
origin_add(sk_origin_by *b, const origin_line *o, int unlistened)
{
    b->fetches++;
    b->bytes += o->bytes;
    if (o->prefetch) {
        b->prefetch_fetches++;
        b->prefetch_bytes += o->bytes;
        if (unlistened) {
            b->unlistened_fetches++;
            b->unlistened_bytes += o->bytes;
        }
    } else {
        b->listener_bytes += o->bytes;
    }
}

int
sk_origin_account(sk_player_run *run, const char *path, long from,
    char *err, size_t errlen)
{
    sk_origin_acct  *a = &run->origin;
    sk_slice_key    *asked = NULL;
    origin_line     *lines = NULL;
    size_t           n_asked = 0, n_lines = 0, cap = 0, i;
    FILE            *f;
    char            *line = NULL;
    size_t           lcap = 0;
    ssize_t          len;
    int              rc = -1;

    memset(a, 0, sizeof(*a));
    a->path = path;
    f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (from > 0 && fseek(f, from, SEEK_SET) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        fclose(f);
        return -1;
    }
    while ((len = getline(&line, &lcap, f)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            len--;
        }
        a->lines++;
        if (len == 0) {
            continue;
        }
        if (n_lines == cap) {
            size_t        nc = cap ? cap * 2 : 1024;
            origin_line  *p = realloc(lines, nc * sizeof(*p));

            if (p == NULL) {
                snprintf(err, errlen, "out of memory");
                goto done;
            }
            lines = p;
            cap = nc;
        }
        if (parse_origin_line(line, (size_t) len, &lines[n_lines]) != 0) {
            if (a->bad_lines++ == 0) {
                a->first_bad_line = a->lines;
            }
            continue;
        }
        n_lines++;
    }
    if (ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto done;
    }

    /* what the players asked for */
    asked = malloc((run->n_slices ? run->n_slices : 1) * sizeof(*asked));
    a->prefetched = malloc((n_lines ? n_lines : 1) * sizeof(*a->prefetched));
    if (asked == NULL || a->prefetched == NULL) {
        snprintf(err, errlen, "out of memory");
        goto done;
    }
    for (i = 0; i < run->n_slices; i++) {
        memset(&asked[n_asked], 0, sizeof(asked[0]));
        memcpy(asked[n_asked].track, run->plays[run->slices[i].play].track,
               sizeof(asked[0].track));
        asked[n_asked++].start = run->slices[i].start;
    }
    n_asked = keys_unique(asked, n_asked);

    for (i = 0; i < n_lines; i++) {
        const origin_line  *o = &lines[i];
        int                 un = o->prefetch
                                 && !keys_have(asked, n_asked, o->key.track,
                                               o->key.start);
        sk_origin_by       *b = origin_arm(a, o->arm);

        origin_add(&a->all, o, un);
        if (b != NULL) {
            origin_add(b, o, un);
        }
        if (o->prefetch) {
            a->prefetched[a->n_prefetched++] = o->key;
        }
    }
    a->n_prefetched = keys_unique(a->prefetched, a->n_prefetched);
    run->has_origin = 1;
    rc = 0;

done:
    fclose(f);
    free(line);
    free(lines);
    free(asked);
    return rc;
}

void
sk_origin_free(sk_origin_acct *o)
{
    free(o->prefetched);
    o->prefetched = NULL;
    o->n_prefetched = 0;
}

/* ---- groups ------------------------------------------------------------ */

enum { G_ALL, G_ARM, G_DECISION };

typedef struct {
    int                  kind;
    const char          *value;
    long                 plays, full_plays, slices, hits, errors, bad_range;
    long                 later_pf, later_pf_hits;     /* the first target */
    double               bytes, full_bytes, full_covered;
    double               full_later, full_later_covered; /* slices 1.. */
    double               p50, p99;
    long                 n_ttfb;
    const sk_origin_by  *origin;
} group;

static int
match(const group *g, const sk_play_rec *p)
{
    switch (g->kind) {
    case G_ARM:
        return strcmp(p->arm, g->value) == 0;
    case G_DECISION:
        return strcmp(p->decision, g->value) == 0;
    default:
        return 1;
    }
}

static int
cmp_float(const void *a, const void *b)
{
    float  x = *(const float *) a, y = *(const float *) b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v (as skipctl replay's latency). */
static double
percentile(const float *v, size_t n, double q)
{
    size_t  k;

    if (n == 0) {
        return 0.0;
    }
    k = (size_t) ceil(q * (double) n);
    return v[k > 0 ? k - 1 : 0];
}

static void
compute(const sk_player_run *run, group *g, float *scratch)
{
    size_t  i;

    for (i = 0; i < run->n_plays; i++) {
        if (match(g, &run->plays[i])) {
            g->plays++;
            g->full_plays += run->plays[i].full;
        }
    }
    for (i = 0; i < run->n_slices; i++) {
        const sk_slice_rec  *s = &run->slices[i];
        const sk_play_rec   *p = &run->plays[s->play];

        if (!match(g, p)) {
            continue;
        }
        g->slices++;
        g->hits += s->hit;
        g->bytes += (double) s->bytes;
        g->bad_range += s->bad_range;
        g->errors += s->status != 200 && s->status != 206;
        if (s->status != 0) {
            scratch[g->n_ttfb++] = s->ttfb_ms;
        }
        if (s->slice > 0 && p->full && strcmp(p->decision, "play") == 0) {
            g->later_pf++;
            g->later_pf_hits += s->hit;
        }
        if (p->full) {
            /*
             * Coverage twice: of all the listened bytes, and of those
             * after the first slice, which the listener's own request
             * fetches and a prefetch of this track never can (the
             * definition skipctl simulate's curve uses)
             */
            g->full_bytes += (double) s->bytes;
            if (s->slice > 0) {
                g->full_later += (double) s->bytes;
            }
            if (s->hit && run->has_origin
                && keys_have(run->origin.prefetched, run->origin.n_prefetched,
                             p->track, s->start))
            {
                g->full_covered += (double) s->bytes;
                if (s->slice > 0) {
                    g->full_later_covered += (double) s->bytes;
                }
            }
        }
    }
    if (g->n_ttfb > 1) {
        qsort(scratch, (size_t) g->n_ttfb, sizeof(float), cmp_float);
    }
    g->p50 = percentile(scratch, (size_t) g->n_ttfb, 0.50);
    g->p99 = percentile(scratch, (size_t) g->n_ttfb, 0.99);
    if (g->kind == G_ARM && run->has_origin) {
        for (int k = 0; k < run->origin.n_arms; k++) {
            if (strcmp(run->origin.arm[k].arm, g->value) == 0) {
                g->origin = &run->origin.arm[k];
            }
        }
    } else if (g->kind == G_ALL && run->has_origin) {
        g->origin = &run->origin.all;
    }
}

/* Distinct values of a play field, in order of first appearance. */
static int
distinct(const sk_player_run *run, int kind, const char **out)
{
    int     n = 0;
    size_t  i;

    for (i = 0; i < run->n_plays && n < MAX_GROUP_VALUES; i++) {
        const char  *v = kind == G_ARM ? run->plays[i].arm
                                       : run->plays[i].decision;
        int          j;

        for (j = 0; j < n && strcmp(out[j], v) != 0; j++) {
        }
        if (j == n) {
            out[n++] = v;
        }
    }
    return n;
}

static void
json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        fputc(*s == '"' || *s == '\\' || (unsigned char) *s < 0x20 ? '_' : *s,
              out);
    }
    fputc('"', out);
}

static void
json_share(FILE *out, double num, double den)
{
    if (den > 0) {
        fprintf(out, "%.4f", num / den);
    } else {
        fputs("null", out);
    }
}

static void
json_origin(FILE *out, const sk_origin_by *o)
{
    fprintf(out, "{\"fetches\":%ld,\"bytes\":%.0f,\"listener_bytes\":%.0f,"
            "\"prefetch_fetches\":%ld,\"prefetch_bytes\":%.0f,"
            "\"prefetched_never_listened_fetches\":%ld,"
            "\"prefetched_never_listened_bytes\":%.0f}", o->fetches, o->bytes,
            o->listener_bytes, o->prefetch_fetches, o->prefetch_bytes,
            o->unlistened_fetches, o->unlistened_bytes);
}

static void
print_json(FILE *out, const sk_player_run *run, group *gs, int ng)
{
    fprintf(out, "{\"slice_bytes\":%lld,\"kbps\":%g,\"time_scale\":%g,"
            "\"plays\":%zu,\"slices\":%zu,\"groups\":[",
            (long long) run->slice_bytes, run->kbps, run->time_scale,
            run->n_plays, run->n_slices);
    for (int i = 0; i < ng; i++) {
        const group  *g = &gs[i];
        static const char *const kinds[] = { "all", "arm", "decision" };

        fprintf(out, "%s{\"by\":\"%s\",\"value\":", i ? "," : "",
                kinds[g->kind]);
        json_string(out, g->value);
        fprintf(out, ",\"plays\":%ld,\"full_plays\":%ld,\"slices\":%ld,"
                "\"hit\":%ld,\"origin\":%ld,\"later_slices_play_full\":%ld,"
                "\"later_hit_play_full\":%ld,\"later_hit_share_play_full\":",
                g->plays, g->full_plays, g->slices, g->hits,
                g->slices - g->hits, g->later_pf, g->later_pf_hits);
        json_share(out, (double) g->later_pf_hits, (double) g->later_pf);
        fprintf(out, ",\"bytes_served\":%.0f,\"full_play_bytes\":%.0f,"
                "\"full_play_bytes_prefetched\":", g->bytes, g->full_bytes);
        if (run->has_origin) {
            fprintf(out, "%.0f", g->full_covered);
        } else {
            fputs("null", out);
        }
        fprintf(out, ",\"full_play_later_bytes\":%.0f,"
                "\"full_play_later_bytes_prefetched\":", g->full_later);
        if (run->has_origin) {
            fprintf(out, "%.0f", g->full_later_covered);
        } else {
            fputs("null", out);
        }
        fprintf(out, ",\"ttfb_ms\":{\"p50\":%.3f,\"p99\":%.3f},"
                "\"bad_range\":%ld,\"errors\":%ld,\"origin_log\":",
                g->p50, g->p99, g->bad_range, g->errors);
        if (g->origin != NULL) {
            json_origin(out, g->origin);
        } else {
            fputs("null", out);
        }
        fputc('}', out);
    }
    fputc(']', out);
    if (run->has_origin) {
        fprintf(out, ",\"origin_log\":{\"file\":");
        json_string(out, run->origin.path);
        fprintf(out, ",\"lines\":%ld,\"bad_lines\":%ld,\"all\":",
                run->origin.lines, run->origin.bad_lines);
        json_origin(out, &run->origin.all);
        fputc('}', out);
    }
    fputc('}', out);
}

static void
mb(FILE *out, int width, double bytes)
{
    fprintf(out, " %*.1f", width, bytes / 1e6);
}

static void
print_text(FILE *out, const sk_player_run *run, group *gs, int ng)
{
    fprintf(out, "player           %zu plays, %zu slices of %lld bytes, "
            "%g kbps, time scale %g, %.1f s\n", run->n_plays, run->n_slices,
            (long long) run->slice_bytes, run->kbps, run->time_scale,
            run->seconds);
    fprintf(out, "%-18s %6s %6s %7s %7s %6s %-20s %9s %8s %8s %5s %5s\n",
            "group", "plays", "full", "slices", "HIT", "origin",
            "later-HIT(play,full)", "served_MB", "ttfb_p50", "ttfb_p99",
            "range", "err");
    for (int i = 0; i < ng; i++) {
        const group  *g = &gs[i];
        char          name[64], later[40];

        if (g->kind == G_ALL) {
            snprintf(name, sizeof(name), "all");
        } else {
            snprintf(name, sizeof(name), "%s=%s",
                     g->kind == G_ARM ? "arm" : "decision",
                     g->value[0] ? g->value : "(none)");
        }
        if (g->later_pf > 0) {
            snprintf(later, sizeof(later), "%.4f (%ld/%ld)",
                     (double) g->later_pf_hits / (double) g->later_pf,
                     g->later_pf_hits, g->later_pf);
        } else {
            snprintf(later, sizeof(later), "-");
        }
        fprintf(out, "%-18s %6ld %6ld %7ld %7ld %6ld %-20s", name, g->plays,
                g->full_plays, g->slices, g->hits, g->slices - g->hits, later);
        mb(out, 9, g->bytes);
        fprintf(out, " %8.3f %8.3f %5ld %5ld\n", g->p50, g->p99,
                g->bad_range, g->errors);
    }
    fprintf(out, "  later-HIT(play,full): HIT share of the slices after the "
            "first, plays decided \"play\" and listened to the end\n"
            "  ttfb in ms per slice; range: 206 answers for another range; "
            "err: status not 200/206\n");
    if (!run->has_origin) {
        return;
    }
    fprintf(out, "origin_log       %s: %ld lines", run->origin.path,
            run->origin.lines);
    if (run->origin.bad_lines) {
        fprintf(out, ", %ld unreadable (first: line %ld)",
                run->origin.bad_lines, run->origin.first_bad_line);
    }
    fputc('\n', out);
    fprintf(out, "%-18s %8s %10s %11s %11s %9s %12s %11s\n", "origin",
            "fetches", "origin_MB", "listener_MB", "prefetch_MB", "pf_fetch",
            "unlistened_MB", "unl_fetches");
    for (int i = 0; i < ng; i++) {
        const group         *g = &gs[i];
        const sk_origin_by  *o = g->origin;
        char                 name[64];

        if (o == NULL) {
            continue;
        }
        snprintf(name, sizeof(name), "%s%s", g->kind == G_ALL ? "all" : "arm=",
                 g->kind == G_ALL ? "" : g->value);
        fprintf(out, "%-18s %8ld", name, o->fetches);
        mb(out, 10, o->bytes);
        mb(out, 11, o->listener_bytes);
        mb(out, 11, o->prefetch_bytes);
        fprintf(out, " %9ld", o->prefetch_fetches);
        mb(out, 12, o->unlistened_bytes);
        fprintf(out, " %11ld\n", o->unlistened_fetches);
    }
    fprintf(out, "  unlistened: bytes of prefetch fetches for slices no "
            "player asked for during the run\n");
    for (int i = 0; i < ng; i++) {
        const group  *g = &gs[i];

        if (g->kind == G_DECISION || g->full_bytes <= 0) {
            continue;
        }
        fprintf(out, "full plays %-7s listened %.1f MB, %.1f MB (%.1f %%) "
                "HITs of prefetched slices; after the first slice %.1f MB, "
                "%.1f %%\n",
                g->kind == G_ALL ? "all" : g->value, g->full_bytes / 1e6,
                g->full_covered / 1e6, 100.0 * g->full_covered / g->full_bytes,
                g->full_later / 1e6,
                g->full_later > 0
                ? 100.0 * g->full_later_covered / g->full_later : 0.0);
    }
}

void
sk_player_report(FILE *out, const sk_player_run *run, int json)
{
    group         gs[1 + 2 * MAX_GROUP_VALUES];
    const char   *vals[MAX_GROUP_VALUES];
    float        *scratch;
    int           ng = 0, n;

    scratch = malloc((run->n_slices ? run->n_slices : 1) * sizeof(float));
    if (scratch == NULL) {
        fprintf(stderr, "skipctl replay: out of memory for the report\n");
        return;
    }
    memset(gs, 0, sizeof(gs));
    gs[ng].kind = G_ALL;
    gs[ng++].value = "";
    n = distinct(run, G_ARM, vals);
    for (int i = 0; i < n; i++) {
        gs[ng].kind = G_ARM;
        gs[ng++].value = vals[i];
    }
    n = distinct(run, G_DECISION, vals);
    for (int i = 0; i < n; i++) {
        gs[ng].kind = G_DECISION;
        gs[ng++].value = vals[i];
    }
    for (int i = 0; i < ng; i++) {
        compute(run, &gs[i], scratch);
    }
    if (json) {
        print_json(out, run, gs, ng);
    } else {
        print_text(out, run, gs, ng);
    }
    free(scratch);
}
