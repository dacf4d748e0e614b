/*
 * ngx_skip metrics: the skip_metrics handler, which serves the counters of
 * the zone (ngx_skip_prom.c) in the Prometheus text exposition format,
 * version 0.0.4: HELP and TYPE lines, label values escaped, per-worker
 * shards summed at scrape time.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_skip_prom.h"
#include "ngx_skip_prom_int.h"


static ngx_int_t ngx_http_skip_metrics_not_allowed(ngx_http_request_t *r);
static size_t ngx_http_skip_metrics_size(ngx_http_skip_metrics_ctx_t *ctx);
static u_char *ngx_http_skip_metrics_render(u_char *p, u_char *end,
    ngx_http_skip_metrics_ctx_t *ctx);
static u_char *ngx_http_skip_metrics_render_prefetch(u_char *p, u_char *end,
    ngx_http_skip_metrics_ctx_t *ctx);
static u_char *ngx_http_skip_metrics_escape(u_char *p, u_char *end,
    ngx_str_t *s);
static ngx_atomic_uint_t ngx_http_skip_metrics_sum(
    ngx_http_skip_metrics_shm_t *sh, size_t offset);


/* label values, in the order of the enums in ngx_skip_prom.h */

static ngx_str_t  ngx_http_skip_metrics_decisions[] = {
    ngx_string("play"),
    ngx_string("skip")
};

/* in the order of ngx_http_skip_metrics_result_e */
static ngx_str_t  ngx_http_skip_metrics_results[] = {
    ngx_string("ok"),
    ngx_string("missing"),
    ngx_string("malformed"),
    ngx_string("timeout"),
    ngx_string("error"),
    ngx_string("disconnected"),
    ngx_string("badid"),
    ngx_string("off"),
    ngx_string("nomodel"),
    ngx_string("breaker")
};

static ngx_str_t  ngx_http_skip_metrics_events[] = {
    ngx_string("accepted"),
    ngx_string("rejected"),
    ngx_string("unavailable"),
    ngx_string("future")
};

static ngx_str_t  ngx_http_skip_metrics_cache_results[] = {
    ngx_string("hit"),
    ngx_string("miss"),
    ngx_string("expired")
};

static ngx_str_t  ngx_http_skip_metrics_cluster_events[] = {
    ngx_string("moved"),
    ngx_string("ask"),
    ngx_string("unavailable"),
    ngx_string("map"),
    ngx_string("map_error")
};

static ngx_str_t  ngx_http_skip_metrics_pf_kinds[] = {
    ngx_string("track"),
    ngx_string("next")
};

static ngx_str_t  ngx_http_skip_metrics_pf_results[] = {
    ngx_string("started"),
    ngx_string("fetched"),
    ngx_string("cached"),
    ngx_string("deduplicated"),
    ngx_string("refused"),
    ngx_string("full"),
    ngx_string("failed")
};

static ngx_str_t  ngx_http_skip_metrics_cmcd_results[] = {
    ngx_string("ok"),
    ngx_string("invalid"),
    ngx_string("unusable")
};

static ngx_str_t  ngx_http_skip_metrics_admit_results[] = {
    ngx_string("admit"),
    ngx_string("refuse"),
    ngx_string("failopen")
};

static char  *ngx_http_skip_metrics_le[] = {
    "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005", "0.01",
    "0.025", "0.05", "0.1", "+Inf"
};


#define ngx_http_skip_metrics_field(field)                                    \
    offsetof(ngx_http_skip_metrics_shard_t, field)

#define ngx_http_skip_metrics_bit(i)  ((ngx_uint_t) 1 << (i))


/*
 * The counters with one label and no arm: one shard array each, rendered
 * by one loop (ngx_http_skip_metrics_family), sized from this table.
 */
typedef struct {
    char               *name;
    char               *help;
    char               *label;
    ngx_str_t          *values;
    ngx_uint_t          n;
    size_t              offset;     /* of the first counter in a shard */
    ngx_uint_t          hide_zero;  /* bits of values shown only when > 0 */
} ngx_http_skip_metrics_family_t;


