/*
 * ngx_skip: learned cache admission (see ngx_skip_admit.h).
 *
 * The zone holds one block allocated from its slab pool: the sketch of
 * src/core/admit_sketch.c, of exactly the size given (the zone is that
 * plus the slab allocator's overhead), so that a sketch of the same size
 * in `skipctl simulate` counts exactly the same.  It is formatted once and
 * kept across reloads of the same size.  Updates are relaxed atomic compare-and-swaps
 * on a handful of 32-bit cells and one 64-bit exchange: no mutex, so
 * workers never queue behind each other on the request path (the
 * concurrency choice is explained in admit_sketch.h).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include <math.h>

#include "../core/admit_sketch.h"
#include "ngx_skip_admit.h"
#include "ngx_skip_prom.h"


static ngx_int_t ngx_skip_admit_init_zone(ngx_shm_zone_t *shm_zone,
    void *data);
static void ngx_skip_admit_model_cleanup(void *data);


static ngx_str_t  ngx_skip_admit_tag = ngx_string("skip_admit_zone");


char *
ngx_skip_admit_zone_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_skip_admit_conf_t  *ac = (void *) ((char *) conf + cmd->offset);

    ssize_t     size;
    ngx_str_t  *value;

    value = cf->args->elts;

    if (ac->zone) {
        return "is duplicate";
    }

    if (value[1].len == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_admit_zone: empty zone name");
        return NGX_CONF_ERROR;
    }

    size = ngx_parse_size(&value[2]);

    if (size == NGX_ERROR || sk_sketch_width_for((size_t) size) == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_admit_zone \"%V\": invalid size \"%V\" "
                           "(at least %uzk)", &value[1], &value[2],
                           (sk_sketch_bytes(SK_SKETCH_MIN_WIDTH) + 1023)
                           / 1024);
        return NGX_CONF_ERROR;
    }

    ac->size = (size_t) size;

    /* the slab allocator's header and page table, and one spare page */
    ac->zone = ngx_shared_memory_add(cf, &value[1],
                                     size + size / 16 + 16 * ngx_pagesize,
                                     &ngx_skip_admit_tag);
    if (ac->zone == NULL) {
        return NGX_CONF_ERROR;
    }

    if (ac->zone->data) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_admit_zone \"%V\" is already declared",
                           &value[1]);
        return NGX_CONF_ERROR;
    }

    ac->zone->init = ngx_skip_admit_init_zone;
    ac->zone->data = ac;

    return NGX_CONF_OK;
}


static ngx_int_t
ngx_skip_admit_init_zone(ngx_shm_zone_t *shm_zone, void *data)
{
    ngx_skip_admit_conf_t  *ac = shm_zone->data;

    ngx_slab_pool_t  *shpool;

    shpool = (ngx_slab_pool_t *) shm_zone->shm.addr;

    /*
     * A reload keeps a zone of the same name and size, counts included
     * (nginx reuses its memory as is).
     */
    if ((data || shm_zone->shm.exists) && shpool->data
        && sk_sketch_valid(shpool->data, ac->size))
    {
        ac->sketch = shpool->data;
        return NGX_OK;
    }

    ac->sketch = ngx_slab_alloc(shpool, ac->size);

    if (ac->sketch == NULL || sk_sketch_init(ac->sketch, ac->size) != 0) {
        ngx_log_error(NGX_LOG_EMERG, shm_zone->shm.log, 0,
                      "skip_admit_zone \"%V\": cannot place a sketch of "
                      "%uz bytes", &shm_zone->shm.name, ac->size);
        return NGX_ERROR;
    }

    shpool->data = ac->sketch;

    return NGX_OK;
}


char *
ngx_skip_admit_model_conf(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_skip_admit_conf_t  *ac = (void *) ((char *) conf + cmd->offset);

    char                 err[1024];
    ngx_str_t           *value, path;
    ngx_pool_cleanup_t  *cln;

    value = cf->args->elts;

    if (ac->loaded) {
        return "is duplicate";
    }

    path = value[1];
    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    /* checked now: nginx -t says why a model cannot be served */
    if (sk_model_load(&ac->model, (const char *) path.data, err,
                      sizeof(err))
        != 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "skip_admit_model: %s",
                           err);
        return NGX_CONF_ERROR;
    }

    cln = ngx_pool_cleanup_add(cf->pool, 0);
    if (cln == NULL) {
        sk_model_free(&ac->model);
        return NGX_CONF_ERROR;
    }

    cln->handler = ngx_skip_admit_model_cleanup;
    cln->data = &ac->model;

    if (ac->model.target != SK_TARGET_ADMIT) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_admit_model \"%V\" is a skip model, not an "
                           "admission model (skipctl admit-train writes "
                           "those)", &path);
        return NGX_CONF_ERROR;
    }

    ac->loaded = 1;
    ac->model_path = path;

    return NGX_CONF_OK;
}


