/*
 * skipctl abreport: live A/B accuracy per arm, from nginx's JSON access log
 * (what the module decided) and a play/skip events file (what listeners
 * did).  The join rule is in abjoin.h, the log fields in accesslog.h, the
 * statistics in stats_tests.h; this file reads, counts and prints.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../ab/abjoin.h"
#include "../ab/accesslog.h"
#include "cli.h"
#include "../core/dataset.h"
#include "../ab/stats_tests.h"

#define CMD       "abreport"
#define MAX_ARMS  32
#define NO_ARM    "(none)"

static const char usage_text[] =
"usage: skipctl abreport --log ACCESS.jsonl --events EVENTS.jsonl\n"
"                        [--html OUT.html] [--json] [options]\n"
"\n"
"Live A/B evaluation of the skip module: how often each arm's decision\n"
"(play = cache the track, skip = stream it through) matched what the\n"
"listener then did.\n"
"\n"
"INPUTS\n"
"  --log FILE      nginx access log, one JSON object per line (log_format\n"
"                  ... escape=json, see conf/nginx-skip.conf; \"-\" = stdin).\n"
"                  Fields (strings or numbers; unknown keys ignored):\n"
"                    time      required: $msec (seconds.millis) or any\n"
"                              ISO 8601 / Pozytywka timestamp\n"
"                    user      listener id ($http_x_user_id)\n"
"                    track     track id; default: from \"uri\" .../tracks/ID\n"
"                    arm       A/B arm ($skip_arm); default: \"model\" up to @\n"
"                    decision  play | skip; empty = no prediction\n"
"                    score, source, status, cache   optional\n"
"                  A line without a usable time, or not a JSON object, is\n"
"                  skipped and reported (file:line: field).\n"
"  --events FILE   play/skip events, JSONL in the Pozytywka event format\n"
"                  (user_id, track_id, event_type, timestamp, session_id),\n"
"                  read by the dataset reader with all its tolerance (v1\n"
"                  arrays, any case, ISO timestamps).  Play and Skip count;\n"
"                  other events are ignored.  Timestamps must be on the same\n"
"                  clock as the log: e.g. the file `skipctl replay\n"
"                  --events-log` writes, or the service's event journal.\n"
"\n"
"THE JOIN\n"
"  A listen is one (session, track) of a user: skipped if any of its events\n"
"  is a Skip, played in full otherwise; its time is its first event.  A\n"
"  prediction for (user, track) logged at time t is answered by the\n"
"  earliest listen of the same (user, track), not used by an earlier\n"
"  prediction, whose time lies in [t - BEFORE, t + AFTER].  BEFORE covers\n"
"  nginx logging at the END of a long response and client clocks; AFTER\n"
"  covers outcomes reported when the listen ends.  Predictions without a\n"
"  user, or with no listen in the window, are counted as unjoined.\n"
"  --window-before SEC   default 60\n"
"  --window-after SEC    default 900\n"
"\n"
"OUTPUT (stdout)\n"
"  Per arm: requests (log lines with a track), predicted (with a decision),\n"
"  joined, accuracy, the always-play baseline (share of full listens),\n"
"  precision and recall of both classes, each with a Wilson 95 %\n"
"  confidence interval; then for every pair of arms the accuracy\n"
"  difference with its 95 % CI and the two-sided p-value of the pooled\n"
"  two-proportion z-test (no correction for multiple pairs).\n"
"  --json          the same as one JSON object instead of text\n"
"  --html FILE     also write a self-contained HTML report with an inline\n"
"                  SVG bar chart and 95 % CI whiskers (no network needed)\n"
"\n"
"OTHER OPTIONS\n"
"  --source LIST   count only predictions whose source is in the comma list\n"
"                  (e.g. redis: the model's own decisions, not fallbacks)\n"
"  --strict        the first unusable line of either file is fatal\n"
"  --quiet         no reader summaries on stderr\n"
"  --help          this text\n"
"\n"
"EXIT STATUS\n"
"  0 report written; 1 a file could not be read, a strict-mode bad line, or\n"
"  no prediction could be joined with an outcome (the report is still\n"
"  printed); 2 usage error.\n"
"\n"
"EXAMPLE\n"
"  skipctl replay --data data --url http://127.0.0.1:8080 \\\n"
"      --events-log out/events.jsonl\n"
"  skipctl abreport --log /var/log/nginx/skip.jsonl \\\n"
"      --events out/events.jsonl --html out/abreport.html\n";

typedef struct {
    char           name[SK_ALOG_STR + 1];
    long           requests;       /* log lines with a track */
    long           predicted;      /* ... with a decision (and source kept) */
    long           no_user;        /* predicted but no user to join on */
    long           joined;
    long           cache_hits;     /* cache status HIT */
    long           fallback;       /* predicted, source not "redis" */
    sk_ab_counts   counts;
    sk_ab_metrics  m;
} arm_stats;