enum {
    NGX_HTTP_SKIP_FAMILY_LOOKUPS = 0,
    NGX_HTTP_SKIP_FAMILY_FALLBACKS,
    NGX_HTTP_SKIP_FAMILY_EVENTS,
    NGX_HTTP_SKIP_FAMILY_CACHE,
    NGX_HTTP_SKIP_FAMILY_CLUSTER,
    NGX_HTTP_SKIP_FAMILY_CMCD,
    NGX_HTTP_SKIP_FAMILY_ADMIT,
    NGX_HTTP_SKIP_NFAMILIES
};


static ngx_http_skip_metrics_family_t  ngx_http_skip_metrics_families[] = {

    { "skip_redis_lookups_total",
      "Redis feature lookups, by result.",
      "result", ngx_http_skip_metrics_results,
      NGX_HTTP_SKIP_METRICS_NRESULTS, ngx_http_skip_metrics_field(lookups),
      /* no lookup result: shown only if counted anyway */
      ngx_http_skip_metrics_bit(NGX_HTTP_SKIP_METRICS_BADID)
      | ngx_http_skip_metrics_bit(NGX_HTTP_SKIP_METRICS_OFF)
      | ngx_http_skip_metrics_bit(NGX_HTTP_SKIP_METRICS_NOMODEL) },

    { "skip_fallbacks_total",
      "Decisions taken by skip_fallback instead of a model, by reason.",
      "reason", ngx_http_skip_metrics_results,
      NGX_HTTP_SKIP_METRICS_NRESULTS, ngx_http_skip_metrics_field(fallbacks),
      /* "ok" is no reason to fall back: shown only if counted anyway */
      ngx_http_skip_metrics_bit(NGX_HTTP_SKIP_METRICS_OK) },

    { "skip_events_total",
      "Play/skip events received, by result.",
      "result", ngx_http_skip_metrics_events,
      NGX_HTTP_SKIP_METRICS_NEVENTS, ngx_http_skip_metrics_field(events), 0 },

    { "skip_track_cache_total",
      "Track record cache lookups in the workers, by result.",
      "result", ngx_http_skip_metrics_cache_results,
      NGX_HTTP_SKIP_METRICS_NCACHE, ngx_http_skip_metrics_field(cache), 0 },

    { "skip_redis_cluster_total",
      "Redis Cluster events in the workers: redirections, keys whose node "
      "was down, slot maps taken or refused.",
      "event", ngx_http_skip_metrics_cluster_events,
      NGX_HTTP_SKIP_METRICS_NCLUSTER, ngx_http_skip_metrics_field(cluster),
      0 },

    { "skip_cmcd_total",
      "Requests carrying CMCD (CTA-5004) data, by result.",
      "result", ngx_http_skip_metrics_cmcd_results,
      NGX_HTTP_SKIP_METRICS_NCMCD, ngx_http_skip_metrics_field(cmcd), 0 },

    { "skip_admit_total",
      "Cache admission decisions ($skip_admit), by result.",
      "result", ngx_http_skip_metrics_admit_results,
      NGX_HTTP_SKIP_METRICS_NADMIT, ngx_http_skip_metrics_field(admit), 0 }
};


static u_char *ngx_http_skip_metrics_family(u_char *p, u_char *end,
    ngx_http_skip_metrics_shm_t *sh, ngx_http_skip_metrics_family_t *f);


/* --- the Prometheus handler --------------------------------------------- */


