/* The report of skipctl simulate, as tables or JSON (cachesim_report.h). */
#include <math.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "cachesim_report.h"
#include "../core/timeparse.h"

#define GIB  (1024.0 * 1024.0 * 1024.0)

/* a / b, or NAN (printed "-", JSON null) when b is 0. */
static double
ratio(double a, double b)
{
    return b > 0 ? a / b : NAN;
}

const char *
sk_human_bytes(char *buf, size_t size, uint64_t bytes)
{
    static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
    double                   v = (double) bytes;
    int                      u = 0;

    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u == 0) {
        snprintf(buf, size, "%llu B", (unsigned long long) bytes);
    } else {
        snprintf(buf, size, "%.2f %s", v, unit[u]);
    }
    return buf;
}

/* ---- JSON ---------------------------------------------------------------- */

static void
add_num(cJSON *o, const char *k, double v)
{
    if (isfinite(v)) {
        cJSON_AddNumberToObject(o, k, v);
    } else {
        cJSON_AddNullToObject(o, k);
    }
}

static cJSON *
policy_json(sk_policy p, const sk_sim_result *r, const sk_sim_result *lru)
{
    cJSON  *j = cJSON_CreateObject();
    double  hr = ratio(r->hits, r->requests);
    double  bhr = ratio(r->hit_bytes, r->bytes);

    cJSON_AddStringToObject(j, "policy", sk_policy_name(p));
    add_num(j, "requests", r->requests);
    add_num(j, "hits", r->hits);
    add_num(j, "hit_ratio", hr);
    add_num(j, "bytes", r->bytes);
    add_num(j, "hit_bytes", r->hit_bytes);
    add_num(j, "byte_hit_ratio", bhr);
    add_num(j, "origin_bytes", r->origin_bytes);
    add_num(j, "written_bytes", r->written_bytes);
    add_num(j, "admissions", r->admissions);
    add_num(j, "evictions", r->evictions);
    add_num(j, "not_stored", r->not_stored);
    add_num(j, "bypass_ratio", ratio(r->not_stored, r->requests));
    add_num(j, "skip_decisions", r->skip_decisions);
    add_num(j, "too_large", r->too_large);
    add_num(j, "hit_ratio_vs_lru",
            ratio(hr, ratio(lru->hits, lru->requests)));
    add_num(j, "byte_hit_ratio_vs_lru",
            ratio(bhr, ratio(lru->hit_bytes, lru->bytes)));
    add_num(j, "origin_bytes_vs_lru",
            ratio(r->origin_bytes, lru->origin_bytes));
    add_num(j, "written_bytes_vs_lru",
            ratio(r->written_bytes, lru->written_bytes));
    return j;
}

static cJSON *
point_json(const sk_pf_point *p, const sk_sim_report *s)
{
    cJSON *e = cJSON_CreateObject();

    add_num(e, "threshold", p->threshold);
    cJSON_AddBoolToObject(e, "model_threshold",
                          p->threshold == s->model->threshold);
    add_num(e, "requests_prefetched", p->prefetched);
    add_num(e, "plays_prefetched", p->plays_prefetched);
    add_num(e, "skips_prefetched", p->skips_prefetched);
    add_num(e, "plays_prefetched_share",
            ratio(p->plays_prefetched, s->curve->plays));
    add_num(e, "skips_prefetched_share",
            ratio(p->skips_prefetched, s->curve->skips));
    add_num(e, "covered_bytes", p->covered_bytes);
    add_num(e, "coverage", p->coverage);
    add_num(e, "wasted_bytes", p->wasted_bytes);
    add_num(e, "waste_vs_always", p->waste_share);
    add_num(e, "fetched_bytes", p->fetched_bytes);
    return e;
}

static cJSON *
curve_json(const sk_sim_report *s)
{
    const sk_pf_curve *c = s->curve;
    cJSON             *j = cJSON_CreateObject(), *a;
    size_t             k;

    add_num(j, "slice_bytes", c->slice);
    add_num(j, "play_prefetchable_bytes", c->play_prefetchable_bytes);
    add_num(j, "always_wasted_bytes", c->always_wasted_bytes);
    add_num(j, "waste_budget", s->waste_budget);
    a = cJSON_AddArrayToObject(j, "points");
    for (k = 0; k < c->n; k++) {
        cJSON_AddItemToArray(a, point_json(&c->pt[k], s));
    }
    if (s->chosen >= 0) {
        cJSON_AddItemToObject(j, "chosen", point_json(&c->pt[s->chosen], s));
    } else {
        cJSON_AddNullToObject(j, "chosen");
    }
    return j;
}