typedef struct {
    const char    *log_path, *events_path, *html_path, *sources;
    int            json, strict, quiet;
    double         before_s, after_s;

    arm_stats      arms[MAX_ARMS];
    int            n_arms;
    long           log_lines, log_entries, log_skipped, no_track;
    long           ev_rows, ev_playskip, ev_skipped, listens;
    sk_ab_pred    *pred;
    size_t         n_pred, cap_pred;
    sk_ab_listen  *lis;
    size_t         n_lis, cap_lis;
    size_t         joined;
} report;

static int
source_kept(const report *r, const char *source)
{
    const char  *p = r->sources;
    size_t       len = strlen(source);

    if (p == NULL) {
        return 1;
    }
    while (*p) {
        const char  *comma = strchr(p, ',');
        size_t       n = comma ? (size_t) (comma - p) : strlen(p);

        if (n == len && strncmp(p, source, n) == 0) {
            return 1;
        }
        p += n + (comma != NULL);
    }
    return 0;
}

static int
arm_index(report *r, const char *name)
{
    if (*name == '\0') {
        name = NO_ARM;
    }
    for (int i = 0; i < r->n_arms; i++) {
        if (strcmp(r->arms[i].name, name) == 0) {
            return i;
        }
    }
    if (r->n_arms == MAX_ARMS) {
        return -1;
    }
    snprintf(r->arms[r->n_arms].name, sizeof(r->arms[0].name), "%s", name);
    return r->n_arms++;
}

static void *
grow(void *p, size_t *cap, size_t need, size_t size)
{
    size_t  n;
    void   *q;

    if (need <= *cap) {
        return p;
    }
    n = *cap ? *cap * 2 : 4096;
    while (n < need) {
        n *= 2;
    }
    q = realloc(p, n * size);
    if (q != NULL) {
        *cap = n;
    }
    return q;
}

static int
read_log(report *r)
{
    sk_alog              *a;
    sk_alog_entry         e;
    const sk_alog_stats  *st;
    char                  err[512];
    int                   rc, arm, over = 0;

    a = sk_alog_open(r->log_path, r->strict, err, sizeof(err));
    if (a == NULL) {
        sk_errorf(CMD, "%s", err);
        return -1;
    }
    while ((rc = sk_alog_next(a, &e)) == 1) {
        if (e.track[0] == '\0') {
            r->no_track++;          /* events POSTs, metrics scrapes, ... */
            continue;
        }
        arm = arm_index(r, e.arm);
        if (arm < 0) {
            if (!over++) {
                sk_errorf(CMD, "%s:%ld: field 'arm': more than %d arms, "
                          "extra arms ignored", r->log_path, e.line, MAX_ARMS);
            }
            continue;
        }
        r->arms[arm].requests++;
        if (strcasecmp(e.cache, "HIT") == 0) {
            r->arms[arm].cache_hits++;
        }
        if (e.decision == SK_DECIDE_NONE || !source_kept(r, e.source)) {
            continue;
        }
        r->arms[arm].predicted++;
        if (e.source[0] != '\0' && strcmp(e.source, "redis") != 0) {
            r->arms[arm].fallback++;
        }
        if (e.user_id < 0) {
            r->arms[arm].no_user++;
            continue;
        }
        r->pred = grow(r->pred, &r->cap_pred, r->n_pred + 1, sizeof(*r->pred));
        if (r->pred == NULL) {
            sk_errorf(CMD, "out of memory reading %s", r->log_path);
            sk_alog_close(a);
            return -1;
        }
        sk_ab_pred *p = &r->pred[r->n_pred];
        p->user_id = e.user_id;
        p->time_ms = e.time_ms;
        snprintf(p->track, sizeof(p->track), "%s", e.track);
        p->arm = arm;
        p->decision = e.decision;
        p->actual = -1;
        p->order = (long) r->n_pred;
        r->n_pred++;
    }
    st = sk_alog_get_stats(a);
    r->log_lines = st->lines;
    r->log_entries = st->entries;
    r->log_skipped = st->skipped;
    if (rc < 0) {
        sk_errorf(CMD, "%s", sk_alog_error(a));
        sk_alog_close(a);
        return -1;
    }
    if (!r->quiet) {
        fprintf(stderr, "skipctl %s: %s: %ld lines, %ld entries, %ld skipped, "
                "%ld without a track\n", CMD, r->log_path, st->lines,
                st->entries, st->skipped, r->no_track);
        for (int i = 0; i < sk_alog_n_messages(a); i++) {
            fprintf(stderr, "skipctl %s:   %s\n", CMD, sk_alog_message(a, i));
        }
    }
    sk_alog_close(a);
    return 0;
}

