/*
 * skipctl simulate: replay the held-out plays of a dataset through cache
 * policies of the same capacity and compare what they cost (DESIGN.md,
 * "What the cache decision really is"; docs/simulate.md).  The trace is
 * built by cachesim_replay.c, the policies live in cachesim*.c; this file
 * is the command line and the report.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../sim/admit.h"
#include "../sim/cachesim_report.h"
#include "../core/admit_sketch.h"
#include "cli.h"

#define CMD  "simulate"

static const char usage_text[] =
"usage: skipctl simulate --data DIR --model FILE.model|naive [options]\n"
"\n"
"Replay the held-out listening sessions of a dataset through cache\n"
"policies of the same size, and print what each one costs: hit ratio,\n"
"byte hit ratio, bytes fetched from the origin, bytes written into the\n"
"cache.  Also prints the prefetch economics of the skip model.\n"
"\n"
"WHAT IS REPLAYED\n"
"  The labelled plays of DIR's test sessions, from the trainer's own time\n"
"  split (the rows `skipctl train` and `skipctl eval` evaluate: sessions\n"
"  ranked by start, the last 20 % held out), in request-time order across\n"
"  all sessions.  Each play is one request for the whole track, an object\n"
"  of duration x --bitrate bytes; every request goes to ONE shared cache,\n"
"  which starts empty.  The model's decision for a request is its score\n"
"  for that row from the training window's records: what the module would\n"
"  compute from the feature store loaded from the training window.\n"
"\n"
"POLICIES (--policies, in the order given; default all)\n"
"  lru           admit every miss, evict the least recently used\n"
"                (proxy_cache's default)\n"
"  min-uses-2    store on the 2nd request within --inactive of the\n"
"                previous one (proxy_cache_min_uses 2, inactive=); LRU\n"
"  tinylfu       TinyLFU admission: a count-min sketch of recent request\n"
"                counts (halved every 10 x cache entries requests); a miss\n"
"                replaces the LRU victims only when more frequent; LRU\n"
"  skip          the model's decision with proxy_cache_bypass +\n"
"                proxy_no_cache $skip_bypass: a \"skip\" request neither\n"
"                reads nor fills the cache\n"
"  skip-nocache  proxy_no_cache $skip_bypass only (conf/nginx-skip.conf):\n"
"                a \"skip\" request is served from the cache when there,\n"
"                not stored otherwise\n"
"  skip+tinylfu  skip-nocache, and TinyLFU admission for \"play\" misses\n"
"  skip+min-uses-2  skip-nocache and proxy_cache_min_uses 2 (stock nginx:\n"
"                every request counts a use; \"play\" misses stored from\n"
"                the 2nd use within --inactive on)\n"
"  oracle-skip   skip with the true outcome instead of the model's\n"
"                decision: the value of a perfect skip predictor\n"
"  oracle-nocache  skip-nocache with the true outcome\n"
"  belady        offline ceiling (knows the future): bypass an object\n"
"                never requested again, else evict the objects requested\n"
"                farthest ahead, if later than the newcomer, else bypass.\n"
"                Exact with equal sizes; with track sizes it is the usual\n"
"                farthest-next-use heuristic (the optimum is NP-hard)\n"
"  learned       learned admission (docs/admission.md): a miss is stored\n"
"                when the --admit-model says it is worth it; LRU eviction\n"
"                (not in \"all\": added by --admit-model)\n"
"  lru is always simulated: every policy is also given relative to it.\n"
"\n"
"OPTIONS\n"
"  --data DIR           dataset directory (required)\n"
"  --model FILE         a .model file with its .json manifest, or \"naive\"\n"
"                       for the built-in genre rule (required)\n"
"  --cache-size LIST    comma-separated cache sizes: bytes with an optional\n"
"                       k, M, G or T suffix (powers of 1024, as nginx),\n"
"                       or a percentage of the unique bytes requested in\n"
"                       the replay (default 1%,5%,10%)\n"
"  --policies LIST      comma-separated policy names, or all (default)\n"
"  --bitrate KBPS       object size = duration x KBPS / 8 bytes: constant\n"
"                       bitrate, no container overhead (default 160)\n"
"  --inactive TIME      min-uses-2's window, nginx time syntax: 90, 90s,\n"
"                       10m, 1h, 1d, 500ms (default 1h)\n"
"  --threshold T        P(play) >= T means play (default: the manifest's)\n"
"  --limit N            replay only the first N requests\n"
"  --no-skip-times      do not read Skip times from sessions.jsonl; every\n"
"                       skipped track counts as listened to 60 %\n"
"  --slice SIZE         prefetch economics in slices of SIZE bytes, with an\n"
"                       optional k, m or g suffix as nginx's slice directive\n"
"                       (powers of 1024; default 1m as conf/nginx-skip.conf);\n"
"                       0: whole tracks\n"
"  --admit-model LIST   admission model(s) of skipctl admit-train for the\n"
"                       learned policy (added to --policies): one for all\n"
"                       cache sizes, or one per size in --cache-size order\n"
"  --admit-dump FILE    write the first size's admission decisions, one\n"
"                       line per cache request (user, track, slice, time,\n"
"                       hour, position, P(play), score, admit): what nginx\n"
"                       decides for the same requests (t/86-admit-parity.t)\n"
"  --cache-objects tracks|slices\n"
"                       what the caches store: whole tracks (default, one\n"
"                       request per listen) or --slice sized slices, as\n"
"                       nginx's slice directive: a full listen requests\n"
"                       every slice, a skipped one the slices up to the one\n"
"                       holding its skip point\n"
"  --waste-budget F     the prefetch waste allowed, as a share of\n"
"                       prefetch-always's waste, 0..1 (default 0.5): names\n"
"                       the skip_prefetch_threshold to configure\n"
"  --curve-step STEP    thresholds of the prefetch curve: 0, STEP, 2 STEP ..\n"
"                       1, the model's threshold and the chosen one\n"
"                       (default 0.05; 0.01..1)\n"
"  --json               print one JSON object instead of tables (the curve\n"
"                       is its prefetch_curve; docs/simulate.md)\n"
"  --quiet              no progress on stderr\n"
"  --help               this text\n"
"\n"
"OUTPUT\n"
"  One table per cache size, one row per policy:\n"
"    hit %        requests served from the cache\n"
"    byte hit %   bytes served from the cache\n"
"    origin GiB   bytes fetched from the origin (= requested - hit)\n"
"    written GiB  bytes stored into the cache: disk writes and churn\n"
"    x lru        the figure to its left divided by lru's in the same run\n"
"    bypass %     requests fetched from the origin and not stored\n"
"                 (admission refused, \"skip\", or larger than the cache)\n"
"  Then the prefetch economics, independent of any cache: bytes a player\n"
"  fetches when it prefetches the whole track on every play, on the\n"
"  model's \"play\", on the true plays (oracle), or never (stream only),\n"
"  and the bytes wasted because the listener skipped.  The listened share\n"
"  of a skipped track is (Skip time - Play time) / duration from\n"
"  sessions.jsonl; 60 % (the generator's mean, Uniform(0.2, 1)) when the\n"
"  Skip event has no usable time.  With --slice, a listener requests the\n"
"  slices up to the one holding its skip point (all of them for a full\n"
"  play), a prefetch warms every slice after the first, and wasted bytes\n"
"  are the prefetched slices never requested.\n"
"\n"
"  Last, the prefetch threshold curve, which sets skip_prefetch_threshold\n"
"  (prefetch a track when P(play) >= T), one row per T:\n"
"    plays pf %   full plays prefetched (a buffer ahead), of all full plays\n"
"    skips pf %   skipped plays prefetched, of all skipped plays\n"
"    coverage %   bytes of full plays after their first slice (the whole\n"
"                 track with --slice 0) that were prefetched, of all such\n"
"                 bytes: what a listener to the end finds already fetched\n"
"    wasted GiB   bytes prefetched and never requested\n"
"    % of always  that waste as a share of T = 0's (prefetch-always)\n"
"    fetched GiB  bytes fetched from the origin with no shared cache:\n"
"                 the slices requested plus the waste\n"
"  \"model\" marks the model's decision threshold (the row equals\n"
"  prefetch-model).  Coverage and waste can only fall as T rises.  The\n"
"  chosen threshold is the one with the greatest coverage whose waste is at\n"
"  most --waste-budget of always's (ties: the least waste), searched in\n"
"  steps of 0.001 (and among the rows) and printed as a row of its own;\n"
"  \"none\" when no threshold meets the budget.  Progress goes to stderr.\n"
"\n"
"EXIT STATUS\n"
"  0 success; 1 the data or the model could not be read, or nothing was\n"
"  held out; 2 usage error.\n"
"\n"
"EXAMPLES\n"
"  skipctl simulate --data data --model models/default.model \\\n"
"      --cache-size 1%,5%,10%,2G --policies lru,tinylfu,skip,belady\n"
"  skipctl simulate --data data --model models/default.model \\\n"
"      --policies lru --slice 1m --waste-budget 0.3 --curve-step 0.01\n";

typedef struct {
    const char      *data_dir, *model_path;
    sk_cache_size    sizes[SK_SIM_MAX_SIZES];
    int              n_sizes;
    sk_policy        pol[SK_N_POLICIES];
    int              n_pol;
    double           bitrate, threshold, inactive_s;
    double           waste_budget, curve_step;
    uint64_t         slice;
    size_t           limit;
    int              json, quiet, skip_times;
    int              cache_slices;      /* --cache-objects slices */
    const char      *admit_paths[SK_SIM_MAX_SIZES];  /* --admit-model */
    int              n_admit;
    const char      *admit_dump;
} sim_opts;