static void
ngx_skip_admit_model_cleanup(void *data)
{
    sk_model_free(data);
}


char *
ngx_skip_admit_check(ngx_conf_t *cf, ngx_skip_admit_conf_t *ac)
{
    if (ac->loaded && ac->zone == NULL) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"skip_admit_model\" needs a \"skip_admit_zone\" "
                           "for its frequency sketch");
        return NGX_CONF_ERROR;
    }

    if (ac->zone && !ac->loaded) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"skip_admit_zone\" without a "
                           "\"skip_admit_model\" to score with");
        return NGX_CONF_ERROR;
    }

    if (ac->loaded && (double) ac->size != ac->model.admit_sketch_bytes)
    {
        /* the counts differ from what it learned on: still works */
        ngx_conf_log_error(NGX_LOG_WARN, cf, 0,
                           "skip_admit_zone \"%V\" is %uz bytes, the model "
                           "\"%V\" was trained with a sketch of %.0f bytes "
                           "(skipctl admit-train --sketch)",
                           &ac->zone->shm.name, ac->size,
                           &ac->model_path, ac->model.admit_sketch_bytes);
    }

    return NGX_CONF_OK;
}


ngx_uint_t
ngx_skip_admit_slice(ngx_skip_admit_conf_t *ac, ngx_str_t *range)
{
    u_char  *p, *last;
    off_t    start;

    if (!(ac->model.admit_slice_bytes > 0) || range->len < 7
        || ngx_strncasecmp(range->data, (u_char *) "bytes=", 6) != 0)
    {
        return 0;
    }

    p = range->data + 6;
    last = range->data + range->len;

    start = 0;

    while (p < last && *p >= '0' && *p <= '9') {
        if (start >= NGX_MAX_OFF_T_VALUE / 10) {
            return 0;
        }

        start = start * 10 + (*p++ - '0');
    }

    if (p == range->data + 6 || p == last || *p != '-') {
        return 0;
    }

    return (ngx_uint_t) (start / (off_t) ac->model.admit_slice_bytes);
}


ngx_uint_t
ngx_skip_admit_decide(ngx_skip_admit_conf_t *ac, ngx_skip_admit_req_t *ar,
    double *score)
{
    sk_context    ctx;
    sk_user_rec   nouser;
    sk_admit_in   in;

    *score = NAN;

    if (ac->sketch == NULL || !ac->loaded || ar->track_id.len == 0) {
        ngx_http_skip_metrics_admit(NGX_HTTP_SKIP_METRICS_ADMIT_OPEN);
        return 1;
    }

    ngx_memzero(&in, sizeof(sk_admit_in));

    /* counted whatever follows: the sketch sees every request */
    sk_sketch_observe(ac->sketch,
                      sk_sketch_key((const char *) ar->track_id.data,
                                    ar->track_id.len, ar->slice),
                      (int64_t) ar->now, &in);

    if (ar->track == NULL) {
        ngx_http_skip_metrics_admit(NGX_HTTP_SKIP_METRICS_ADMIT_OPEN);
        return 1;
    }

    if (ar->user == NULL) {
        ngx_memzero(&nouser, sizeof(sk_user_rec));
        ar->user = &nouser;
    }

    in.slice = (int) ar->slice;
    in.slice_bytes = ac->model.admit_slice_bytes;
    in.bitrate_kbps = ac->model.admit_bitrate_kbps;
    in.p_play = ar->p_play;

    ctx.hour = (int) ar->hour;
    ctx.position = -1;
    ctx.admit = &in;

    *score = sk_model_score(&ac->model, ar->user, ar->track, &ctx);

    if (sk_model_decide(&ac->model, *score)) {
        ngx_http_skip_metrics_admit(NGX_HTTP_SKIP_METRICS_ADMIT_YES);
        return 1;
    }

    ngx_http_skip_metrics_admit(NGX_HTTP_SKIP_METRICS_ADMIT_NO);
    return 0;
}