static cJSON *
prefetch_json(sk_prefetch_policy p, const sk_prefetch_result *f)
{
    cJSON *e = cJSON_CreateObject();

    cJSON_AddStringToObject(e, "policy", sk_prefetch_name(p));
    add_num(e, "fetched_bytes", f->fetched_bytes);
    add_num(e, "listened_bytes", f->listened_bytes);
    add_num(e, "requested_bytes", f->requested_bytes);
    add_num(e, "wasted_bytes", f->wasted_bytes);
    add_num(e, "wasted_share", ratio(f->wasted_bytes, f->fetched_bytes));
    add_num(e, "plays_prefetched", f->plays_prefetched);
    add_num(e, "skips_prefetched", f->skips_prefetched);
    add_num(e, "plays_prefetched_share",
            ratio(f->plays_prefetched, f->plays));
    add_num(e, "skips_prefetched_share",
            ratio(f->skips_prefetched, f->skips));
    return e;
}

void
sk_sim_report_json(FILE *out, const sk_sim_report *s)
{
    const sk_replay *rp = s->replay;
    cJSON           *r = cJSON_CreateObject(), *a, *j, *pl;
    char            *txt;
    int              k, q;

    cJSON_AddStringToObject(r, "data", s->data_dir);
    j = cJSON_AddObjectToObject(r, "model");
    cJSON_AddStringToObject(j, "name", s->model->name);
    cJSON_AddStringToObject(j, "version", s->model->version);
    add_num(j, "threshold", s->model->threshold);
    add_num(r, "bitrate_kbps", s->bitrate_kbps);
    add_num(r, "inactive_s", s->inactive_s);
    add_num(r, "test_rows", rp->test_rows);
    add_num(r, "requests", rp->trace.n);
    add_num(r, "objects", rp->trace.n_objects);
    add_num(r, "first_request_ms", rp->first_ms);
    add_num(r, "last_request_ms", rp->last_ms);
    cJSON_AddStringToObject(r, "cache_objects",
                            s->cache_slice ? "slices" : "tracks");
    add_num(r, "cache_slice_bytes", s->cache_slice);
    add_num(r, "cache_requests", s->cache_trace->n);
    add_num(r, "cache_object_count", s->cache_trace->n_objects);
    add_num(r, "unique_bytes", s->unique_bytes);
    add_num(r, "requested_bytes", s->requested_bytes);
    add_num(r, "objects_without_duration", rp->no_duration);
    add_num(r, "plays", rp->plays);
    add_num(r, "skips", rp->skips);
    add_num(r, "predicted_skips", rp->predicted_skips);
    add_num(r, "model_accuracy", ratio(rp->correct, rp->trace.n));

    a = cJSON_AddArrayToObject(r, "sizes");
    for (k = 0; k < s->n_sizes; k++) {
        j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "cache_size", s->sizes[k].text);
        add_num(j, "capacity_bytes", s->sizes[k].bytes);
        add_num(j, "capacity_share",
                ratio(s->sizes[k].bytes, s->unique_bytes));
        pl = cJSON_AddArrayToObject(j, "policies");
        for (q = 0; q < s->n_policies; q++) {
            cJSON_AddItemToArray(pl, policy_json(s->policies[q],
                                     &s->res[k][s->policies[q]],
                                     &s->res[k][SK_POL_LRU]));
        }
        cJSON_AddItemToArray(a, j);
    }

    j = cJSON_AddObjectToObject(r, "prefetch");
    add_num(j, "slice_bytes", s->slice);
    add_num(j, "listened_from_events", rp->listened_from_events);
    add_num(j, "listened_assumed", rp->listened_assumed);
    add_num(j, "assumed_listened_share", SK_ASSUMED_LISTENED);
    pl = cJSON_AddArrayToObject(j, "policies");
    for (q = 0; q < SK_N_PREFETCH; q++) {
        cJSON_AddItemToArray(pl, prefetch_json((sk_prefetch_policy) q,
                                               &s->pf[q]));
    }
    cJSON_AddItemToObject(r, "prefetch_curve", curve_json(s));

    txt = cJSON_Print(r);
    if (txt) {
        fprintf(out, "%s\n", txt);
        free(txt);
    }
    cJSON_Delete(r);
}