static int
read_events(report *r)
{
    sk_reader     *rd;
    sk_read_opts   opts;
    sk_row         row;
    char           err[512];
    int            rc;

    memset(&opts, 0, sizeof(opts));
    opts.strict = r->strict;
    opts.log = r->quiet ? NULL : stderr;
    rd = sk_reader_open(r->events_path, SK_FILE_SESSIONS, &opts, err,
                        sizeof(err));
    if (rd == NULL) {
        sk_errorf(CMD, "%s", err);
        return -1;
    }
    while ((rc = sk_read_next(rd, &row)) == 1) {
        const sk_event_row  *ev = &row.event;

        r->ev_rows++;
        if (ev->type != SK_EV_PLAY && ev->type != SK_EV_SKIP) {
            continue;
        }
        r->lis = grow(r->lis, &r->cap_lis, r->n_lis + 1, sizeof(*r->lis));
        if (r->lis == NULL) {
            sk_errorf(CMD, "out of memory reading %s", r->events_path);
            sk_reader_close(rd);
            return -1;
        }
        sk_ab_listen *l = &r->lis[r->n_lis++];
        l->user_id = ev->user_id;
        l->session_id = ev->session_id;
        l->time_ms = ev->ts_ms;
        snprintf(l->track, sizeof(l->track), "%s", ev->track_id);
        l->skipped = ev->type == SK_EV_SKIP;
        r->ev_playskip++;
    }
    r->ev_skipped = sk_reader_stats(rd)->skipped_total;
    if (rc < 0) {
        sk_errorf(CMD, "%s", sk_reader_error(rd));
        sk_reader_close(rd);
        return -1;
    }
    if (!r->quiet) {
        fprintf(stderr, "skipctl %s: ", CMD);
        sk_reader_summary(rd, stderr);
    }
    sk_reader_close(rd);
    return 0;
}

static void
count(report *r)
{
    r->n_lis = sk_ab_listens(r->lis, r->n_lis);
    r->listens = (long) r->n_lis;
    r->joined = sk_ab_join(r->pred, r->n_pred, r->lis, r->n_lis,
                           (int64_t) llround(r->before_s * 1000.0),
                           (int64_t) llround(r->after_s * 1000.0));
    for (size_t i = 0; i < r->n_pred; i++) {
        const sk_ab_pred  *p = &r->pred[i];

        if (p->actual >= 0) {
            r->arms[p->arm].joined++;
            r->arms[p->arm].counts.cm[p->decision][p->actual]++;
        }
    }
    for (int i = 0; i < r->n_arms; i++) {
        sk_ab_metrics_compute(&r->arms[i].counts, &r->arms[i].m);
    }
}

static int
cmp_arm(const void *a, const void *b)
{
    return strcmp(((const arm_stats *) a)->name, ((const arm_stats *) b)->name);
}

/* ---- text ------------------------------------------------------------ */

static void
print_rate(FILE *out, const sk_ab_rate *x)
{
    if (x->n == 0) {
        fprintf(out, "   -   [   -  ,   -   ]");
    } else {
        fprintf(out, "%.4f [%.4f, %.4f]", x->p, x->lo, x->hi);
    }
}

