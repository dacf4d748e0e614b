/*
 * ngx_skip: prefetch jobs (see ngx_skip_prefetch.h for what and why).
 *
 * A job is one object to warm: a path, the slices still to fetch, the arm
 * that asked.  It lives in the listener's (main) request pool and has at
 * most one background subrequest in flight; when that one finishes, the
 * post-subrequest handler records the result and sends the next slice's.
 * A pool cleanup releases the claim of a subrequest that never finished
 * (the main request was terminated), so the ledger and the per-worker
 * count never leak.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../core/cmcd.h"
#include "ngx_skip_ledger.h"
#include "ngx_skip_prefetch.h"
#include "ngx_skip_prom.h"


/* never walk more slices than this for one request (a 4 GB file at 1m) */
#define NGX_SKIP_PREFETCH_MAX_SLICES  4096


typedef struct ngx_skip_prefetch_sub_s  ngx_skip_prefetch_sub_t;

typedef struct {
    ngx_http_request_t          *main;
    ngx_skip_prefetch_sub_t     *sub;       /* in flight, or NULL */
    ngx_str_t                    path;
    ngx_str_t                    uri;       /* prefix + path */
    size_t                       slice;
    ngx_uint_t                   cur;       /* slice to fetch next */
    ngx_uint_t                   last;      /* last slice to fetch */
    off_t                        total;     /* -1 unknown */
    ngx_uint_t                   arm;
    ngx_uint_t                   kind;
} ngx_skip_prefetch_job_t;


/* one subrequest: its own range, for $skip_prefetch_range until its end */
struct ngx_skip_prefetch_sub_s {
    ngx_http_post_subrequest_t   ps;
    ngx_skip_prefetch_job_t     *job;
    ngx_str_t                    range;
    u_char                       range_buf[2 * NGX_OFF_T_LEN + 8];
};


static void ngx_skip_prefetch_job(ngx_http_request_t *r,
    ngx_skip_prefetch_conf_t *conf, ngx_str_t *prefix, ngx_str_t *path,
    ngx_uint_t first, ngx_uint_t last, off_t total, ngx_uint_t arm,
    ngx_uint_t kind);
static void ngx_skip_prefetch_run(ngx_skip_prefetch_job_t *job);
static ngx_int_t ngx_skip_prefetch_done(ngx_http_request_t *sr, void *data,
    ngx_int_t rc);
static void ngx_skip_prefetch_cleanup(void *data);
static ngx_int_t ngx_skip_prefetch_cmcd_read(ngx_http_request_t *r,
    sk_cmcd *c);
static ngx_int_t ngx_skip_prefetch_range_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_skip_prefetch_sid_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);


static ngx_uint_t  ngx_skip_prefetch_max;       /* per worker */
static ngx_uint_t  ngx_skip_prefetch_inflight;


static ngx_str_t  ngx_skip_prefetch_range_name =
    ngx_string("skip_prefetch_range");
static ngx_str_t  ngx_skip_prefetch_sid_name = ngx_string("skip_cmcd_sid");


ngx_int_t
ngx_skip_prefetch_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var;

    var = ngx_http_add_variable(cf, &ngx_skip_prefetch_range_name,
                                NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_skip_prefetch_range_variable;

    var = ngx_http_add_variable(cf, &ngx_skip_prefetch_sid_name,
                                NGX_HTTP_VAR_NOCACHEABLE);
    if (var == NULL) {
        return NGX_ERROR;
    }

    var->get_handler = ngx_skip_prefetch_sid_variable;

    return NGX_OK;
}


void
ngx_skip_prefetch_init_process(ngx_uint_t max_inflight)
{
    ngx_skip_prefetch_max = max_inflight;
    ngx_skip_prefetch_inflight = 0;
}


