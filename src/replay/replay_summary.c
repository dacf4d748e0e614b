/*
 * skipctl replay's summary: status and header-value counts, latency
 * percentiles, events, and with --player the per-group tables of
 * replay_report.c; text, or one JSON object with --json.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay_report.h"
#include "replay_run.h"

static int
cmp_double(const void *a, const void *b)
{
    double  x = *(const double *) a, y = *(const double *) b;

    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v. */
static double
percentile(const double *v, size_t n, double q)
{
    size_t  k;

    if (n == 0) {
        return 0.0;
    }
    k = (size_t) ceil(q * (double) n);
    return v[k > 0 ? k - 1 : 0];
}


static long
header_value_count(const tally *t, int h, const char *value)
{
    for (int i = 0; i < MAX_VALUES && t->hv[h][i].n; i++) {
        if (strcasecmp(t->hv[h][i].value, value) == 0) {
            return t->hv[h][i].n;
        }
    }
    return 0;
}

static long
header_total(const tally *t, int h)
{
    long  n = t->hv_other[h];

    for (int i = 0; i < MAX_VALUES && t->hv[h][i].n; i++) {
        n += t->hv[h][i].n;
    }
    return n;
}

void
sk_replay_print_summary(const replay_t *rp, tally *t, double secs,
    const sk_player_run *run)
{
    FILE    *out = stdout;
    long     n = 0, hits, with_cache;
    double   p50, p90, p99, max;
    int      first;

    for (int i = 0; i < 600; i++) {
        n += t->status[i];
    }
    if (t->n_lat > 1) {      /* qsort(NULL, 0) is undefined */
        qsort(t->lat_ms, t->n_lat, sizeof(double), cmp_double);
    }
    p50 = percentile(t->lat_ms, t->n_lat, 0.50);
    p90 = percentile(t->lat_ms, t->n_lat, 0.90);
    p99 = percentile(t->lat_ms, t->n_lat, 0.99);
    max = t->n_lat ? t->lat_ms[t->n_lat - 1] : 0.0;
    hits = header_value_count(t, 0, "HIT");
    with_cache = header_total(t, 0);

    if (rp->json) {
        fprintf(out, "{\"requests\":%ld,\"sessions\":%zu,\"seconds\":%.3f,"
                "\"concurrency\":%d,\"status\":{", n, rp->n_sessions, secs,
                rp->concurrency);
        first = 1;
        for (int i = 0; i < 600; i++) {
            if (t->status[i]) {
                fprintf(out, "%s\"%d\":%ld", first ? "" : ",", i, t->status[i]);
                first = 0;
            }
        }
        fprintf(out, "},\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,"
                "\"p99\":%.3f,\"max\":%.3f},\"headers\":{", p50, p90, p99, max);
        for (int h = 0; h < MAX_HEADERS && sk_replay_counted_headers[h]; h++) {
            fprintf(out, "%s\"%s\":{", h ? "," : "", sk_replay_counted_headers[h]);
            for (int i = 0; i < MAX_VALUES && t->hv[h][i].n; i++) {
                /* header values are [A-Za-z0-9_.-] in practice; keep the
                 * JSON valid whatever they are */
                fputc(i ? ',' : '"', out);
                if (i) {
                    fputc('"', out);
                }
                for (const char *c = t->hv[h][i].value; *c; c++) {
                    if (*c == '"' || *c == '\\' || (unsigned char) *c < 0x20) {
                        fputc('_', out);
                    } else {
                        fputc(*c, out);
                    }
                }
                fprintf(out, "\":%ld", t->hv[h][i].n);
            }
            fputc('}', out);
        }
        fprintf(out, "},\"cache_hit_ratio\":");
        if (with_cache > 0) {
            fprintf(out, "%.4f", (double) hits / with_cache);
        } else {
            fprintf(out, "null");
        }
        fprintf(out, ",\"events\":{\"posted\":%ld,\"accepted\":%ld,"
                "\"rejected\":%ld,\"lost\":%ld,\"retried\":%ld,"
                "\"batches\":%ld}", t->ev_accepted + t->ev_rejected
                + t->ev_lost, t->ev_accepted, t->ev_rejected, t->ev_lost,
                t->ev_retried, t->batches);
        if (run != NULL) {
            fputs(",\"player\":", out);
            sk_player_report(out, run, 1);
        }
        fputs("}\n", out);
        return;
    }

    fprintf(out, "requests         %ld in %.1f s (%.0f req/s), %zu sessions, "
            "%d connections\n", n, secs, secs > 0 ? n / secs : 0.0,
            rp->n_sessions, rp->concurrency);
    fprintf(out, "status          ");
    for (int i = 0; i < 600; i++) {
        if (t->status[i]) {
            if (i == 0) {
                fprintf(out, " no-answer=%ld", t->status[i]);
            } else {
                fprintf(out, " %d=%ld", i, t->status[i]);
            }
        }
    }
    fputc('\n', out);
    fprintf(out, "latency_ms       p50=%.3f p90=%.3f p99=%.3f max=%.3f\n",
            p50, p90, p99, max);
    for (int h = 0; h < MAX_HEADERS && sk_replay_counted_headers[h]; h++) {
        fprintf(out, "%-16s", sk_replay_counted_headers[h]);
        if (header_total(t, h) == 0) {
            fprintf(out, " (absent)");
        }
        for (int i = 0; i < MAX_VALUES && t->hv[h][i].n; i++) {
            fprintf(out, " %s=%ld", t->hv[h][i].value, t->hv[h][i].n);
        }
        if (t->hv_other[h]) {
            fprintf(out, " other=%ld", t->hv_other[h]);
        }
        fputc('\n', out);
    }
    if (with_cache > 0) {
        fprintf(out, "cache_hit_ratio  %.4f (%ld of %ld)\n",
                (double) hits / with_cache, hits, with_cache);
    } else {
        fprintf(out, "cache_hit_ratio  - (no X-Cache-Status header)\n");
    }
    if (rp->events_path == NULL) {
        fprintf(out, "events           not posted (--events-url none)\n");
    } else {
        fprintf(out, "events           posted=%ld accepted=%ld rejected=%ld "
                "lost=%ld retried=%ld batches=%ld (statuses",
                t->ev_accepted + t->ev_rejected + t->ev_lost, t->ev_accepted,
                t->ev_rejected, t->ev_lost, t->ev_retried, t->batches);
        for (int i = 0; i < 600; i++) {
            if (t->ev_status[i]) {
                fprintf(out, " %d=%ld", i, t->ev_status[i]);
            }
        }
        fprintf(out, ")\n");
    }
    if (run != NULL) {
        sk_player_report(out, run, 0);
    }
}