ngx_int_t
ngx_http_skip_metrics_handler(ngx_http_request_t *r)
{
    size_t                          len;
    ngx_int_t                       rc;
    ngx_buf_t                      *b;
    ngx_chain_t                     out;
    ngx_http_skip_metrics_ctx_t    *ctx;
    ngx_http_skip_metrics_shard_t  *sd;

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD))) {
        return ngx_http_skip_metrics_not_allowed(r);
    }

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    ctx = ngx_http_skip_metrics_current();
    if (ctx == NULL) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "skip_metrics: no metrics zone");
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    sd = &ctx->sh->shards[ngx_worker % NGX_HTTP_SKIP_METRICS_SHARDS].s;
    (void) ngx_atomic_fetch_add(&sd->scrapes, 1);

    len = ngx_http_skip_metrics_size(ctx);

    b = ngx_create_temp_buf(r->pool, len);
    if (b == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    b->last = ngx_http_skip_metrics_render(b->pos, b->end, ctx);

    if (b->last == b->end) {
        /* the size estimate leaves room; a full buffer means truncation */
        ngx_log_error(NGX_LOG_ALERT, r->connection->log, 0,
                      "skip_metrics: output truncated at %uz bytes", len);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    r->headers_out.status = NGX_HTTP_OK;
    r->headers_out.content_length_n = b->last - b->pos;
    ngx_str_set(&r->headers_out.content_type, "text/plain; version=0.0.4");
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = NULL;

    rc = ngx_http_send_header(r);

    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only) {
        return rc;
    }

    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;

    out.buf = b;
    out.next = NULL;

    return ngx_http_output_filter(r, &out);
}


/* 405 with the Allow header an error page would drop */