static double t_start;

static void
progress(const sim_opts *o, const char *fmt, ...)
{
    va_list ap;

    if (o->quiet) {
        return;
    }
    fprintf(stderr, "skipctl %s: [%6.2fs] ", CMD, sk_now() - t_start);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* ---- options ------------------------------------------------------------ */

/* One cache size: "123", "1.5G", "512k", "5%". */
static int
parse_size(const char *list, const char *s, size_t len, sk_cache_size *out)
{
    char    buf[32], *end;
    double  v, mult = 1;

    if (len == 0 || len >= sizeof(buf)) {
        sk_errorf(CMD, "--cache-size %s: %s size", list,
                  len ? "too long a" : "empty");
        return -1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    memcpy(out->text, buf, len + 1);
    errno = 0;
    v = strtod(buf, &end);
    if (end == buf || errno != 0 || !isfinite(v) || buf[0] == '-'
        || buf[0] == '+' || (end[0] != '\0' && end[1] != '\0'))
    {
        sk_errorf(CMD, "--cache-size %s: \"%s\" is not a size (bytes with an "
                  "optional k, M, G, T suffix, or a percentage like 5%%)",
                  list, buf);
        return -1;
    }
    out->percent = 0;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mult = 1024.0; break;
    case 'm': case 'M': mult = 1024.0 * 1024; break;
    case 'g': case 'G': mult = 1024.0 * 1024 * 1024; break;
    case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; break;
    case '%':
        if (!(v > 0 && v <= 100)) {
            sk_errorf(CMD, "--cache-size %s: \"%s\": a percentage must be in "
                      "(0, 100]", list, buf);
            return -1;
        }
        out->percent = v;
        return 0;
    default:
        sk_errorf(CMD, "--cache-size %s: \"%s\": unknown suffix '%c' (use k, "
                  "M, G, T or %%)", list, buf, *end);
        return -1;
    }
    v *= mult;
    if (!(v >= 1) || v > 9e18) {
        sk_errorf(CMD, "--cache-size %s: \"%s\": a size must be at least 1 "
                  "byte and at most 8 EiB", list, buf);
        return -1;
    }
    out->bytes = (uint64_t) v;
    return 0;
}

static int
parse_sizes(sim_opts *o, const char *list)
{
    const char *s = list, *comma;

    o->n_sizes = 0;
    for ( ;; ) {
        size_t len;

        comma = strchr(s, ',');
        len = comma ? (size_t) (comma - s) : strlen(s);
        if (o->n_sizes == SK_SIM_MAX_SIZES) {
            sk_errorf(CMD, "--cache-size %s: at most %d sizes", list,
                      SK_SIM_MAX_SIZES);
            return -1;
        }
        if (parse_size(list, s, len, &o->sizes[o->n_sizes]) != 0) {
            return -1;
        }
        o->n_sizes++;
        if (comma == NULL) {
            return 0;
        }
        s = comma + 1;
    }
}

static int
parse_policies(sim_opts *o, const char *list)
{
    const char *s = list, *comma;
    char        names[256];
    int         p, k, seen[SK_N_POLICIES] = { 0 };

    o->n_pol = 0;
    for ( ;; ) {
        size_t len;

        comma = strchr(s, ',');
        len = comma ? (size_t) (comma - s) : strlen(s);
        if (len == 3 && memcmp(s, "all", 3) == 0) {
            for (p = 0; p < SK_N_POLICIES; p++) {
                /* learned needs --admit-model, which adds it itself */
                if (!seen[p] && p != SK_POL_LEARNED) {
                    seen[p] = 1;
                    o->pol[o->n_pol++] = (sk_policy) p;
                }
            }
        } else if ((p = sk_policy_parse(s, len)) >= 0) {
            if (!seen[p]) {
                seen[p] = 1;
                o->pol[o->n_pol++] = (sk_policy) p;
            }
        } else {
            names[0] = '\0';
            for (k = 0; k < SK_N_POLICIES; k++) {
                snprintf(names + strlen(names), sizeof(names) - strlen(names),
                         "%s%s", k ? ", " : "", sk_policy_name((sk_policy) k));
            }
            sk_errorf(CMD, "--policies %s: unknown policy \"%.*s\" (choose "
                      "from %s, or all)", list, (int) len, s, names);
            return -1;
        }
        if (comma == NULL) {
            return 0;
        }
        s = comma + 1;
    }
}

/* --admit-model A[,B...]: one model for every size, or one per size. */
static int
parse_admit(sim_opts *o, char *list)
{
    char *s = list, *comma;

    o->n_admit = 0;
    for ( ;; ) {
        comma = strchr(s, ',');
        if (comma) {
            *comma = '\0';
        }
        if (*s == '\0' || o->n_admit == SK_SIM_MAX_SIZES) {
            sk_errorf(CMD, "--admit-model: %s", *s ? "too many models"
                                                  : "an empty model path");
            return -1;
        }
        o->admit_paths[o->n_admit++] = s;
        if (comma == NULL) {
            return 0;
        }
        s = comma + 1;
    }
}

/* nginx's time syntax: a number with ms, s, m, h or d (seconds if none). */
static int
parse_time(const char *s, double *seconds)
{
    char   *end;
    double  v;

    errno = 0;
    v = strtod(s, &end);
    if (end == s || errno != 0 || !isfinite(v) || s[0] == '-') {
        return -1;
    }
    if (strcmp(end, "ms") == 0) {
        v /= 1000;
    } else if (strcmp(end, "m") == 0) {
        v *= 60;
    } else if (strcmp(end, "h") == 0) {
        v *= 3600;
    } else if (strcmp(end, "d") == 0) {
        v *= 86400;
    } else if (strcmp(end, "s") != 0 && *end != '\0') {
        return -1;
    }
    if (!(v > 0) || v > 1e9) {
        return -1;
    }
    *seconds = v;
    return 0;
}


/* nginx's size syntax as the slice directive takes it: a whole number of
 * bytes with an optional k, m or g suffix (powers of 1024). */
static int
parse_slice(const char *s, uint64_t *out)
{
    char                *end;
    unsigned long long   v;
    uint64_t             mult = 1;

    if (s[0] < '0' || s[0] > '9') {
        return -1;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0) {
        return -1;
    }
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mult = 1024; end++; break;
    case 'm': case 'M': mult = 1024 * 1024; end++; break;
    case 'g': case 'G': mult = 1024 * 1024 * 1024; end++; break;
    default: return -1;
    }
    if (*end != '\0' || v > UINT64_MAX / mult / 1024) {
        return -1;
    }
    *out = v * mult;
    return 0;
}