/* ---- text ------------------------------------------------------------------ */

/* A number with format f, or "-" when undefined. */
static const char *
num(char *buf, size_t size, const char *f, double v)
{
    if (!isfinite(v)) {
        snprintf(buf, size, "-");
    } else {
        snprintf(buf, size, f, v);
    }
    return buf;
}

static void
size_table(FILE *out, const sk_sim_report *s, int k)
{
    const sk_sim_result *lru = &s->res[k][SK_POL_LRU];
    double               lhr = ratio(lru->hits, lru->requests);
    double               lbhr = ratio(lru->hit_bytes, lru->bytes);
    char                 b[6][32];
    int                  q;

    fprintf(out, "\ncache %s = %s (%.2f %% of the unique bytes)\n",
            s->sizes[k].text, sk_human_bytes(b[0], 32, s->sizes[k].bytes),
            100 * ratio(s->sizes[k].bytes, s->unique_bytes));
    fprintf(out, "%-15s %7s %6s %10s %6s %11s %11s %6s %8s\n", "policy",
            "hit %", "x lru", "byte hit %", "x lru", "origin GiB",
            "written GiB", "x lru", "bypass %");
    for (q = 0; q < s->n_policies; q++) {
        const sk_sim_result *r = &s->res[k][s->policies[q]];
        double               hr = ratio(r->hits, r->requests);
        double               bhr = ratio(r->hit_bytes, r->bytes);

        fprintf(out, "%-15s %7s %6s %10s %6s %11.2f %11.2f %6s %8s\n",
                sk_policy_name(s->policies[q]),
                num(b[0], 32, "%.2f", 100 * hr),
                num(b[1], 32, "%.3f", ratio(hr, lhr)),
                num(b[2], 32, "%.2f", 100 * bhr),
                num(b[3], 32, "%.3f", ratio(bhr, lbhr)),
                r->origin_bytes / GIB, r->written_bytes / GIB,
                num(b[4], 32, "%.3f", ratio(r->written_bytes,
                                            lru->written_bytes)),
                num(b[5], 32, "%.2f", 100 * ratio(r->not_stored,
                                                  r->requests)));
    }
}

/* "1.00 MiB slices" or "whole tracks". */
static const char *
slices(char *buf, size_t size, uint64_t slice)
{
    char h[32];

    if (slice == 0) {
        snprintf(buf, size, "whole tracks");
    } else {
        snprintf(buf, size, "%s slices", sk_human_bytes(h, sizeof(h), slice));
    }
    return buf;
}

/* A threshold as given (0.05, 0.5, 0.4375), for the table and the
 * directive: up to 6 significant digits, no trailing zeros. */
static const char *
threshold_text(char *buf, size_t size, double t)
{
    snprintf(buf, size, "%.6g", t);
    return buf;
}

static void
curve_table(FILE *out, const sk_sim_report *s)
{
    const sk_pf_curve *c = s->curve;
    char               b[4][32];
    size_t             k;

    fprintf(out, "\nprefetch threshold curve: prefetch when P(play) >= T, "
            "%s\n", slices(b[0], 32, c->slice));
    fprintf(out, "  coverage: share of the full plays' bytes%s that were "
            "prefetched\n  waste: bytes prefetched and never requested; "
            "%% of always: of T = 0's waste\n",
            c->slice ? " after their first slice" : "");
    fprintf(out, "%-8s %11s %11s %11s %11s %12s %12s\n", "T",
            "plays pf %", "skips pf %", "coverage %", "wasted GiB",
            "% of always", "fetched GiB");
    for (k = 0; k < c->n; k++) {
        const sk_pf_point *p = &c->pt[k];

        fprintf(out, "%-8s %11s %11s %11s %11.2f %12.2f %12.2f%s%s\n",
                threshold_text(b[0], 32, p->threshold),
                num(b[1], 32, "%.2f", 100 * ratio(p->plays_prefetched,
                                                  c->plays)),
                num(b[2], 32, "%.2f", 100 * ratio(p->skips_prefetched,
                                                  c->skips)),
                num(b[3], 32, "%.2f", 100 * p->coverage),
                p->wasted_bytes / GIB, 100 * p->waste_share,
                p->fetched_bytes / GIB,
                p->threshold == s->model->threshold ? "  model" : "",
                (long) k == s->chosen ? "  <- chosen" : "");
    }
    if (s->chosen >= 0) {
        const sk_pf_point *p = &c->pt[s->chosen];

        fprintf(out, "chosen threshold: %s (coverage %s %%, waste %.2f %% "
                "of always) for a waste budget of %g %% of always\n",
                threshold_text(b[0], 32, p->threshold),
                num(b[1], 32, "%.2f", 100 * p->coverage),
                100 * p->waste_share, 100 * s->waste_budget);
        fprintf(out, "  nginx: skip_prefetch_threshold %s;\n", b[0]);
    } else {
        fprintf(out, "chosen threshold: none: no threshold (0 .. 1 in steps "
                "of %g) wastes at most %g %% of always\n", SK_PF_FINE_STEP,
                100 * s->waste_budget);
    }
}

