/*
 * ngx_skip: the prediction API, `skip_api;` in a location.
 *
 * The original service answered POST /naive, /recommend and /abtest with
 * {"user_id": 101, "track_id": "..."} -> PLAY or SKIP.  Here nginx answers
 * them as a content handler, from the same records, model choice
 * (skip_use_model, split_clients arms), deadline and fallback rules as
 * track requests: the records come through src/ngx_skip_lookup.c and the
 * decision through ngx_http_skip_decide(), the very code the preaccess
 * handler uses, so an answer here equals $skip_score there and
 * `skipctl predict` offline.
 *
 *   POST {"user_id": 101, "track_id": "T"}           one prediction
 *   POST {"user_id": "u", "track_ids": ["T", ...]}   a batch, one round trip
 *        optional "hour" (-1..23) and "position" (>= 0)
 *   GET  ?user_id=101&track_id=T[&hour=H][&position=N]
 *
 * Request errors are 4xx with {"error": "...", "field": "..."}; an id that
 * is no valid id gets "source": "badid" for its item; Redis trouble gets
 * fallback decisions with their source, never a 5xx.
 *
 * It is a third module in the .so (as ngx_skip_events.c is a second) for a
 * location configuration of its own; the model, threshold, fallback and
 * deadline are ngx_http_skip_module's directives in the same location.
 *
 * Life of a request: the content handler checks method, content type and
 * length, reads the body (ngx_http_read_client_request_body); the body
 * handler parses it, starts the lookup, and answers at once when the
 * lookup ended without a round trip; otherwise it waits (the client's
 * leaving is noticed by ngx_http_test_reading, whose finalization runs the
 * cleanup that detaches the lookup) and the lookup's callback posts the
 * request to answer in its own context, as the phase handler does.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "ngx_skip_events.h"
#include "ngx_skip_lookup.h"
#include "ngx_skip_module.h"


#define NGX_HTTP_SKIP_API_MAX_BODY    (64 * 1024)
#define NGX_HTTP_SKIP_API_MAX_TRACKS  500


typedef struct {
    ngx_flag_t                  enable;
    ngx_uint_t                  max_tracks;
    size_t                      max_body;
} ngx_http_skip_api_loc_conf_t;


typedef struct {
    ngx_http_request_t         *request;

    ngx_str_t                   user;        /* the id, as looked up */
    ngx_str_t                   user_json;   /* 101 or "u" in the answer */
    ngx_uint_t                  batch;       /* "track_ids" form */
    ngx_skip_lookup_track_t    *tracks;
    ngx_uint_t                  ntracks;
    ngx_int_t                   hour;        /* -2: not given */
    ngx_int_t                   position;    /* -2: not given */

    ngx_http_skip_model_t      *model;
    double                      threshold;
    ngx_uint_t                  fallback;
    sk_context                  skctx;
    ngx_skip_lookup_t           lk;
    ngx_http_skip_result_t     *res;
    ngx_uint_t                  done;
} ngx_http_skip_api_ctx_t;


#define NGX_HTTP_SKIP_API_NOT_GIVEN  -2


static ngx_int_t ngx_http_skip_api_handler(ngx_http_request_t *r);
static void ngx_http_skip_api_body(ngx_http_request_t *r);
static ngx_int_t ngx_http_skip_api_parse_json(ngx_http_request_t *r,
    ngx_http_skip_api_ctx_t *ctx, u_char *body, size_t len,
    ngx_str_t *field, const char **err);
static ngx_int_t ngx_http_skip_api_parse_args(ngx_http_request_t *r,
    ngx_http_skip_api_ctx_t *ctx, ngx_str_t *field, const char **err);
static ngx_int_t ngx_http_skip_api_json_int(cJSON *item, ngx_int_t min,
    ngx_int_t max, ngx_int_t *out);
static ngx_int_t ngx_http_skip_api_arg_int(ngx_str_t *v, ngx_int_t min,
    ngx_int_t max, ngx_int_t *out);
static ngx_int_t ngx_http_skip_api_copy(ngx_http_request_t *r, ngx_str_t *dst,
    const char *src, size_t len);
static ngx_int_t ngx_http_skip_api_quote(ngx_http_request_t *r,
    ngx_str_t *dst, ngx_str_t *src);
static u_char *ngx_http_skip_api_escape(u_char *p, u_char *src, size_t len);
static void ngx_http_skip_api_looked_up(ngx_skip_lookup_t *lk);
static void ngx_http_skip_api_resume(ngx_http_request_t *r);
static void ngx_http_skip_api_answer(ngx_http_request_t *r,
    ngx_http_skip_api_ctx_t *ctx);