static void
print_text(const report *r, FILE *out)
{
    const arm_stats  *a, *b;
    sk_two_prop       t;

    fprintf(out, "log     %s: %ld entries (%ld unusable lines), "
            "%ld without a track\n", r->log_path, r->log_entries,
            r->log_skipped, r->no_track);
    fprintf(out, "events  %s: %ld rows, %ld Play/Skip -> %ld listens\n",
            r->events_path, r->ev_rows, r->ev_playskip, r->listens);
    fprintf(out, "join    earliest unused listen of the same (user, track) "
            "within [-%gs, +%gs]: %zu of %zu predictions\n",
            r->before_s, r->after_s, r->joined, r->n_pred);
    if (r->sources != NULL) {
        fprintf(out, "filter  source in {%s}\n", r->sources);
    }
    fprintf(out, "\n%-12s %9s %9s %9s %9s  %-24s %-24s\n", "arm", "requests",
            "predicted", "joined", "cache_hit", "accuracy [95% CI]",
            "always-play [95% CI]");
    for (int i = 0; i < r->n_arms; i++) {
        a = &r->arms[i];
        fprintf(out, "%-12s %9ld %9ld %9ld %9ld  ", a->name, a->requests,
                a->predicted, a->joined, a->cache_hits);
        print_rate(out, &a->m.accuracy);
        fputs(" ", out);
        print_rate(out, &a->m.play_share);
        fputc('\n', out);
    }

    fprintf(out, "\n%-12s %-5s %-24s %-24s %9s\n", "arm", "class",
            "precision [95% CI]", "recall [95% CI]", "actual");
    for (int i = 0; i < r->n_arms; i++) {
        a = &r->arms[i];
        for (int k = 1; k >= 0; k--) {
            fprintf(out, "%-12s %-5s ", a->name, k ? "play" : "skip");
            print_rate(out, &a->m.precision[k]);
            fputs(" ", out);
            print_rate(out, &a->m.recall[k]);
            fprintf(out, " %9ld\n", a->m.recall[k].n);
        }
    }

    fprintf(out, "\nconfusion (predicted/actual)\n%-12s %9s %9s %9s %9s\n",
            "arm", "play/play", "play/skip", "skip/play", "skip/skip");
    for (int i = 0; i < r->n_arms; i++) {
        a = &r->arms[i];
        fprintf(out, "%-12s %9ld %9ld %9ld %9ld\n", a->name,
                a->counts.cm[1][1], a->counts.cm[1][0], a->counts.cm[0][1],
                a->counts.cm[0][0]);
    }

    if (r->n_arms > 1) {
        fprintf(out, "\naccuracy difference (two-proportion z-test, pooled; "
                "95%% CI unpooled):\n");
    }
    for (int i = 0; i < r->n_arms; i++) {
        for (int j = i + 1; j < r->n_arms; j++) {
            a = &r->arms[i];
            b = &r->arms[j];
            if (sk_two_prop_test(a->m.accuracy.k, a->m.accuracy.n,
                                 b->m.accuracy.k, b->m.accuracy.n, SK_Z95,
                                 &t) != 0)
            {
                fprintf(out, "%s - %s: no joined predictions in one arm\n",
                        a->name, b->name);
                continue;
            }
            fprintf(out, "%s - %s: %+.4f [%+.4f, %+.4f]  z = %.3f  "
                    "p = %.4g%s\n", a->name, b->name, t.diff, t.diff_lo,
                    t.diff_hi, t.z, t.p_value,
                    t.p_value < 0.05 ? "  (significant at 5 %)" : "");
        }
    }
}

/* ---- JSON ------------------------------------------------------------ */

static void
json_str(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char  c = (unsigned char) *s;

        if (c == '"' || c == '\\') {
            fprintf(out, "\\%c", c);
        } else if (c < 0x20) {
            fprintf(out, "\\u%04x", c);
        } else {
            fputc(c, out);
        }
    }
    fputc('"', out);
}

static void
json_rate(FILE *out, const char *name, const sk_ab_rate *x)
{
    fprintf(out, "\"%s\":{\"value\":%.6f,\"lo\":%.6f,\"hi\":%.6f,"
            "\"k\":%ld,\"n\":%ld}", name, x->p, x->lo, x->hi, x->k, x->n);
}