/* ---- main --------------------------------------------------------------- */

/* Every policy at every size, the prefetch economics, the report. */
/*
 * The learned policy's decisions for cache size k into ct->admit: its
 * admission model, checked against the replay's geometry.
 */
static int
admit_decide(sim_opts *o, int k, const sk_prepared *p, const sk_replay *rp,
    sk_trace *ct)
{
    const char    *path = o->admit_paths[o->n_admit > 1 ? k : 0];
    sk_model       am;
    sk_admit_src   src;
    uint64_t       admitted;
    char           err[1024];
    int            rc = -1;

    if (sk_model_load(&am, path, err, sizeof(err)) != 0) {
        sk_errorf(CMD, "--admit-model: %s", err);
        return -1;
    }
    if (am.target != SK_TARGET_ADMIT) {
        sk_errorf(CMD, "--admit-model %s: not an admission model (train one "
                  "with skipctl admit-train)", path);
        goto done;
    }
    if (am.admit_slice_bytes != (double) (o->cache_slices ? o->slice : 0)
        || am.admit_bitrate_kbps != o->bitrate)
    {
        sk_errorf(CMD, "--admit-model %s: trained for %s at %g kbps, this "
                  "replay caches %s at %g kbps (--cache-objects, --slice, "
                  "--bitrate)", path,
                  am.admit_slice_bytes > 0 ? "slices" : "whole tracks",
                  am.admit_bitrate_kbps,
                  o->cache_slices ? "slices" : "whole tracks", o->bitrate);
        goto done;
    }
    memset(&src, 0, sizeof(src));
    src.p = p;
    src.rp = rp;
    src.t = ct;
    src.slice_bytes = am.admit_slice_bytes;
    src.bitrate_kbps = am.admit_bitrate_kbps;
    src.sketch_bytes = (size_t) am.admit_sketch_bytes;
    if (sk_admit_decide(&src, ct, &am, &admitted, err, sizeof(err)) != 0) {
        sk_errorf(CMD, "%s", err);
        goto done;
    }
    progress(o, "admission model %s@%s (%s): admits %.2f %% of requests "
             "if they miss", am.name, am.version, path,
             100.0 * admitted / (ct->n ? ct->n : 1));
    if (o->admit_dump && k == 0) {
        FILE *f = fopen(o->admit_dump, "w");

        if (f == NULL || sk_admit_dump(&src, &am, f, err, sizeof(err)) != 0
            || fclose(f) != 0)
        {
            sk_errorf(CMD, "--admit-dump %s: %s", o->admit_dump,
                      f ? err : "cannot open");
            goto done;
        }
    }
    rc = 0;

done:
    sk_model_free(&am);
    return rc;
}