static u_char *ngx_http_skip_api_score(u_char *p, double score);
static ngx_int_t ngx_http_skip_api_error(ngx_http_request_t *r,
    ngx_uint_t status, const char *error, ngx_str_t *field);
static void ngx_http_skip_api_cleanup(void *data);

static ngx_int_t ngx_http_skip_api_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data);
static ngx_int_t ngx_http_skip_api_add_variables(ngx_conf_t *cf);
static char *ngx_http_skip_api_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
static void *ngx_http_skip_api_create_loc_conf(ngx_conf_t *cf);
static char *ngx_http_skip_api_merge_loc_conf(ngx_conf_t *cf, void *parent,
    void *child);


static ngx_conf_num_bounds_t  ngx_http_skip_api_tracks_bounds = {
    ngx_conf_check_num_bounds, 1, NGX_SKIP_LOOKUP_MAX_TRACKS
};


static ngx_command_t  ngx_http_skip_api_commands[] = {

    { ngx_string("skip_api"),
      NGX_HTTP_LOC_CONF|NGX_CONF_NOARGS,
      ngx_http_skip_api_conf,
      NGX_HTTP_LOC_CONF_OFFSET,
      0,
      NULL },

    { ngx_string("skip_api_max_tracks"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_num_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_api_loc_conf_t, max_tracks),
      &ngx_http_skip_api_tracks_bounds },

    { ngx_string("skip_api_max_body"),
      NGX_HTTP_MAIN_CONF|NGX_HTTP_SRV_CONF|NGX_HTTP_LOC_CONF|NGX_CONF_TAKE1,
      ngx_conf_set_size_slot,
      NGX_HTTP_LOC_CONF_OFFSET,
      offsetof(ngx_http_skip_api_loc_conf_t, max_body),
      NULL },

      ngx_null_command
};


static ngx_http_module_t  ngx_http_skip_api_module_ctx = {
    ngx_http_skip_api_add_variables,       /* preconfiguration */
    NULL,                                  /* postconfiguration */

    NULL,                                  /* create main configuration */
    NULL,                                  /* init main configuration */

    NULL,                                  /* create server configuration */
    NULL,                                  /* merge server configuration */

    ngx_http_skip_api_create_loc_conf,     /* create location configuration */
    ngx_http_skip_api_merge_loc_conf       /* merge location configuration */
};


ngx_module_t  ngx_http_skip_api_module = {
    NGX_MODULE_V1,
    &ngx_http_skip_api_module_ctx,         /* module context */
    ngx_http_skip_api_commands,            /* module directives */
    NGX_HTTP_MODULE,                       /* module type */
    NULL,                                  /* init master */
    NULL,                                  /* init module */
    NULL,                                  /* init process */
    NULL,                                  /* init thread */
    NULL,                                  /* exit thread */
    NULL,                                  /* exit process */
    NULL,                                  /* exit master */
    NGX_MODULE_V1_PADDING
};


/* Variables: data says which; batches give comma-separated lists. */
#define NGX_HTTP_SKIP_API_VAR_USER      0
#define NGX_HTTP_SKIP_API_VAR_TRACK     1
#define NGX_HTTP_SKIP_API_VAR_DECISION  2
#define NGX_HTTP_SKIP_API_VAR_SCORE     3
#define NGX_HTTP_SKIP_API_VAR_MODEL     4
#define NGX_HTTP_SKIP_API_VAR_SOURCE    5


static ngx_http_variable_t  ngx_http_skip_api_vars[] = {

    { ngx_string("skip_api_user"), NULL, ngx_http_skip_api_variable,
      NGX_HTTP_SKIP_API_VAR_USER, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("skip_api_track"), NULL, ngx_http_skip_api_variable,
      NGX_HTTP_SKIP_API_VAR_TRACK, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("skip_api_decision"), NULL, ngx_http_skip_api_variable,
      NGX_HTTP_SKIP_API_VAR_DECISION, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("skip_api_score"), NULL, ngx_http_skip_api_variable,
      NGX_HTTP_SKIP_API_VAR_SCORE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("skip_api_model"), NULL, ngx_http_skip_api_variable,
      NGX_HTTP_SKIP_API_VAR_MODEL, NGX_HTTP_VAR_NOCACHEABLE, 0 },

    { ngx_string("skip_api_source"), NULL, ngx_http_skip_api_variable,
      NGX_HTTP_SKIP_API_VAR_SOURCE, NGX_HTTP_VAR_NOCACHEABLE, 0 },

      ngx_http_null_variable
};


static ngx_str_t  ngx_http_skip_api_field_body = ngx_string("body");
static ngx_str_t  ngx_http_skip_api_field_method = ngx_string("method");
static ngx_str_t  ngx_http_skip_api_field_ctype = ngx_string("content-type");