void
ngx_skip_prefetch_start(ngx_http_request_t *r, ngx_skip_prefetch_conf_t *conf,
    ngx_skip_prefetch_want_t *want)
{
    off_t       start;
    ngx_str_t   prefix;
    ngx_uint_t  first, last;

    if (conf->uri == NULL || ngx_exiting || ngx_terminate) {
        return;
    }

    if (ngx_http_complex_value(r, conf->uri, &prefix) != NGX_OK) {
        return;
    }

    if (want->track) {
        if (conf->slice == 0) {
            /* not sliced: the whole object in one subrequest */
            ngx_skip_prefetch_job(r, conf, &prefix, &want->path, 0, 0, -1,
                                  want->arm, NGX_HTTP_SKIP_METRICS_PF_TRACK);

        } else if (want->total > 0 && want->start >= 0) {
            start = want->start;
            first = start / conf->slice + 1;
            last = (want->total - 1) / conf->slice;

            if (conf->ahead != NGX_SKIP_PREFETCH_ALL) {
                last = ngx_min(last, first + conf->ahead - 1);
            }

            if (first > last) {
                /* the listener asked for the last slice */

            } else if (ngx_skip_ledger_known(&want->path, last)) {
                /*
                 * Every later slice was handled (a job reached the last
                 * one): a cached track costs one ledger look-up per
                 * request, not one claim per slice.
                 */
                ngx_http_skip_metrics_prefetch(want->arm,
                                       NGX_HTTP_SKIP_METRICS_PF_TRACK,
                                       NGX_HTTP_SKIP_METRICS_PF_DEDUPLICATED,
                                       last - first + 1);

            } else {
                ngx_skip_prefetch_job(r, conf, &prefix, &want->path, first,
                                      last, want->total, want->arm,
                                      NGX_HTTP_SKIP_METRICS_PF_TRACK);
            }
        }
    }

    if (want->next.len && conf->next) {
        ngx_skip_prefetch_job(r, conf, &prefix, &want->next, 0,
                              conf->slice ? conf->next - 1 : 0, -1, want->arm,
                              NGX_HTTP_SKIP_METRICS_PF_NEXT);
    }
}


static void
ngx_skip_prefetch_job(ngx_http_request_t *r, ngx_skip_prefetch_conf_t *conf,
    ngx_str_t *prefix, ngx_str_t *path, ngx_uint_t first, ngx_uint_t last,
    off_t total, ngx_uint_t arm, ngx_uint_t kind)
{
    u_char                   *p;
    ngx_str_t                 args;
    ngx_uint_t                flags;
    ngx_pool_cleanup_t       *cln;
    ngx_skip_prefetch_job_t  *job;

    job = ngx_pcalloc(r->pool, sizeof(ngx_skip_prefetch_job_t));
    if (job == NULL) {
        return;
    }

    p = ngx_pnalloc(r->pool, prefix->len + path->len);
    if (p == NULL) {
        return;
    }

    job->uri.data = p;
    job->uri.len = ngx_cpymem(ngx_cpymem(p, prefix->data, prefix->len),
                              path->data, path->len)
                   - p;

    ngx_str_null(&args);
    flags = NGX_HTTP_LOG_UNSAFE;

    if (ngx_http_parse_unsafe_uri(r, &job->uri, &args, &flags) != NGX_OK
        || args.len)
    {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "skip_prefetch: unsafe URI \"%V\"", &job->uri);
        return;
    }

    /* the path is the tail of the URI: same bytes, no second copy */
    job->path.data = p + prefix->len;
    job->path.len = path->len;

    cln = ngx_pool_cleanup_add(r->pool, 0);
    if (cln == NULL) {
        return;
    }

    cln->handler = ngx_skip_prefetch_cleanup;
    cln->data = job;

    job->main = r;
    job->slice = conf->slice;
    job->cur = first;
    job->last = last;
    job->total = total;
    job->arm = arm;
    job->kind = kind;

    ngx_skip_prefetch_run(job);
}