static int
simulate(sim_opts *o, const sk_model *m, const sk_replay *rp,
    sk_trace *ct, const sk_prepared *p)
{
    sk_sim_report  *s = calloc(1, sizeof(*s));
    sk_sim_config   cfg;
    sk_pf_curve     curve;
    double          thresholds[110], extra[2];
    size_t          n_t, j;
    int             found;
    int             k, q, i, wanted;
    double          t0;
    char            hb[32];

    if (s == NULL) {
        sk_errorf(CMD, "out of memory");
        return SK_EXIT_FAIL;
    }
    s->data_dir = o->data_dir;
    s->model = m;
    s->replay = rp;
    s->bitrate_kbps = o->bitrate;
    s->inactive_s = o->inactive_s;
    s->sizes = o->sizes;
    s->n_sizes = o->n_sizes;
    s->policies = o->pol;
    s->n_policies = o->n_pol;
    s->cache_trace = ct;
    s->cache_slice = o->cache_slices ? o->slice : 0;
    s->unique_bytes = sk_trace_unique_bytes(ct);
    s->requested_bytes = sk_trace_requested_bytes(ct);
    sk_sim_config_default(&cfg);
    cfg.inactive_ms = (int64_t) (o->inactive_s * 1000 + 0.5);
    for (k = 0; k < o->n_sizes; k++) {
        sk_cache_size *z = &o->sizes[k];

        if (z->percent > 0) {
            double v = z->percent / 100.0 * (double) s->unique_bytes;

            z->bytes = v >= 1 ? (uint64_t) (v + 0.5) : 1;
        }
        cfg.capacity = z->bytes;
        t0 = sk_now();
        for (q = 0; q < SK_N_POLICIES; q++) {
            /* lru always: every policy is also shown relative to it */
            for (i = 0, wanted = q == SK_POL_LRU; i < o->n_pol; i++) {
                wanted |= o->pol[i] == (sk_policy) q;
            }
            if (wanted && q == SK_POL_LEARNED
                && admit_decide(o, k, p, rp, ct) != 0)
            {
                free(s);
                return SK_EXIT_FAIL;
            }
            if (wanted && sk_simulate(ct, (sk_policy) q, &cfg,
                                      &s->res[k][q]) != 0)
            {
                sk_errorf(CMD, "out of memory simulating %s",
                          sk_policy_name((sk_policy) q));
                free(s);
                return SK_EXIT_FAIL;
            }
        }
        progress(o, "cache %s (%s): %d polic%s in %.2f s", z->text,
                 sk_human_bytes(hb, sizeof(hb), z->bytes), o->n_pol,
                 o->n_pol == 1 ? "y" : "ies", sk_now() - t0);
    }
    for (q = 0; q < SK_N_PREFETCH; q++) {
        sk_prefetch_eval_sliced(&rp->trace, (sk_prefetch_policy) q, o->slice,
                                &s->pf[q]);
    }
    /* the printed curve: the grid, the model's threshold, and the one
     * for the budget, searched in finer steps among those and the grid */
    extra[0] = m->threshold;
    n_t = sk_pf_thresholds(o->curve_step, extra, 1, thresholds,
                           sizeof(thresholds) / sizeof(thresholds[0]));
    found = sk_pf_threshold_for_budget(&rp->trace, o->slice, o->waste_budget,
                                       thresholds, n_t, &extra[1]);
    if (found >= 0) {
        n_t = sk_pf_thresholds(o->curve_step, extra, found == 0 ? 2 : 1,
                               thresholds,
                               sizeof(thresholds) / sizeof(thresholds[0]));
    }
    if (found < 0 || sk_pf_curve_build(&curve, &rp->trace, o->slice,
                                       thresholds, n_t) != 0)
    {
        sk_errorf(CMD, "out of memory for the prefetch curve");
        free(s);
        return SK_EXIT_FAIL;
    }
    s->slice = o->slice;
    s->curve = &curve;
    s->waste_budget = o->waste_budget;
    s->chosen = -1;
    for (j = 0; found == 0 && j < n_t; j++) {
        if (thresholds[j] == extra[1]) {
            s->chosen = (long) j;
        }
    }
    if (o->json) {
        sk_sim_report_json(stdout, s);
    } else {
        sk_sim_report_text(stdout, s);
    }
    sk_pf_curve_free(&curve);
    free(s);
    return SK_EXIT_OK;
}