static ngx_int_t
ngx_http_skip_metrics_not_allowed(ngx_http_request_t *r)
{
    ngx_int_t         rc;
    ngx_table_elt_t  *h;

    rc = ngx_http_discard_request_body(r);
    if (rc != NGX_OK) {
        return rc;
    }

    h = ngx_list_push(&r->headers_out.headers);
    if (h == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    h->hash = 1;
    ngx_str_set(&h->key, "Allow");
    ngx_str_set(&h->value, "GET, HEAD");

    r->headers_out.status = NGX_HTTP_NOT_ALLOWED;
    r->headers_out.content_length_n = 0;
    r->header_only = 1;

    return ngx_http_send_header(r);
}


/*
 * An upper bound of the rendered size: 128 bytes a line on average (a
 * HELP line may be longer, a value line is much shorter; label values are
 * short constants) plus the arms' names, which may need escaping (twice
 * their length at most).
 */

/* lines that depend on neither the families' table nor the arms */
#define NGX_HTTP_SKIP_METRICS_FIXED_LINES                                     \
    (2 + 2                                 /* decisions, outcomes */        \
     + 2 + NGX_HTTP_SKIP_METRICS_BUCKETS + 2  /* lookup_seconds */          \
     + 3 + 3 + 3                 /* connected, breaker trips, durable */    \
     + 2 + 3                                 /* model_info, scrapes */      \
     + 2 + 2 * NGX_HTTP_SKIP_METRICS_PF_NBYTES)  /* prefetches, bytes */

static size_t
ngx_http_skip_metrics_size(ngx_http_skip_metrics_ctx_t *ctx)
{
    size_t      len, lines;
    ngx_uint_t  i;

    lines = NGX_HTTP_SKIP_METRICS_FIXED_LINES;

    for (i = 0; i < NGX_HTTP_SKIP_NFAMILIES; i++) {
        lines += 2 + ngx_http_skip_metrics_families[i].n;
    }

    len = 128 * lines + 1;

    for (i = 0; i < ctx->nmodels; i++) {
        /*
         * 2 decisions, 4 outcomes, 1 info line, the prefetch results and
         * the byte counters, each with the arm's name
         */
        len += (7 + NGX_HTTP_SKIP_METRICS_PF_NKINDS
                    * NGX_HTTP_SKIP_METRICS_PF_NRESULTS
                + NGX_HTTP_SKIP_METRICS_PF_NBYTES)
               * (128 + 2 * ctx->models[i].name.len)
               + 2 * ctx->models[i].version.len;
    }

    return len;
}


static u_char *
ngx_http_skip_metrics_render(u_char *p, u_char *end,
    ngx_http_skip_metrics_ctx_t *ctx)
{
    ngx_uint_t                      i, d, a;
    ngx_atomic_uint_t               v, c, cum;
    ngx_http_skip_metrics_shm_t    *sh;
    ngx_http_skip_metrics_model_t  *m;

    sh = ctx->sh;

    p = ngx_slprintf(p, end,
                 "# HELP skip_decisions_total Decisions made, by A/B arm "
                 "(model name) and decision.\n"
                 "# TYPE skip_decisions_total counter\n");

    for (i = 0; i < ctx->nmodels; i++) {
        m = &ctx->models[i];

        for (d = 0; d < 2; d++) {
            v = ngx_http_skip_metrics_sum(sh,
                    ngx_http_skip_metrics_field(arms[m->slot].decisions[d]));

            p = ngx_slprintf(p, end, "skip_decisions_total{arm=\"");
            p = ngx_http_skip_metrics_escape(p, end, &m->name);
            p = ngx_slprintf(p, end, "\",decision=\"%V\"} %uA\n",
                             &ngx_http_skip_metrics_decisions[d], v);
        }
    }

    p = ngx_slprintf(p, end,
                 "# HELP skip_outcomes_total Predictions joined with the "
                 "listener's Play/Skip, by arm, prediction and outcome.\n"
                 "# TYPE skip_outcomes_total counter\n");

    for (i = 0; i < ctx->nmodels; i++) {
        m = &ctx->models[i];

        for (d = 0; d < 2; d++) {
            for (a = 0; a < 2; a++) {
                v = ngx_http_skip_metrics_sum(sh,
                        ngx_http_skip_metrics_field(
                            arms[m->slot].outcomes[d][a]));

                p = ngx_slprintf(p, end, "skip_outcomes_total{arm=\"");
                p = ngx_http_skip_metrics_escape(p, end, &m->name);
                p = ngx_slprintf(p, end,
                                 "\",predicted=\"%V\",actual=\"%V\"} %uA\n",
                                 &ngx_http_skip_metrics_decisions[d],
                                 &ngx_http_skip_metrics_decisions[a], v);
            }
        }
    }

    p = ngx_http_skip_metrics_family(p, end, sh,
                         &ngx_http_skip_metrics_families[
                             NGX_HTTP_SKIP_FAMILY_LOOKUPS]);

    p = ngx_slprintf(p, end,
                 "# HELP skip_redis_lookup_seconds Redis feature lookup "
                 "latency.\n"
                 "# TYPE skip_redis_lookup_seconds histogram\n");

    cum = 0;

    for (i = 0; i < NGX_HTTP_SKIP_METRICS_BUCKETS; i++) {
        cum += ngx_http_skip_metrics_sum(sh,
                                   ngx_http_skip_metrics_field(buckets[i]));

        p = ngx_slprintf(p, end,
                         "skip_redis_lookup_seconds_bucket{le=\"%s\"} %uA\n",
                         ngx_http_skip_metrics_le[i], cum);
    }

    v = ngx_http_skip_metrics_sum(sh,
                                  ngx_http_skip_metrics_field(latency_usec));

    /* _count is the +Inf bucket by construction, as the format requires */
    p = ngx_slprintf(p, end,
                     "skip_redis_lookup_seconds_sum %uA.%06uA\n"
                     "skip_redis_lookup_seconds_count %uA\n",
                     v / 1000000, v % 1000000, cum);

    for (i = NGX_HTTP_SKIP_FAMILY_FALLBACKS;
         i <= NGX_HTTP_SKIP_FAMILY_CLUSTER;
         i++)
    {
        p = ngx_http_skip_metrics_family(p, end, sh,
                                         &ngx_http_skip_metrics_families[i]);
    }

    p = ngx_http_skip_metrics_render_prefetch(p, end, ctx);

    v = 0;

    for (i = 0; i < NGX_HTTP_SKIP_METRICS_SHARDS; i++) {
        c = sh->shards[i].s.connected;

        /* a worker that died without saying so (crash) does not count */
        if ((c & 1)
            && (kill((ngx_pid_t) (c >> 1), 0) == 0 || ngx_errno == NGX_EPERM))
        {
            v++;
        }
    }

    p = ngx_slprintf(p, end,
                 "# HELP skip_redis_connected Worker processes (slots) whose "
                 "Redis connection is up.\n"
                 "# TYPE skip_redis_connected gauge\n"
                 "skip_redis_connected %uA\n", v);

    v = ngx_http_skip_metrics_sum(sh,
                                  ngx_http_skip_metrics_field(breaker_trips));

    p = ngx_slprintf(p, end,
                 "# HELP skip_redis_breaker_trips_total Times a worker's "
                 "Redis circuit breaker opened (skip_redis_breaker).\n"
                 "# TYPE skip_redis_breaker_trips_total counter\n"
                 "skip_redis_breaker_trips_total %uA\n", v);

    /* durable: every live worker that checked found appendfsync always */
    v = 2;

    for (i = 0; i < NGX_HTTP_SKIP_METRICS_SHARDS; i++) {
        c = sh->shards[i].s.durable;

        if ((c & 3)
            && (kill((ngx_pid_t) (c >> 2), 0) == 0 || ngx_errno == NGX_EPERM))
        {
            v = ngx_min(v, (c & 3) - 1);
        }
    }

    if (v < 2) {
        p = ngx_slprintf(p, end,
                 "# HELP skip_redis_durable 1: Redis fsyncs each write "
                 "before replying (appendfsync always).\n"
                 "# TYPE skip_redis_durable gauge\n"
                 "skip_redis_durable %uA\n", v);
    }

    p = ngx_slprintf(p, end,
                 "# HELP skip_model_info Models loaded, by name and version.\n"
                 "# TYPE skip_model_info gauge\n");

    for (i = 0; i < ctx->nmodels; i++) {
        m = &ctx->models[i];

        p = ngx_slprintf(p, end, "skip_model_info{name=\"");
        p = ngx_http_skip_metrics_escape(p, end, &m->name);
        p = ngx_slprintf(p, end, "\",version=\"");
        p = ngx_http_skip_metrics_escape(p, end, &m->version);
        p = ngx_slprintf(p, end, "\"} 1\n");
    }

    v = ngx_http_skip_metrics_sum(sh, ngx_http_skip_metrics_field(scrapes));

    p = ngx_slprintf(p, end,
                 "# HELP skip_metrics_scrapes_total Requests served by "
                 "skip_metrics.\n"
                 "# TYPE skip_metrics_scrapes_total counter\n"
                 "skip_metrics_scrapes_total %uA\n", v);

    return p;
}


/* prefetch: per arm, kind and result; bytes per arm; CMCD */

static u_char *
ngx_http_skip_metrics_render_prefetch(u_char *p, u_char *end,
    ngx_http_skip_metrics_ctx_t *ctx)
{
    ngx_uint_t                      i, k, r;
    ngx_atomic_uint_t               v;
    ngx_http_skip_metrics_shm_t    *sh;
    ngx_http_skip_metrics_model_t  *m;

    static const char  *bytes[][2] = {
        { "skip_prefetch_bytes_total",
          "Bytes prefetched from the origin into the cache, by the arm "
          "whose decision caused the prefetch." },
        { "skip_prefetch_served_bytes_total",
          "Prefetched bytes that a listener asked for later." },
        { "skip_prefetch_wasted_bytes_total",
          "Prefetched bytes that no listener asked for within the "
          "prefetch window (skip_prefetch_zone)." }
    };

    sh = ctx->sh;

    p = ngx_slprintf(p, end,
                 "# HELP skip_prefetches_total Slice prefetches, by arm, "
                 "kind (track: later slices of the track; next: the player's "
                 "CMCD next object) and result.\n"
                 "# TYPE skip_prefetches_total counter\n");

    for (i = 0; i < ctx->nmodels; i++) {
        m = &ctx->models[i];

        for (k = 0; k < NGX_HTTP_SKIP_METRICS_PF_NKINDS; k++) {
            for (r = 0; r < NGX_HTTP_SKIP_METRICS_PF_NRESULTS; r++) {
                v = ngx_http_skip_metrics_sum(sh,
                        ngx_http_skip_metrics_field(
                            arms[m->slot].prefetches[k][r]));

                p = ngx_slprintf(p, end, "skip_prefetches_total{arm=\"");
                p = ngx_http_skip_metrics_escape(p, end, &m->name);
                p = ngx_slprintf(p, end, "\",kind=\"%V\",result=\"%V\"} "
                                 "%uA\n",
                                 &ngx_http_skip_metrics_pf_kinds[k],
                                 &ngx_http_skip_metrics_pf_results[r], v);
            }
        }
    }

    for (k = 0; k < NGX_HTTP_SKIP_METRICS_PF_NBYTES; k++) {
        p = ngx_slprintf(p, end, "# HELP %s %s\n# TYPE %s counter\n",
                         bytes[k][0], bytes[k][1], bytes[k][0]);

        for (i = 0; i < ctx->nmodels; i++) {
            m = &ctx->models[i];

            v = ngx_http_skip_metrics_sum(sh,
                    ngx_http_skip_metrics_field(arms[m->slot].pf_bytes[k]));

            p = ngx_slprintf(p, end, "%s{arm=\"", bytes[k][0]);
            p = ngx_http_skip_metrics_escape(p, end, &m->name);
            p = ngx_slprintf(p, end, "\"} %uA\n", v);
        }
    }

    p = ngx_http_skip_metrics_family(p, end, sh,
                         &ngx_http_skip_metrics_families[
                             NGX_HTTP_SKIP_FAMILY_CMCD]);

    p = ngx_http_skip_metrics_family(p, end, sh,
                         &ngx_http_skip_metrics_families[
                             NGX_HTTP_SKIP_FAMILY_ADMIT]);

    return p;
}


/* HELP, TYPE and one line a label value of a family */

static u_char *
ngx_http_skip_metrics_family(u_char *p, u_char *end,
    ngx_http_skip_metrics_shm_t *sh, ngx_http_skip_metrics_family_t *f)
{
    ngx_uint_t         i;
    ngx_atomic_uint_t  v;

    p = ngx_slprintf(p, end, "# HELP %s %s\n# TYPE %s counter\n",
                     f->name, f->help, f->name);

    for (i = 0; i < f->n; i++) {
        v = ngx_http_skip_metrics_sum(sh,
                                      f->offset + i * sizeof(ngx_atomic_t));

        if (v == 0 && (f->hide_zero & ngx_http_skip_metrics_bit(i))) {
            continue;
        }

        p = ngx_slprintf(p, end, "%s{%s=\"%V\"} %uA\n",
                         f->name, f->label, &f->values[i], v);
    }

    return p;
}


/* a label value: backslash, double quote and newline escaped */

static u_char *
ngx_http_skip_metrics_escape(u_char *p, u_char *end, ngx_str_t *s)
{
    u_char      c;
    ngx_uint_t  i;

    for (i = 0; i < s->len && p < end; i++) {
        c = s->data[i];

        if (c == '\\' || c == '"' || c == '\n') {
            if (end - p < 2) {
                return end;
            }

            *p++ = '\\';
            *p++ = (c == '\n') ? 'n' : c;
            continue;
        }

        *p++ = c;
    }

    return p;
}


/* one counter summed over the worker shards */

static ngx_atomic_uint_t
ngx_http_skip_metrics_sum(ngx_http_skip_metrics_shm_t *sh, size_t offset)
{
    ngx_uint_t         w;
    ngx_atomic_uint_t  v;

    v = 0;

    for (w = 0; w < NGX_HTTP_SKIP_METRICS_SHARDS; w++) {
        v += *(ngx_atomic_t *) ((u_char *) &sh->shards[w].s + offset);
    }

    return v;
}