/* Send the next slice's subrequest, skipping slices others have. */
static void
ngx_skip_prefetch_run(ngx_skip_prefetch_job_t *job)
{
    off_t                     s;
    ngx_int_t                 rc;
    ngx_str_t                 args;
    ngx_http_request_t       *r, *sr;
    ngx_skip_prefetch_sub_t  *sub;

    r = job->main;

    for ( /* void */ ; job->cur <= job->last; job->cur++) {

        if (job->total >= 0
            && (off_t) (job->cur * job->slice) >= job->total)
        {
            return;
        }

        rc = ngx_skip_ledger_claim(&job->path, job->cur, job->arm);

        if (rc == NGX_BUSY) {
            ngx_http_skip_metrics_prefetch(job->arm, job->kind,
                                       NGX_HTTP_SKIP_METRICS_PF_DEDUPLICATED, 1);
            continue;
        }

        if (rc == NGX_DECLINED) {
            ngx_http_skip_metrics_prefetch(job->arm, job->kind,
                                           NGX_HTTP_SKIP_METRICS_PF_FULL, 1);
            return;
        }

        if (ngx_skip_prefetch_inflight >= ngx_skip_prefetch_max
            || r->connection->error || ngx_exiting || ngx_terminate)
        {
            ngx_skip_ledger_release(&job->path, job->cur);
            ngx_http_skip_metrics_prefetch(job->arm, job->kind,
                                           NGX_HTTP_SKIP_METRICS_PF_REFUSED, 1);
            return;
        }

        sub = ngx_pcalloc(r->pool, sizeof(ngx_skip_prefetch_sub_t));
        if (sub == NULL) {
            ngx_skip_ledger_release(&job->path, job->cur);
            return;
        }

        sub->job = job;
        sub->ps.handler = ngx_skip_prefetch_done;
        sub->ps.data = sub;

        if (job->slice) {
            s = (off_t) job->cur * (off_t) job->slice;

            /* exactly the slice module's $slice_range for this slice */
            sub->range.data = sub->range_buf;
            sub->range.len = ngx_sprintf(sub->range_buf, "bytes=%O-%O", s,
                                         s + (off_t) job->slice - 1)
                             - sub->range_buf;
        }

        ngx_str_null(&args);

        if (ngx_http_subrequest(r, &job->uri, &args, &sr, &sub->ps,
                                NGX_HTTP_SUBREQUEST_BACKGROUND)
            != NGX_OK)
        {
            ngx_skip_ledger_release(&job->path, job->cur);
            ngx_http_skip_metrics_prefetch(job->arm, job->kind,
                                           NGX_HTTP_SKIP_METRICS_PF_FAILED, 1);
            return;
        }

        /* the client never sees it; proxy_cache still stores the body */
        sr->header_only = 1;
        sr->method = NGX_HTTP_GET;
        sr->method_name = ngx_http_core_get_method;

        job->sub = sub;
        ngx_skip_prefetch_inflight++;

        ngx_http_skip_metrics_prefetch(job->arm, job->kind,
                                       NGX_HTTP_SKIP_METRICS_PF_STARTED, 1);

        ngx_log_debug3(NGX_LOG_DEBUG_HTTP, r->connection->log, 0,
                       "skip prefetch: \"%V\" %V (slice %ui)",
                       &job->uri, &sub->range, job->cur);
        return;
    }
}


static ngx_int_t
ngx_skip_prefetch_done(ngx_http_request_t *sr, void *data, ngx_int_t rc)
{
    ngx_skip_prefetch_sub_t *sub = data;

    off_t                     total;
    size_t                    bytes;
    ngx_uint_t                status, cached, last;
    ngx_http_upstream_t      *u;
    ngx_skip_prefetch_job_t  *job;

    job = sub->job;

    if (job->sub != sub) {
        /* finalized again (an error page): counted the first time */
        return rc;
    }

    job->sub = NULL;
    ngx_skip_prefetch_inflight--;

    status = sr->headers_out.status;
    u = sr->upstream;
    cached = 0;
    bytes = 0;

#if (NGX_HTTP_CACHE)
    cached = (u && u->cache_status == NGX_HTTP_CACHE_HIT);
#endif

    if (u && u->state && !cached) {
        bytes = (size_t) u->state->response_length;
    }

    if (rc != NGX_OK
        || (status != NGX_HTTP_OK && status != NGX_HTTP_PARTIAL_CONTENT))
    {
        ngx_skip_ledger_release(&job->path, job->cur);
        ngx_http_skip_metrics_prefetch(job->arm, job->kind,
                                       NGX_HTTP_SKIP_METRICS_PF_FAILED, 1);

        ngx_log_error(NGX_LOG_INFO, sr->connection->log, 0,
                      "skip prefetch of \"%V\" %V failed: status %ui, rc %i",
                      &job->uri, &sub->range, status, rc);

        /* a failed prefetch must not terminate the listener's request */
        return NGX_OK;
    }

    ngx_skip_ledger_done(&job->path, job->cur, bytes);

    ngx_http_skip_metrics_prefetch(job->arm, job->kind,
                                   cached ? NGX_HTTP_SKIP_METRICS_PF_CACHED
                                          : NGX_HTTP_SKIP_METRICS_PF_FETCHED, 1);

    if (bytes) {
        ngx_http_skip_metrics_prefetch_bytes(job->arm,
                                             NGX_HTTP_SKIP_METRICS_PF_BYTES,
                                             bytes);
    }

    if (status == NGX_HTTP_OK || job->slice == 0) {
        /* the whole object came at once (not sliced, or Range ignored) */
        return NGX_OK;
    }

    if (job->total < 0) {
        total = ngx_skip_prefetch_total(sr);

        if (total > 0) {
            job->total = total;
            last = (total - 1) / job->slice;
            job->last = ngx_min(job->last, last);
        }
    }

    job->cur++;
    ngx_skip_prefetch_run(job);

    return NGX_OK;
}