int
cmd_simulate(int argc, char **argv)
{
    enum { O_DATA = 256, O_MODEL, O_SIZE, O_POL, O_RATE, O_INACTIVE,
           O_THRESHOLD, O_LIMIT, O_NO_SKIP_TIMES, O_SLICE, O_BUDGET,
           O_STEP, O_JSON, O_QUIET, O_HELP, O_OBJECTS, O_ADMIT,
           O_ADMIT_DUMP };
    static const struct option longopts[] = {
        { "data",          required_argument, NULL, O_DATA },
        { "model",         required_argument, NULL, O_MODEL },
        { "cache-size",    required_argument, NULL, O_SIZE },
        { "policies",      required_argument, NULL, O_POL },
        { "bitrate",       required_argument, NULL, O_RATE },
        { "inactive",      required_argument, NULL, O_INACTIVE },
        { "threshold",     required_argument, NULL, O_THRESHOLD },
        { "limit",         required_argument, NULL, O_LIMIT },
        { "no-skip-times", no_argument,       NULL, O_NO_SKIP_TIMES },
        { "slice",         required_argument, NULL, O_SLICE },
        { "cache-objects", required_argument, NULL, O_OBJECTS },
        { "admit-model",   required_argument, NULL, O_ADMIT },
        { "admit-dump",    required_argument, NULL, O_ADMIT_DUMP },
        { "waste-budget",  required_argument, NULL, O_BUDGET },
        { "curve-step",    required_argument, NULL, O_STEP },
        { "json",          no_argument,       NULL, O_JSON },
        { "quiet",         no_argument,       NULL, O_QUIET },
        { "help",          no_argument,       NULL, O_HELP },
        { NULL, 0, NULL, 0 }
    };
    sim_opts        o;
    sk_train_opts   to;
    sk_prepared     p;
    sk_model        m;
    sk_replay       rp;
    sk_replay_opts  ro;
    sk_trace        sliced, *ct;
    char            err[1024];
    double          v;
    int             c, rc = SK_EXIT_FAIL, prepared = 0, built = 0;

    t_start = sk_now();
    memset(&o, 0, sizeof(o));
    o.bitrate = 160;
    o.inactive_s = 3600;
    o.threshold = NAN;
    o.skip_times = 1;
    o.slice = 1024 * 1024;
    o.waste_budget = 0.5;
    o.curve_step = 0.05;
    parse_sizes(&o, "1%,5%,10%");
    parse_policies(&o, "all");

    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case O_DATA:  o.data_dir = optarg; break;
        case O_MODEL: o.model_path = optarg; break;
        case O_JSON:  o.json = 1; break;
        case O_QUIET: o.quiet = 1; break;
        case O_NO_SKIP_TIMES: o.skip_times = 0; break;
        case O_ADMIT_DUMP: o.admit_dump = optarg; break;
        case O_ADMIT:
            if (parse_admit(&o, optarg) != 0) {
                return SK_EXIT_USAGE;
            }
            break;
        case O_OBJECTS:
            if (strcmp(optarg, "slices") == 0) {
                o.cache_slices = 1;
            } else if (strcmp(optarg, "tracks") == 0) {
                o.cache_slices = 0;
            } else {
                sk_errorf(CMD, "--cache-objects %s: expected tracks or "
                          "slices", optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case O_SIZE:
            if (parse_sizes(&o, optarg) != 0) {
                return SK_EXIT_USAGE;
            }
            break;
        case O_POL:
            if (parse_policies(&o, optarg) != 0) {
                return SK_EXIT_USAGE;
            }
            break;
        case O_RATE:
            if (sk_opt_number(CMD, "--bitrate", optarg,
                              1, 100000, &o.bitrate) != 0)
            {
                return SK_EXIT_USAGE;
            }
            break;
        case O_INACTIVE:
            if (parse_time(optarg, &o.inactive_s) != 0) {
                sk_errorf(CMD, "--inactive %s: expected a positive time like "
                          "90, 90s, 10m, 1h, 1d or 500ms", optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case O_SLICE:
            if (parse_slice(optarg, &o.slice) != 0) {
                sk_errorf(CMD, "--slice %s: expected a size in bytes with an "
                          "optional k, m or g suffix, like 1m or 512k (0: "
                          "whole tracks)", optarg);
                return SK_EXIT_USAGE;
            }
            break;
        case O_BUDGET:
            if (sk_opt_number(CMD, "--waste-budget", optarg,
                              0, 1, &o.waste_budget) != 0)
            {
                return SK_EXIT_USAGE;
            }
            break;
        case O_STEP:
            if (sk_opt_number(CMD, "--curve-step", optarg,
                              0.01, 1, &o.curve_step) != 0)
            {
                return SK_EXIT_USAGE;
            }
            break;
        case O_THRESHOLD:
            if (sk_opt_number(CMD, "--threshold", optarg,
                              0, 1, &o.threshold) != 0)
            {
                return SK_EXIT_USAGE;
            }
            break;
        case O_LIMIT:
            if (sk_opt_number(CMD, "--limit", optarg, 1, 4e9, &v) != 0) {
                return SK_EXIT_USAGE;
            }
            if (v != floor(v)) {
                sk_errorf(CMD, "--limit %s: expected a whole number", optarg);
                return SK_EXIT_USAGE;
            }
            o.limit = (size_t) v;
            break;
        case 'h':
        case O_HELP:
            fputs(usage_text, stdout);
            return SK_EXIT_OK;
        default:
            sk_errorf(CMD, "unknown or incomplete option '%s' (see skipctl "
                      "simulate --help)", argv[optind - 1]);
            return SK_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        sk_errorf(CMD, "unexpected argument '%s' (see skipctl simulate "
                  "--help)", argv[optind]);
        return SK_EXIT_USAGE;
    }
    for (c = 0, v = 0; c < o.n_pol; c++) {
        v += o.pol[c] == SK_POL_LEARNED;
    }
    if (o.n_admit > 0 && v == 0) {
        o.pol[o.n_pol++] = SK_POL_LEARNED;      /* asked for by the model */
    } else if (o.n_admit == 0 && v > 0) {
        sk_errorf(CMD, "--policies learned needs --admit-model FILE");
        return SK_EXIT_USAGE;
    }
    if (o.n_admit > 1 && o.n_admit != o.n_sizes) {
        sk_errorf(CMD, "--admit-model: %d models for %d cache sizes (give "
                  "one, or one per size)", o.n_admit, o.n_sizes);
        return SK_EXIT_USAGE;
    }
    if (o.admit_dump && o.n_admit == 0) {
        sk_errorf(CMD, "--admit-dump needs --admit-model FILE");
        return SK_EXIT_USAGE;
    }
    if (o.cache_slices && o.slice == 0) {
        sk_errorf(CMD, "--cache-objects slices needs a slice size: --slice "
                  "0 means whole tracks");
        return SK_EXIT_USAGE;
    }
    if (o.data_dir == NULL || o.model_path == NULL) {
        sk_errorf(CMD, "%s is required (see skipctl simulate --help)",
                  o.data_dir == NULL ? "--data DIR" : "--model FILE");
        return SK_EXIT_USAGE;
    }

    if (strcmp(o.model_path, "naive") == 0) {
        sk_model_naive(&m);
    } else if (sk_model_load(&m, o.model_path, err, sizeof(err)) != 0) {
        sk_errorf(CMD, "--model: %s", err);
        return SK_EXIT_FAIL;
    }
    if (!isnan(o.threshold)) {
        m.threshold = o.threshold;
    }

    /* Exactly the rows `skipctl train` and `eval` evaluate. */
    sk_train_opts_default(&to);
    to.cmd = "simulate";
    to.data_dir = o.data_dir;
    to.verbose = !o.quiet;
    prepared = 1;                       /* sk_prepared_free even on failure */
    if (sk_prepare(&p, &to, err, sizeof(err)) != 0) {
        sk_errorf(CMD, "%s", err);
        goto done;
    }

    memset(&ro, 0, sizeof(ro));
    ro.bitrate_kbps = o.bitrate;
    ro.limit = o.limit;
    ro.skip_times = o.skip_times;
    built = 1;
    if (sk_replay_build(&rp, &p, &m, &ro, err, sizeof(err)) != 0) {
        sk_errorf(CMD, "%s", err);
        goto done;
    }
    progress(&o, "%zu requests for %u tracks scored by %s@%s", rp.trace.n,
             rp.trace.n_objects, m.name, m.version);
    if (rp.no_duration > 0) {
        sk_errorf(CMD, "warning: %ld tracks have no duration: sized as the "
                  "median track (%lld ms)", rp.no_duration,
                  (long long) rp.median_ms);
    }
    memset(&sliced, 0, sizeof(sliced));
    ct = &rp.trace;
    if (o.cache_slices) {
        if (sk_trace_slices(&rp.trace, o.slice, &sliced) != 0) {
            sk_errorf(CMD, "out of memory for the slice trace");
            goto done;
        }
        ct = &sliced;
        progress(&o, "cached in slices: %zu requests for %u slices",
                 sliced.n, sliced.n_objects);
    }
    rc = simulate(&o, &m, &rp, ct, &p);
    sk_trace_free(&sliced);
    progress(&o, "done");

done:
    if (built) {
        sk_replay_free(&rp);
    }
    if (prepared) {
        sk_prepared_free(&p);
    }
    sk_model_free(&m);
    return rc;
}