static void
print_json(const report *r, FILE *out)
{
    sk_two_prop  t;
    int          first = 1;

    fprintf(out, "{\"log\":{\"path\":");
    json_str(out, r->log_path);
    fprintf(out, ",\"entries\":%ld,\"skipped\":%ld,\"without_track\":%ld},"
            "\"events\":{\"path\":", r->log_entries, r->log_skipped,
            r->no_track);
    json_str(out, r->events_path);
    fprintf(out, ",\"rows\":%ld,\"play_skip\":%ld,\"listens\":%ld},"
            "\"join\":{\"before_s\":%g,\"after_s\":%g,\"predictions\":%zu,"
            "\"joined\":%zu},\"arms\":[", r->ev_rows, r->ev_playskip,
            r->listens, r->before_s, r->after_s, r->n_pred, r->joined);
    for (int i = 0; i < r->n_arms; i++) {
        const arm_stats  *a = &r->arms[i];

        fprintf(out, "%s{\"arm\":", i ? "," : "");
        json_str(out, a->name);
        fprintf(out, ",\"requests\":%ld,\"predicted\":%ld,\"joined\":%ld,"
                "\"unjoined\":%ld,\"cache_hits\":%ld,\"fallback\":%ld,"
                "\"confusion\":{\"play_play\":%ld,\"play_skip\":%ld,"
                "\"skip_play\":%ld,\"skip_skip\":%ld},", a->requests,
                a->predicted, a->joined, a->predicted - a->joined,
                a->cache_hits, a->fallback, a->counts.cm[1][1],
                a->counts.cm[1][0], a->counts.cm[0][1], a->counts.cm[0][0]);
        json_rate(out, "accuracy", &a->m.accuracy);
        fputc(',', out);
        json_rate(out, "always_play", &a->m.play_share);
        fputc(',', out);
        json_rate(out, "precision_play", &a->m.precision[1]);
        fputc(',', out);
        json_rate(out, "recall_play", &a->m.recall[1]);
        fputc(',', out);
        json_rate(out, "precision_skip", &a->m.precision[0]);
        fputc(',', out);
        json_rate(out, "recall_skip", &a->m.recall[0]);
        fputc('}', out);
    }
    fprintf(out, "],\"tests\":[");
    for (int i = 0; i < r->n_arms; i++) {
        for (int j = i + 1; j < r->n_arms; j++) {
            const arm_stats  *a = &r->arms[i], *b = &r->arms[j];

            if (sk_two_prop_test(a->m.accuracy.k, a->m.accuracy.n,
                                 b->m.accuracy.k, b->m.accuracy.n, SK_Z95,
                                 &t) != 0)
            {
                continue;
            }
            fprintf(out, "%s{\"a\":", first ? "" : ",");
            json_str(out, a->name);
            fprintf(out, ",\"b\":");
            json_str(out, b->name);
            fprintf(out, ",\"metric\":\"accuracy\",\"diff\":%.6f,\"lo\":%.6f,"
                    "\"hi\":%.6f,\"z\":%.6f,\"p_value\":%.6g}", t.diff,
                    t.diff_lo, t.diff_hi, t.z, t.p_value);
            first = 0;
        }
    }
    fprintf(out, "]}\n");
}

/* ---- HTML ------------------------------------------------------------ */

static void
html_str(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':  fputs("&lt;", out); break;
        case '>':  fputs("&gt;", out); break;
        case '&':  fputs("&amp;", out); break;
        case '"':  fputs("&quot;", out); break;
        default:   fputc(*s, out);
        }
    }
}

static const char *const colours[] = {
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948",
    "#b07aa1", "#ff9da7"
};