static void
ngx_skip_prefetch_cleanup(void *data)
{
    ngx_skip_prefetch_job_t *job = data;

    if (job->sub) {
        /* terminated with its subrequest in flight */
        job->sub = NULL;
        ngx_skip_prefetch_inflight--;
        ngx_skip_ledger_release(&job->path, job->cur);
        ngx_http_skip_metrics_prefetch(job->arm, job->kind,
                                       NGX_HTTP_SKIP_METRICS_PF_FAILED, 1);
    }
}


void
ngx_skip_prefetch_served(ngx_http_request_t *r, ngx_skip_prefetch_conf_t *conf,
    ngx_skip_prefetch_want_t *want, off_t end)
{
    ngx_uint_t  i, first, last;

    if (want->start < 0) {
        return;
    }

    if (conf->slice == 0) {
        ngx_skip_ledger_served(&want->path, 0);
        return;
    }

    if (end < 0) {
        if (want->total <= 0) {
            return;
        }

        end = want->total - 1;
    }

    first = want->start / conf->slice;
    last = end / conf->slice;

    for (i = first; i <= last && i - first < NGX_SKIP_PREFETCH_MAX_SLICES; i++)
    {
        ngx_skip_ledger_served(&want->path, i);
    }
}


off_t
ngx_skip_prefetch_total(ngx_http_request_t *r)
{
    u_char           *p, *last;
    off_t             total;
    ngx_table_elt_t  *h;

    h = r->headers_out.content_range;

    if (h && h->hash) {
        /* "bytes a-b/T" */
        p = h->value.data;
        last = p + h->value.len;

        while (p < last && *p != '/') {
            p++;
        }

        if (p + 1 >= last) {
            return -1;
        }

        total = ngx_atoof(p + 1, last - p - 1);

        return total > 0 ? total : -1;
    }

    if (r->headers_out.status == NGX_HTTP_OK
        && r->headers_out.content_length_n > 0)
    {
        return r->headers_out.content_length_n;
    }

    return -1;
}


void
ngx_skip_prefetch_client_range(ngx_http_request_t *r, off_t *start,
    off_t *end)
{
    u_char  *p, *last, *dash;
    off_t    s, e;

    *start = 0;
    *end = -1;

    if (r->headers_in.range == NULL) {
        return;
    }

    p = r->headers_in.range->value.data;
    last = p + r->headers_in.range->value.len;

    if (last - p < 7 || ngx_strncasecmp(p, (u_char *) "bytes=", 6) != 0) {
        return;
    }

    p += 6;

    for (dash = p; dash < last && *dash != '-'; dash++) { /* void */ }

    if (dash == last || dash == p) {
        /* no dash, or a suffix range ("bytes=-N"): the end of the file */
        *start = -1;
        return;
    }

    s = ngx_atoof(p, dash - p);
    if (s == NGX_ERROR) {
        *start = -1;
        return;
    }

    *start = s;

    p = dash + 1;

    if (p == last) {
        return;
    }

    /* "a-b" or the first of several ranges "a-b,c-d" */
    for (dash = p; dash < last && *dash != ','; dash++) { /* void */ }

    e = ngx_atoof(p, dash - p);
    if (e != NGX_ERROR && e >= s) {
        *end = e;
    }
}


/*
 * The request's CMCD (CMCD-Request and CMCD-Session headers, the CMCD
 * query argument) into c: NGX_OK, NGX_DECLINED when there is none,
 * NGX_ERROR when a part is malformed (c is then not to be used).
 */