static void
prefetch_table(FILE *out, const sk_sim_report *s)
{
    const sk_replay *rp = s->replay;
    char             b[3][32];
    int              q;

    fprintf(out, "\nprefetch, independent of the cache, %s (listened share "
            "of %ld skips from Skip times, %ld assumed %.0f %%)\n",
            slices(b[0], sizeof(b[0]), s->slice),
            rp->listened_from_events, rp->listened_assumed,
            100 * SK_ASSUMED_LISTENED);
    fprintf(out, "%-16s %12s %11s %9s %17s %17s\n", "policy", "fetched GiB",
            "wasted GiB", "wasted %", "plays prefetched", "skips prefetched");
    for (q = 0; q < SK_N_PREFETCH; q++) {
        const sk_prefetch_result *f = &s->pf[q];

        fprintf(out, "%-16s %12.2f %11.2f %9s %15s %% %15s %%\n",
                sk_prefetch_name((sk_prefetch_policy) q),
                f->fetched_bytes / GIB, f->wasted_bytes / GIB,
                num(b[0], 32, "%.2f", 100 * ratio(f->wasted_bytes,
                                                  f->fetched_bytes)),
                num(b[1], 32, "%.2f", 100 * ratio(f->plays_prefetched,
                                                  f->plays)),
                num(b[2], 32, "%.2f", 100 * ratio(f->skips_prefetched,
                                                  f->skips)));
    }
}

void
sk_sim_report_text(FILE *out, const sk_sim_report *s)
{
    const sk_replay *rp = s->replay;
    const sk_trace  *t = &rp->trace;
    char             t0[SK_TIME_BUF], t1[SK_TIME_BUF];
    int              k;

    /* The dataset's clock is +02:00 (data-format.md); minutes suffice. */
    sk_time_format(rp->first_ms, 120, t0);
    sk_time_format(rp->last_ms, 120, t1);
    fprintf(out, "model %s@%s on %s\n", s->model->name, s->model->version,
            s->data_dir);
    fprintf(out, "replayed %zu requests of %zu held-out plays (time split), "
            "%.16s .. %.16s (+02:00)\n", t->n, rp->test_rows, t0, t1);
    if (s->cache_slice) {
        fprintf(out, "  %u tracks; cached in slices of %s: %zu requests for "
                "%u slices, %.2f GiB unique, %.2f GiB requested at %g kbps\n",
                t->n_objects, sk_human_bytes(t0, sizeof(t0), s->cache_slice),
                s->cache_trace->n, s->cache_trace->n_objects,
                s->unique_bytes / GIB, s->requested_bytes / GIB,
                s->bitrate_kbps);
    } else {
        fprintf(out, "  %u tracks, %.2f GiB unique, %.2f GiB requested at %g "
                "kbps\n", t->n_objects, s->unique_bytes / GIB,
                s->requested_bytes / GIB, s->bitrate_kbps);
    }
    fprintf(out, "  skipped %.2f %%; model decided skip %.2f %%, accuracy "
            "%.4f (threshold %g)\n", 100 * ratio(rp->skips, t->n),
            100 * ratio(rp->predicted_skips, t->n), ratio(rp->correct, t->n),
            s->model->threshold);
    for (k = 0; k < s->n_sizes; k++) {
        size_table(out, s, k);
    }
    prefetch_table(out, s);
    curve_table(out, s);
}