/* Grouped bars: one group per metric, one bar per arm, Wilson whiskers. */
static void
html_chart(const report *r, FILE *out)
{
    static const char *const names[] = {
        "accuracy", "always-play", "precision play", "recall play",
        "precision skip", "recall skip"
    };
    const int     n_metrics = 6, left = 50, top = 20, plot_h = 260;
    const int     group_w = 120, width = left + n_metrics * group_w + 20;
    const int     height = top + plot_h + 70;
    int           bar_w, n = r->n_arms > 0 ? r->n_arms : 1;
    double        y;

    bar_w = (group_w - 20) / n;
    if (bar_w > 36) {
        bar_w = 36;
    }
    fprintf(out, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" font-family=\"sans-serif\" font-size=\"11\" "
            "role=\"img\" aria-label=\"per-arm metrics with 95%% CI\">\n",
            width, height);
    for (int g = 0; g <= 5; g++) {
        y = top + plot_h - g * plot_h / 5.0;
        fprintf(out, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"#ddd\"/><text x=\"%d\" y=\"%.1f\" "
                "text-anchor=\"end\">%.1f</text>\n", left, width - 10, y, y,
                left - 6, y + 4, g / 5.0);
    }
    for (int k = 0; k < n_metrics; k++) {
        int  gx = left + k * group_w + 10;

        for (int i = 0; i < r->n_arms; i++) {
            const arm_stats   *a = &r->arms[i];
            const sk_ab_rate  *x;
            double             x0, yv, ylo, yhi;

            switch (k) {
            case 0:  x = &a->m.accuracy; break;
            case 1:  x = &a->m.play_share; break;
            case 2:  x = &a->m.precision[1]; break;
            case 3:  x = &a->m.recall[1]; break;
            case 4:  x = &a->m.precision[0]; break;
            default: x = &a->m.recall[0]; break;
            }
            if (x->n == 0) {
                continue;
            }
            x0 = gx + i * bar_w;
            yv = top + plot_h * (1.0 - x->p);
            ylo = top + plot_h * (1.0 - x->lo);
            yhi = top + plot_h * (1.0 - x->hi);
            fprintf(out, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%d\" "
                    "height=\"%.1f\" fill=\"%s\"><title>", x0, yv, bar_w - 2,
                    top + plot_h - yv, colours[i % 8]);
            html_str(out, a->name);
            fprintf(out, " %s: %.4f [%.4f, %.4f], %ld/%ld</title></rect>\n",
                    names[k], x->p, x->lo, x->hi, x->k, x->n);
            x0 += (bar_w - 2) / 2.0;
            fprintf(out, "<path d=\"M%.1f %.1fV%.1fM%.1f %.1fh8M%.1f %.1fh8\" "
                    "stroke=\"#222\" fill=\"none\"/>\n", x0, ylo, yhi,
                    x0 - 4, ylo, x0 - 4, yhi);
        }
        fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s"
                "</text>\n", gx + (group_w - 20) / 2, top + plot_h + 16,
                names[k]);
    }
    for (int i = 0; i < r->n_arms; i++) {
        int  lx = left + i * 140;

        fprintf(out, "<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" "
                "fill=\"%s\"/><text x=\"%d\" y=\"%d\">", lx,
                top + plot_h + 34, colours[i % 8], lx + 16, top + plot_h + 44);
        html_str(out, r->arms[i].name);
        fprintf(out, " (n=%ld)</text>\n", r->arms[i].joined);
    }
    fprintf(out, "</svg>\n");
}

static int
write_html(const report *r)
{
    FILE  *out;

    out = fopen(r->html_path, "w");
    if (out == NULL) {
        sk_errorf(CMD, "%s: %s", r->html_path, strerror(errno));
        return -1;
    }
    fprintf(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta "
            "charset=\"utf-8\"><title>ngx_skip live A/B report</title>\n"
            "<style>body{font-family:sans-serif;max-width:980px;margin:2em "
            "auto;color:#222}pre{background:#f6f6f6;padding:1em;"
            "overflow-x:auto;font-size:12px}</style></head><body>\n"
            "<h1>ngx_skip: live A/B accuracy</h1>\n<p>Each bar is a share "
            "with its Wilson 95&nbsp;%% confidence interval (whiskers). "
            "<em>always-play</em> is the accuracy of caching every track, "
            "the baseline a model has to beat.</p>\n");
    html_chart(r, out);
    fprintf(out, "<h2>Figures</h2>\n<pre>");
    {
        char    *buf = NULL;
        size_t   len = 0;
        FILE    *mem = open_memstream(&buf, &len);

        if (mem != NULL) {
            print_text(r, mem);
            fclose(mem);
            html_str(out, buf);
            free(buf);
        }
    }
    fprintf(out, "</pre>\n<p>Join: a prediction is answered by the earliest "
            "unused listen of the same (user, track) starting within its "
            "window; see <code>skipctl abreport --help</code>.</p>\n"
            "</body></html>\n");
    if (fclose(out) != 0) {
        sk_errorf(CMD, "%s: %s", r->html_path, strerror(errno));
        return -1;
    }
    return 0;
}