static ngx_int_t
ngx_skip_prefetch_cmcd_read(ngx_http_request_t *r, sk_cmcd *c)
{
    ngx_int_t         rc;
    ngx_str_t         arg;
    ngx_uint_t        i;
    ngx_list_part_t  *part;
    ngx_table_elt_t  *h;

    sk_cmcd_init(c);
    rc = NGX_DECLINED;

    part = &r->headers_in.headers.part;
    h = part->elts;

    for (i = 0; /* void */ ; i++) {

        if (i >= part->nelts) {
            if (part->next == NULL) {
                break;
            }

            part = part->next;
            h = part->elts;
            i = 0;
        }

        if ((h[i].key.len == sizeof("CMCD-Request") - 1
             && ngx_strncasecmp(h[i].key.data, (u_char *) "CMCD-Request",
                                h[i].key.len) == 0)
            || (h[i].key.len == sizeof("CMCD-Session") - 1
                && ngx_strncasecmp(h[i].key.data, (u_char *) "CMCD-Session",
                                   h[i].key.len) == 0))
        {
            if (sk_cmcd_parse(c, (const char *) h[i].value.data,
                              h[i].value.len) != 0)
            {
                return NGX_ERROR;
            }

            rc = NGX_OK;
        }
    }

    if (ngx_http_arg(r, (u_char *) "CMCD", 4, &arg) == NGX_OK) {
        if (sk_cmcd_parse_query(c, (const char *) arg.data, arg.len) != 0) {
            return NGX_ERROR;
        }

        rc = NGX_OK;
    }

    return rc;
}


void
ngx_skip_prefetch_cmcd(ngx_http_request_t *r, ngx_str_t *next)
{
    int        n;
    u_char    *p;
    sk_cmcd    c;
    ngx_int_t  rc;
    char       out[SK_CMCD_NOR_MAX + 1];

    ngx_str_null(next);

    rc = ngx_skip_prefetch_cmcd_read(r, &c);

    if (rc == NGX_DECLINED) {
        return;
    }

    if (rc == NGX_ERROR) {
        ngx_http_skip_metrics_cmcd(NGX_HTTP_SKIP_METRICS_CMCD_INVALID);
        return;
    }

    if (c.nor_len == 0) {
        ngx_http_skip_metrics_cmcd(NGX_HTTP_SKIP_METRICS_CMCD_OK);
        return;
    }

    n = sk_cmcd_resolve((const char *) r->uri.data, r->uri.len, c.nor,
                        c.nor_len, out, sizeof(out));

    if (n <= 0
        || ((size_t) n == r->uri.len
            && ngx_strncmp(out, r->uri.data, n) == 0))
    {
        /* elsewhere, or this very object: nothing to warm */
        ngx_http_skip_metrics_cmcd(NGX_HTTP_SKIP_METRICS_CMCD_UNUSABLE);
        return;
    }

    p = ngx_pnalloc(r->pool, n);
    if (p == NULL) {
        return;
    }

    ngx_memcpy(p, out, n);
    next->data = p;
    next->len = n;

    ngx_http_skip_metrics_cmcd(NGX_HTTP_SKIP_METRICS_CMCD_OK);
}


/*
 * $skip_cmcd_sid: the player's CMCD session id (sid), for logs that join
 * requests of one playback session; empty without a well-formed one.
 */
static ngx_int_t
ngx_skip_prefetch_sid_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char   *p;
    sk_cmcd   c;

    if (ngx_skip_prefetch_cmcd_read(r, &c) != NGX_OK || c.sid_len == 0) {
        v->not_found = 1;
        return NGX_OK;
    }

    p = ngx_pnalloc(r->pool, c.sid_len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(p, c.sid, c.sid_len);

    v->len = c.sid_len;
    v->data = p;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}


/* $skip_prefetch_range: the slice a prefetch subrequest fetches */
static ngx_int_t
ngx_skip_prefetch_range_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    ngx_skip_prefetch_sub_t  *sub;

    if (r->post_subrequest == NULL
        || r->post_subrequest->handler != ngx_skip_prefetch_done)
    {
        v->not_found = 1;
        return NGX_OK;
    }

    sub = r->post_subrequest->data;

    v->len = sub->range.len;
    v->data = sub->range.data;
    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    return NGX_OK;
}