/* ---- the handler ------------------------------------------------------- */


static ngx_int_t
ngx_http_skip_api_handler(ngx_http_request_t *r)
{
    u_char                        *p, *last;
    ngx_int_t                      rc;
    ngx_str_t                     *ct;
    ngx_http_skip_api_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_skip_api_module);

    if (!(r->method & (NGX_HTTP_GET|NGX_HTTP_HEAD|NGX_HTTP_POST))) {
        if (ngx_http_discard_request_body(r) != NGX_OK) {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        if (ngx_http_skip_events_add_header(r, "Allow", "GET, HEAD, POST")
            != NGX_OK)
        {
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        return ngx_http_skip_api_error(r, NGX_HTTP_NOT_ALLOWED,
                                       "method not allowed: POST a JSON "
                                       "body, or GET with query arguments",
                                       &ngx_http_skip_api_field_method);
    }

    if (r->method == NGX_HTTP_POST) {
        /* application/json, maybe with parameters (charset=utf-8) */
        ct = r->headers_in.content_type ? &r->headers_in.content_type->value
                                        : NULL;
        p = ct ? ct->data : NULL;
        last = ct ? ct->data + ct->len : NULL;

        if (ct == NULL
            || ct->len < sizeof("application/json") - 1
            || ngx_strncasecmp(p, (u_char *) "application/json",
                               sizeof("application/json") - 1) != 0
            || (p + sizeof("application/json") - 1 < last
                && p[sizeof("application/json") - 1] != ';'
                && p[sizeof("application/json") - 1] != ' '))
        {
            if (ngx_http_discard_request_body(r) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_http_skip_api_error(r, NGX_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                           "the body must be application/json",
                                           &ngx_http_skip_api_field_ctype);
        }

        if (r->headers_in.content_length_n > (off_t) alcf->max_body) {
            if (ngx_http_discard_request_body(r) != NGX_OK) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            return ngx_http_skip_api_error(r,
                                           NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                           "body too large "
                                           "(skip_api_max_body)",
                                           &ngx_http_skip_api_field_body);
        }
    }

    /* one buffer: client_body_buffer_size is at least skip_api_max_body */
    r->request_body_in_single_buf = 1;

    rc = ngx_http_read_client_request_body(r, ngx_http_skip_api_body);

    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) {
        return rc;
    }

    return NGX_DONE;
}


/* The body is read (or there is none): parse, look up, maybe answer. */
static void
ngx_http_skip_api_body(ngx_http_request_t *r)
{
    u_char                        *body;
    size_t                         len;
    ngx_int_t                      rc;
    ngx_str_t                      field;
    const char                    *err;
    ngx_skip_lookup_t             *lk;
    ngx_http_cleanup_t            *cln;
    ngx_http_skip_api_ctx_t       *ctx;
    ngx_http_skip_loc_conf_t      *slcf;
    ngx_http_skip_api_loc_conf_t  *alcf;

    alcf = ngx_http_get_module_loc_conf(r, ngx_http_skip_api_module);
    slcf = ngx_http_get_module_loc_conf(r, ngx_http_skip_module);

    ctx = ngx_pcalloc(r->pool, sizeof(ngx_http_skip_api_ctx_t));
    if (ctx == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    ctx->request = r;
    ctx->hour = NGX_HTTP_SKIP_API_NOT_GIVEN;
    ctx->position = NGX_HTTP_SKIP_API_NOT_GIVEN;
    ngx_str_null(&field);
    err = NULL;

    if (r->method == NGX_HTTP_POST) {
        body = ngx_http_skip_events_read_body(r, &len);
        if (body == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        if (len > alcf->max_body) {
            /* a chunked body has no Content-Length to check beforehand */
            ngx_http_finalize_request(r, ngx_http_skip_api_error(r,
                                         NGX_HTTP_REQUEST_ENTITY_TOO_LARGE,
                                         "body too large (skip_api_max_body)",
                                         &ngx_http_skip_api_field_body));
            return;
        }

        rc = ngx_http_skip_api_parse_json(r, ctx, body, len, &field, &err);

    } else {
        rc = ngx_http_skip_api_parse_args(r, ctx, &field, &err);
    }

    if (rc == NGX_ERROR) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    if (rc != NGX_OK) {
        ngx_http_finalize_request(r, ngx_http_skip_api_error(r,
                                         NGX_HTTP_BAD_REQUEST, err, &field));
        return;
    }

    if (ctx->ntracks > alcf->max_tracks) {
        ngx_str_set(&field, "track_ids");
        err = ngx_pnalloc(r->pool, 64);
        if (err == NULL) {
            ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            return;
        }

        *ngx_snprintf((u_char *) err, 63, "too many tracks: at most %ui",
                      alcf->max_tracks) = '\0';
        ngx_http_finalize_request(r, ngx_http_skip_api_error(r,
                                         NGX_HTTP_BAD_REQUEST, err, &field));
        return;
    }

    ctx->res = ngx_pcalloc(r->pool,
                           ctx->ntracks * sizeof(ngx_http_skip_result_t));
    if (ctx->res == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    /* $skip_api_user is set: split_clients on it picks the arm now */
    ngx_http_set_ctx(r, ctx, ngx_http_skip_api_module);

    ctx->model = ngx_http_skip_choose_model(r, slcf);
    ctx->threshold = slcf->threshold >= 0 ? slcf->threshold / 1000000.0
                                           : ctx->model->model.threshold;
    ctx->fallback = slcf->fallback;
    ctx->skctx.hour = ctx->hour != NGX_HTTP_SKIP_API_NOT_GIVEN
                      ? ctx->hour : ngx_http_skip_hour(r, slcf);
    ctx->skctx.position = ctx->position != NGX_HTTP_SKIP_API_NOT_GIVEN
                          ? ctx->position : ngx_http_skip_position(r, slcf);

    cln = ngx_http_cleanup_add(r, 0);
    if (cln == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    cln->handler = ngx_http_skip_api_cleanup;
    cln->data = ctx;

    lk = &ctx->lk;
    ngx_http_skip_lookup_init(r, lk, slcf);
    lk->want_taste = (ctx->model->inputs & SK_INPUT_TASTE) != 0;
    lk->handler = ngx_http_skip_api_looked_up;
    lk->data = ctx;
    lk->user_id = ctx->user;
    lk->tracks = ctx->tracks;
    lk->ntracks = ctx->ntracks;

    if (ngx_skip_lookup_start(lk) == NGX_AGAIN) {
        /* notice a client that goes away while we wait */
        r->read_event_handler = ngx_http_test_reading;
        r->write_event_handler = ngx_http_request_empty_handler;
        return;
    }

    ngx_http_skip_api_answer(r, ctx);
}


/* The lookup came back: answer in the request's own context. */
static void
ngx_http_skip_api_looked_up(ngx_skip_lookup_t *lk)
{
    ngx_connection_t         *c;
    ngx_http_request_t       *r;
    ngx_http_skip_api_ctx_t  *ctx;

    ctx = lk->data;
    r = ctx->request;
    c = r->connection;

    ngx_http_set_log_request(c->log, r);

    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = ngx_http_skip_api_resume;

    if (ngx_http_post_request(r, NULL) != NGX_OK) {
        ngx_http_skip_api_resume(r);
        return;
    }

    ngx_http_run_posted_requests(c);
}


static void
ngx_http_skip_api_resume(ngx_http_request_t *r)
{
    ngx_http_skip_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_skip_api_module);

    r->write_event_handler = ngx_http_request_empty_handler;

    if (ctx == NULL || ctx->done) {
        return;
    }

    ngx_http_skip_api_answer(r, ctx);
}


/* Decide every track, write the JSON answer, finalize. */
static void
ngx_http_skip_api_answer(ngx_http_request_t *r, ngx_http_skip_api_ctx_t *ctx)
{
    u_char                  *out, *p;
    size_t                   size;
    ngx_str_t               *src;
    ngx_uint_t               i;
    ngx_http_skip_result_t  *res;

    ctx->done = 1;

    for (i = 0; i < ctx->ntracks; i++) {
        /* one round trip: its latency is counted once */
        ngx_http_skip_decide(ctx->model, ctx->threshold, ctx->fallback,
                             &ctx->skctx, NULL /* a batch has no session */,
                             &ctx->lk, i, i == 0, &ctx->res[i]);
    }

    size = sizeof("{\"user_id\":,\"predictions\":[]}\n") + ctx->user_json.len;

    for (i = 0; i < ctx->ntracks; i++) {
        size += sizeof("{\"track_id\":\"\",\"decision\":\"PLAY\","
                       "\"score\":,\"model\":\"\",\"source\":\"\"},")
                + 6 * ctx->tracks[i].id.len + 32 + ctx->model->label.len
                + sizeof("disconnected");
    }

    out = ngx_pnalloc(r->pool, size);
    if (out == NULL) {
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        return;
    }

    p = ngx_cpymem(out, "{\"user_id\":", sizeof("{\"user_id\":") - 1);
    p = ngx_cpymem(p, ctx->user_json.data, ctx->user_json.len);

    if (ctx->batch) {
        p = ngx_cpymem(p, ",\"predictions\":[",
                       sizeof(",\"predictions\":[") - 1);
    }

    for (i = 0; i < ctx->ntracks; i++) {
        res = &ctx->res[i];
        src = &ngx_skip_sources[res->source];

        if (ctx->batch) {
            if (i) {
                *p++ = ',';
            }

            *p++ = '{';

        } else {
            *p++ = ',';
        }

        p = ngx_cpymem(p, "\"track_id\":\"", sizeof("\"track_id\":\"") - 1);
        p = ngx_http_skip_api_escape(p, ctx->tracks[i].id.data,
                                     ctx->tracks[i].id.len);
        p = ngx_sprintf(p, "\",\"decision\":\"%s\",\"score\":",
                        res->decision == NGX_HTTP_SKIP_PLAY ? "PLAY"
                                                            : "SKIP");

        if (res->scored) {
            p = ngx_http_skip_api_score(p, res->score);

        } else {
            p = ngx_cpymem(p, "null", 4);
        }

        p = ngx_sprintf(p, ",\"model\":\"%V\",\"source\":\"%V\"",
                        &ctx->model->label, src);

        if (ctx->batch) {
            *p++ = '}';
        }
    }

    if (ctx->batch) {
        *p++ = ']';
    }

    *p++ = '}';
    *p++ = '\n';

    ngx_http_finalize_request(r, ngx_http_skip_events_respond(r, NGX_HTTP_OK,
                                                              out, p - out));
}


/*
 * P(play) with all 17 significant digits: the same text as
 * `skipctl predict --json` and $skip_score_exact print, so equal scores
 * are equal strings and a client reads back the very double.
 */
static u_char *
ngx_http_skip_api_score(u_char *p, double score)
{
    if (!isfinite(score)) {
        return ngx_cpymem(p, "null", 4);
    }

    return p + snprintf((char *) p, 32, "%.17g", score);
}


/* ---- parsing ------------------------------------------------------------ */


static ngx_int_t
ngx_http_skip_api_parse_json(ngx_http_request_t *r,
    ngx_http_skip_api_ctx_t *ctx, u_char *body, size_t len, ngx_str_t *field,
    const char **err)
{
    char        num[32];
    cJSON      *root, *u, *t, *ts, *h, *pos, *it;
    ngx_int_t   rc, n, i;

    root = cJSON_ParseWithLength((const char *) body, len);

    if (root == NULL) {
        ngx_str_set(field, "body");
        *err = "malformed JSON";
        return NGX_DECLINED;
    }

    rc = NGX_DECLINED;

    if (!cJSON_IsObject(root)) {
        ngx_str_set(field, "body");
        *err = "the body must be a JSON object";
        goto done;
    }

    ngx_str_set(field, "user_id");
    u = cJSON_GetObjectItemCaseSensitive(root, "user_id");

    if (u == NULL) {
        *err = "missing";
        goto done;
    }

    if (cJSON_IsNumber(u)) {
        if (u->valuedouble < 0 || u->valuedouble > 9007199254740992.0
            || floor(u->valuedouble) != u->valuedouble)
        {
            *err = "a whole number 0..2^53, or a string";
            goto done;
        }

        n = snprintf(num, sizeof(num), "%.0f", u->valuedouble);

        if (ngx_http_skip_api_copy(r, &ctx->user, num, n) != NGX_OK) {
            rc = NGX_ERROR;
            goto done;
        }

        ctx->user_json = ctx->user;

    } else if (cJSON_IsString(u)) {
        if (ngx_http_skip_api_copy(r, &ctx->user, u->valuestring,
                                   ngx_strlen(u->valuestring))
            != NGX_OK
            || ngx_http_skip_api_quote(r, &ctx->user_json, &ctx->user)
               != NGX_OK)
        {
            rc = NGX_ERROR;
            goto done;
        }

    } else {
        *err = "a number or a string";
        goto done;
    }

    t = cJSON_GetObjectItemCaseSensitive(root, "track_id");
    ts = cJSON_GetObjectItemCaseSensitive(root, "track_ids");

    if (t && ts) {
        ngx_str_set(field, "track_ids");
        *err = "give track_id or track_ids, not both";
        goto done;
    }

    if (t == NULL && ts == NULL) {
        ngx_str_set(field, "track_id");
        *err = "missing (or track_ids, a list)";
        goto done;
    }

    if (t) {
        ngx_str_set(field, "track_id");

        if (!cJSON_IsString(t)) {
            *err = "a string";
            goto done;
        }

        ctx->ntracks = 1;

    } else {
        ngx_str_set(field, "track_ids");

        if (!cJSON_IsArray(ts)) {
            *err = "a list of strings";
            goto done;
        }

        ctx->batch = 1;
        ctx->ntracks = cJSON_GetArraySize(ts);

        if (ctx->ntracks == 0) {
            *err = "empty";
            goto done;
        }

        if (ctx->ntracks > NGX_SKIP_LOOKUP_MAX_TRACKS) {
            /* the caller says the configured limit */
            rc = NGX_OK;
            goto done;
        }
    }

    ctx->tracks = ngx_pcalloc(r->pool,
                              ctx->ntracks * sizeof(ngx_skip_lookup_track_t));
    if (ctx->tracks == NULL) {
        rc = NGX_ERROR;
        goto done;
    }

    if (t) {
        if (ngx_http_skip_api_copy(r, &ctx->tracks[0].id, t->valuestring,
                                   ngx_strlen(t->valuestring))
            != NGX_OK)
        {
            rc = NGX_ERROR;
            goto done;
        }

    } else {
        i = 0;

        cJSON_ArrayForEach(it, ts) {
            if (!cJSON_IsString(it)) {
                field->data = ngx_pnalloc(r->pool, 32);
                if (field->data == NULL) {
                    rc = NGX_ERROR;
                    goto done;
                }

                field->len = ngx_sprintf(field->data, "track_ids[%i]", i)
                             - field->data;
                *err = "a string";
                goto done;
            }

            if (ngx_http_skip_api_copy(r, &ctx->tracks[i].id,
                                       it->valuestring,
                                       ngx_strlen(it->valuestring))
                != NGX_OK)
            {
                rc = NGX_ERROR;
                goto done;
            }

            i++;
        }
    }

    h = cJSON_GetObjectItemCaseSensitive(root, "hour");

    if (h && !cJSON_IsNull(h)
        && ngx_http_skip_api_json_int(h, -1, 23, &ctx->hour) != NGX_OK)
    {
        ngx_str_set(field, "hour");
        *err = "a whole number 0..23 (-1: unknown)";
        goto done;
    }

    pos = cJSON_GetObjectItemCaseSensitive(root, "position");

    if (pos && !cJSON_IsNull(pos)
        && ngx_http_skip_api_json_int(pos, 0, 1000000, &ctx->position)
           != NGX_OK)
    {
        ngx_str_set(field, "position");
        *err = "a whole number of plays before this one, 0 or more";
        goto done;
    }

    rc = NGX_OK;

done:

    cJSON_Delete(root);

    return rc;
}


static ngx_int_t
ngx_http_skip_api_parse_args(ngx_http_request_t *r,
    ngx_http_skip_api_ctx_t *ctx, ngx_str_t *field, const char **err)
{
    ngx_str_t   v;
    ngx_uint_t  i, digits;

    ngx_str_set(field, "user_id");

    if (ngx_http_arg(r, (u_char *) "user_id", 7, &v) != NGX_OK) {
        *err = "missing (a query argument)";
        return NGX_DECLINED;
    }

    ctx->user = v;

    /* all digits: a number in the answer, as the original's user ids */
    digits = (v.len > 0 && v.len <= 15);

    for (i = 0; digits && i < v.len; i++) {
        digits = (v.data[i] >= '0' && v.data[i] <= '9');
    }

    if (digits) {
        ctx->user_json = v;

    } else if (ngx_http_skip_api_quote(r, &ctx->user_json, &v) != NGX_OK) {
        return NGX_ERROR;
    }

    ngx_str_set(field, "track_id");

    if (ngx_http_arg(r, (u_char *) "track_id", 8, &v) != NGX_OK) {
        *err = "missing (a query argument)";
        return NGX_DECLINED;
    }

    ctx->tracks = ngx_pcalloc(r->pool, sizeof(ngx_skip_lookup_track_t));
    if (ctx->tracks == NULL) {
        return NGX_ERROR;
    }

    ctx->tracks[0].id = v;
    ctx->ntracks = 1;

    if (ngx_http_arg(r, (u_char *) "hour", 4, &v) == NGX_OK
        && ngx_http_skip_api_arg_int(&v, -1, 23, &ctx->hour) != NGX_OK)
    {
        ngx_str_set(field, "hour");
        *err = "a whole number 0..23 (-1: unknown)";
        return NGX_DECLINED;
    }

    if (ngx_http_arg(r, (u_char *) "position", 8, &v) == NGX_OK
        && ngx_http_skip_api_arg_int(&v, 0, 1000000, &ctx->position)
           != NGX_OK)
    {
        ngx_str_set(field, "position");
        *err = "a whole number of plays before this one, 0 or more";
        return NGX_DECLINED;
    }

    return NGX_OK;
}


/* A JSON number that is a whole number in [min, max]; positions capped. */
static ngx_int_t
ngx_http_skip_api_json_int(cJSON *item, ngx_int_t min, ngx_int_t max,
    ngx_int_t *out)
{
    double  d;

    if (!cJSON_IsNumber(item)) {
        return NGX_DECLINED;
    }

    d = item->valuedouble;

    if (d < min || d > max || floor(d) != d) {
        return NGX_DECLINED;
    }

    *out = (ngx_int_t) d;

    if (*out > SK_POSITION_MAX && min == 0) {
        /* featurize.c caps it too; as skip_position does */
        *out = SK_POSITION_MAX;
    }

    return NGX_OK;
}


static ngx_int_t
ngx_http_skip_api_arg_int(ngx_str_t *v, ngx_int_t min, ngx_int_t max,
    ngx_int_t *out)
{
    ngx_int_t  n;

    if (v->len == 2 && v->data[0] == '-' && v->data[1] == '1' && min < 0) {
        *out = -1;
        return NGX_OK;
    }

    n = ngx_atoi(v->data, v->len);

    if (n == NGX_ERROR || n < min || n > max) {
        return NGX_DECLINED;
    }

    *out = (n > SK_POSITION_MAX && min == 0) ? SK_POSITION_MAX : n;

    return NGX_OK;
}


static ngx_int_t
ngx_http_skip_api_copy(ngx_http_request_t *r, ngx_str_t *dst,
    const char *src, size_t len)
{
    dst->data = ngx_pnalloc(r->pool, len + 1);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    ngx_memcpy(dst->data, src, len);
    dst->data[len] = '\0';
    dst->len = len;

    return NGX_OK;
}


/* src as a JSON string, quotes included. */
static ngx_int_t
ngx_http_skip_api_quote(ngx_http_request_t *r, ngx_str_t *dst,
    ngx_str_t *src)
{
    u_char  *p;

    dst->data = ngx_pnalloc(r->pool, 6 * src->len + 2);
    if (dst->data == NULL) {
        return NGX_ERROR;
    }

    p = dst->data;
    *p++ = '"';
    p = ngx_http_skip_api_escape(p, src->data, src->len);
    *p++ = '"';
    dst->len = p - dst->data;

    return NGX_OK;
}


/* JSON string escaping; ids that are not valid ids come back escaped. */
static u_char *
ngx_http_skip_api_escape(u_char *p, u_char *src, size_t len)
{
    u_char  c;
    size_t  i;

    static u_char  hex[] = "0123456789abcdef";

    for (i = 0; i < len; i++) {
        c = src[i];

        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = c;

        } else if (c < 0x20 || c == 0x7f) {
            *p++ = '\\';
            *p++ = 'u';
            *p++ = '0';
            *p++ = '0';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 0xf];

        } else {
            *p++ = c;
        }
    }

    return p;
}


/* {"error": "...", "field": "..."}; the caller finalizes with the rc. */
static ngx_int_t
ngx_http_skip_api_error(ngx_http_request_t *r, ngx_uint_t status,
    const char *error, ngx_str_t *field)
{
    u_char     *out, *p;
    size_t      len;
    ngx_str_t   e;

    e.data = (u_char *) error;
    e.len = ngx_strlen(error);

    len = sizeof("{\"error\":\"\",\"field\":\"\"}\n") + 6 * e.len
          + 6 * field->len;

    out = ngx_pnalloc(r->pool, len);
    if (out == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = ngx_cpymem(out, "{\"error\":\"", sizeof("{\"error\":\"") - 1);
    p = ngx_http_skip_api_escape(p, e.data, e.len);
    p = ngx_cpymem(p, "\",\"field\":\"", sizeof("\",\"field\":\"") - 1);
    p = ngx_http_skip_api_escape(p, field->data, field->len);
    p = ngx_cpymem(p, "\"}\n", 3);

    return ngx_http_skip_events_respond(r, status, out, p - out);
}


static void
ngx_http_skip_api_cleanup(void *data)
{
    ngx_http_skip_api_ctx_t *ctx = data;

    ngx_skip_lookup_cancel(&ctx->lk);
}


/* ---- variables ---------------------------------------------------------- */


static ngx_int_t
ngx_http_skip_api_variable(ngx_http_request_t *r,
    ngx_http_variable_value_t *v, uintptr_t data)
{
    u_char                   *p;
    size_t                    len;
    ngx_str_t                *s;
    ngx_uint_t                i;
    ngx_http_skip_api_ctx_t  *ctx;

    ctx = ngx_http_get_module_ctx(r, ngx_http_skip_api_module);

    if (ctx == NULL || (data != NGX_HTTP_SKIP_API_VAR_USER && !ctx->done)) {
        v->not_found = 1;
        return NGX_OK;
    }

    v->valid = 1;
    v->no_cacheable = 0;
    v->not_found = 0;

    if (data == NGX_HTTP_SKIP_API_VAR_USER) {
        v->len = ctx->user.len;
        v->data = ctx->user.data;
        return NGX_OK;
    }

    if (data == NGX_HTTP_SKIP_API_VAR_MODEL) {
        v->len = ctx->model->label.len;
        v->data = ctx->model->label.data;
        return NGX_OK;
    }

    /* one value per track, comma-separated */
    len = 0;

    for (i = 0; i < ctx->ntracks; i++) {
        len += 32 + ctx->tracks[i].id.len + 1;
    }

    p = ngx_pnalloc(r->pool, len);
    if (p == NULL) {
        return NGX_ERROR;
    }

    v->data = p;

    for (i = 0; i < ctx->ntracks; i++) {
        if (i) {
            *p++ = ',';
        }

        switch (data) {

        case NGX_HTTP_SKIP_API_VAR_TRACK:
            p = ngx_cpymem(p, ctx->tracks[i].id.data, ctx->tracks[i].id.len);
            break;

        case NGX_HTTP_SKIP_API_VAR_DECISION:
            p = ngx_cpymem(p, ctx->res[i].decision == NGX_HTTP_SKIP_PLAY
                              ? "PLAY" : "SKIP", 4);
            break;

        case NGX_HTTP_SKIP_API_VAR_SCORE:
            if (ctx->res[i].scored) {
                p += snprintf((char *) p, 16, "%.4f", ctx->res[i].score);

            } else {
                *p++ = '-';
            }

            break;

        default: /* NGX_HTTP_SKIP_API_VAR_SOURCE */
            s = &ngx_skip_sources[ctx->res[i].source];
            p = ngx_cpymem(p, s->data, s->len);
            break;
        }
    }

    v->len = p - v->data;

    return NGX_OK;
}


static ngx_int_t
ngx_http_skip_api_add_variables(ngx_conf_t *cf)
{
    ngx_http_variable_t  *var, *v;

    for (v = ngx_http_skip_api_vars; v->name.len; v++) {
        var = ngx_http_add_variable(cf, &v->name, v->flags);
        if (var == NULL) {
            return NGX_ERROR;
        }

        var->get_handler = v->get_handler;
        var->data = v->data;
    }

    return NGX_OK;
}


/* ---- configuration ------------------------------------------------------ */


static char *
ngx_http_skip_api_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_skip_api_loc_conf_t *alcf = conf;

    ngx_http_core_loc_conf_t  *clcf;

    if (alcf->enable != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->handler) {
        return "is duplicate or conflicts with another content handler";
    }

    clcf->handler = ngx_http_skip_api_handler;
    alcf->enable = 1;

    return NGX_CONF_OK;
}


static void *
ngx_http_skip_api_create_loc_conf(ngx_conf_t *cf)
{
    ngx_http_skip_api_loc_conf_t  *conf;

    conf = ngx_pcalloc(cf->pool, sizeof(ngx_http_skip_api_loc_conf_t));
    if (conf == NULL) {
        return NULL;
    }

    conf->enable = NGX_CONF_UNSET;
    conf->max_tracks = NGX_CONF_UNSET_UINT;
    conf->max_body = NGX_CONF_UNSET_SIZE;

    return conf;
}


static char *
ngx_http_skip_api_merge_loc_conf(ngx_conf_t *cf, void *parent, void *child)
{
    ngx_http_skip_api_loc_conf_t *prev = parent;
    ngx_http_skip_api_loc_conf_t *conf = child;

    ngx_http_core_loc_conf_t   *clcf;
    ngx_http_skip_main_conf_t  *smcf;

    /* "skip_api" itself is not inherited: a location is the handler */
    if (conf->enable == NGX_CONF_UNSET) {
        conf->enable = 0;
    }

    ngx_conf_merge_uint_value(conf->max_tracks, prev->max_tracks,
                              NGX_HTTP_SKIP_API_MAX_TRACKS);
    ngx_conf_merge_size_value(conf->max_body, prev->max_body,
                              NGX_HTTP_SKIP_API_MAX_BODY);

    if (!conf->enable) {
        return NGX_CONF_OK;
    }

    smcf = ngx_http_conf_get_module_main_conf(cf, ngx_http_skip_module);

    if (smcf->redis_url == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"skip_api\" needs \"skip_redis\" in the http "
                           "block");
        return NGX_CONF_ERROR;
    }

    /*
     * A body up to skip_api_max_body stays in memory: a batch must not
     * go through a temporary file.  The core module's merge of this
     * location ran already (it is the first HTTP module).
     */
    clcf = ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module);

    if (clcf->client_body_buffer_size < conf->max_body) {
        clcf->client_body_buffer_size = conf->max_body;
    }

    return NGX_CONF_OK;
}