/* ---- main ------------------------------------------------------------ */

static int
parse_seconds(const char *opt, const char *s, double *out)
{
    char    *end;
    double   v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end != '\0' || errno != 0 || !(v >= 0.0)
        || v > 86400.0 * 365)
    {
        sk_errorf(CMD, "%s: expected seconds >= 0, got \"%s\"", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int
cmd_abreport(int argc, char **argv)
{
    enum { O_LOG = 256, O_EVENTS, O_HTML, O_JSON, O_BEFORE, O_AFTER,
           O_SOURCE, O_STRICT, O_QUIET, O_HELP };
    static const struct option  longopts[] = {
        { "log",           required_argument, NULL, O_LOG },
        { "events",        required_argument, NULL, O_EVENTS },
        { "html",          required_argument, NULL, O_HTML },
        { "json",          no_argument,       NULL, O_JSON },
        { "window-before", required_argument, NULL, O_BEFORE },
        { "window-after",  required_argument, NULL, O_AFTER },
        { "source",        required_argument, NULL, O_SOURCE },
        { "strict",        no_argument,       NULL, O_STRICT },
        { "quiet",         no_argument,       NULL, O_QUIET },
        { "help",          no_argument,       NULL, O_HELP },
        { NULL, 0, NULL, 0 }
    };
    report  *r;
    int      c, rc = SK_EXIT_OK;

    r = calloc(1, sizeof(*r));
    if (r == NULL) {
        sk_errorf(CMD, "out of memory");
        return SK_EXIT_FAIL;
    }
    r->before_s = 60.0;
    r->after_s = 900.0;

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_LOG:    r->log_path = optarg; break;
        case O_EVENTS: r->events_path = optarg; break;
        case O_HTML:   r->html_path = optarg; break;
        case O_JSON:   r->json = 1; break;
        case O_SOURCE: r->sources = optarg; break;
        case O_STRICT: r->strict = 1; break;
        case O_QUIET:  r->quiet = 1; break;
        case O_BEFORE:
            if (parse_seconds("--window-before", optarg, &r->before_s) != 0) {
                rc = SK_EXIT_USAGE;
                goto done;
            }
            break;
        case O_AFTER:
            if (parse_seconds("--window-after", optarg, &r->after_s) != 0) {
                rc = SK_EXIT_USAGE;
                goto done;
            }
            break;
        case 'h':
        case O_HELP:
            fputs(usage_text, stdout);
            goto done;
        default:
            sk_errorf(CMD, "unknown or incomplete option '%s' "
                      "(see skipctl abreport --help)", argv[optind - 1]);
            rc = SK_EXIT_USAGE;
            goto done;
        }
    }
    if (optind < argc) {
        sk_errorf(CMD, "unexpected argument '%s'", argv[optind]);
        rc = SK_EXIT_USAGE;
        goto done;
    }
    if (r->log_path == NULL || r->events_path == NULL) {
        sk_errorf(CMD, "--log and --events are required "
                  "(see skipctl abreport --help)");
        rc = SK_EXIT_USAGE;
        goto done;
    }

    if (read_log(r) != 0 || read_events(r) != 0) {
        rc = SK_EXIT_FAIL;
        goto done;
    }
    count(r);
    qsort(r->arms, (size_t) r->n_arms, sizeof(r->arms[0]), cmp_arm);

    if (r->json) {
        print_json(r, stdout);
    } else {
        print_text(r, stdout);
    }
    if (r->html_path != NULL && write_html(r) != 0) {
        rc = SK_EXIT_FAIL;
    }
    if (r->joined == 0) {
        sk_errorf(CMD, "no prediction could be joined with an outcome "
                  "(%zu predictions, %ld listens): check that the log and the "
                  "events share users, tracks and a clock", r->n_pred,
                  r->listens);
        rc = SK_EXIT_FAIL;
    }

done:
    free(r->pred);
    free(r->lis);
    free(r);
    return rc;
}
