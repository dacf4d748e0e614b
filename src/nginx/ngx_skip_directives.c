/*
 * ngx_skip: directive handlers of ngx_http_skip_module (see
 * ngx_skip_directives.h).
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../core/keys.h"
#include "../core/model.h"
#include "ngx_skip_conf.h"
#include "ngx_skip_directives.h"
#include "ngx_skip_ledger.h"
#include "ngx_skip_module.h"
#include "ngx_skip_prefetch.h"
#include "ngx_skip_prom.h"


/*
 * skip_redis ADDRESS;
 * skip_redis ADDRESS [ADDRESS...] cluster [read=primary|replica];
 */
char *
ngx_http_skip_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_skip_main_conf_t *smcf = conf;

    ngx_str_t   *value;
    ngx_url_t   *u;
    ngx_uint_t   i, j, naddrs;
    ngx_addr_t  *seed;

    if (smcf->redis_url) {
        return "is duplicate";
    }

    value = cf->args->elts;
    naddrs = 0;

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_strcmp(value[i].data, "cluster") == 0) {
            smcf->redis_cluster = 1;
            continue;
        }

        if (ngx_strcmp(value[i].data, "read=primary") == 0) {
            smcf->redis_read_replicas = 0;
            continue;
        }

        if (ngx_strcmp(value[i].data, "read=replica") == 0) {
            smcf->redis_read_replicas = 1;
            continue;
        }

        if (ngx_strncmp(value[i].data, "read=", 5) == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in skip_redis: "
                               "\"read=primary\" or \"read=replica\"",
                               &value[i]);
            return NGX_CONF_ERROR;
        }

        naddrs++;
    }

    if (naddrs == 0) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_redis has no address");
        return NGX_CONF_ERROR;
    }

    if (!smcf->redis_cluster && (naddrs > 1 || smcf->redis_read_replicas)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_redis: several addresses and \"read=\" "
                           "need the \"cluster\" parameter");
        return NGX_CONF_ERROR;
    }

    smcf->redis_seeds = ngx_array_create(cf->pool, naddrs,
                                         sizeof(ngx_addr_t));
    if (smcf->redis_seeds == NULL) {
        return NGX_CONF_ERROR;
    }

    for (i = 1; i < cf->args->nelts; i++) {
        if (ngx_strcmp(value[i].data, "cluster") == 0
            || ngx_strncmp(value[i].data, "read=", 5) == 0)
        {
            continue;
        }

        u = ngx_pcalloc(cf->pool, sizeof(ngx_url_t));
        if (u == NULL) {
            return NGX_CONF_ERROR;
        }

        /*
         * Resolved here, in the master, once: a worker must never block in
         * getaddrinfo() (hiredis' own connect would).
         */
        u->url = value[i];
        u->default_port = 6379;

        if (ngx_parse_url(cf->pool, u) != NGX_OK) {
            if (u->err) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "%s in skip_redis \"%V\"", u->err,
                                   &u->url);
            }

            return NGX_CONF_ERROR;
        }

        if (u->naddrs == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "skip_redis \"%V\" has no address", &u->url);
            return NGX_CONF_ERROR;
        }

        if (smcf->redis_url == NULL) {
            smcf->redis_url = u;
        }

        /* every address of every seed: any one that answers will do */
        for (j = 0; j < u->naddrs; j++) {
            seed = ngx_array_push(smcf->redis_seeds);
            if (seed == NULL) {
                return NGX_CONF_ERROR;
            }

            *seed = u->addrs[j];
        }
    }

    return NGX_CONF_OK;
}


char *
ngx_http_skip_model(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_skip_main_conf_t *smcf = conf;

    int                     rc;
    char                    err[1024];
    u_char                 *p;
    ngx_int_t               index;
    ngx_str_t              *value, path, version;
    ngx_uint_t              i;
    ngx_http_skip_model_t  *m;

    value = cf->args->elts;

    if (value[1].len == 0 || value[1].len > 63
        || ngx_strcmp(value[1].data, "naive") == 0)
    {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_model: invalid name \"%V\" (1..63 "
                           "characters; \"naive\" is built in)", &value[1]);
        return NGX_CONF_ERROR;
    }

    m = smcf->models.elts;
    for (i = 0; i < smcf->models.nelts; i++) {
        if (m[i].name.len == value[1].len
            && ngx_strncmp(m[i].name.data, value[1].data, value[1].len) == 0)
        {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "skip_model \"%V\" is duplicate", &value[1]);
            return NGX_CONF_ERROR;
        }
    }

    path = value[2];
    if (ngx_conf_full_name(cf->cycle, &path, 1) != NGX_OK) {
        return NGX_CONF_ERROR;
    }

    m = ngx_array_push(&smcf->models);
    if (m == NULL) {
        return NGX_CONF_ERROR;
    }

    ngx_memzero(m, sizeof(ngx_http_skip_model_t));
    m->name = value[1];

    /*
     * the model and its manifest are checked now: nginx -t says why.  The
     * lookup fetches the listener's taste for the models that read it
     * (docs/taste-features.md), and the session context from skip_session
     * and skip_session_counts (unknown without them: those features
     * abstain).  Only here: an admission model is scored without either.
     */
    sk_model_provide_inputs(SK_INPUT_TASTE | SK_INPUT_SESSION);
    rc = sk_model_load(&m->model, (const char *) path.data, err, sizeof(err));
    sk_model_provide_inputs(0);

    if (rc != 0) {
        smcf->models.nelts--;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "skip_model \"%V\": %s",
                           &value[1], err);
        return NGX_CONF_ERROR;
    }

    m->inputs = sk_feature_plan_inputs(&m->model.plan);

    if (m->model.target != SK_TARGET_SKIP) {
        sk_model_free(&m->model);
        smcf->models.nelts--;
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0, "skip_model \"%V\": %V is "
                           "an admission model (for skip_admit_model)",
                           &value[1], &path);
        return NGX_CONF_ERROR;
    }

    p = ngx_pnalloc(cf->pool, value[1].len + 1 + sizeof(m->model.version));
    if (p == NULL) {
        return NGX_CONF_ERROR;
    }

    m->label.data = p;
    m->label.len = ngx_sprintf(p, "%V@%s", &value[1], m->model.version) - p;

    version.data = (u_char *) m->model.version;
    version.len = ngx_strlen(m->model.version);

    index = ngx_http_skip_metrics_model(cf, &value[1], &version);
    if (index == NGX_ERROR) {
        return NGX_CONF_ERROR;
    }

    m->metrics = index;

    return NGX_CONF_OK;
}


/* liblinear's models live in malloc()ed memory: free them with the cycle. */
void
ngx_http_skip_model_cleanup(void *data)
{
    ngx_http_skip_main_conf_t *smcf = data;

    ngx_uint_t              i;
    ngx_http_skip_model_t  *m;

    m = smcf->models.elts;

    for (i = 0; i < smcf->models.nelts; i++) {
        sk_model_free(&m[i].model);
    }
}


char *
ngx_http_skip_threshold(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    char  *p = conf;

    ngx_int_t  *tp;
    ngx_str_t  *value;

    /* skip_threshold and skip_prefetch_threshold: millionths of P(play) */
    tp = (ngx_int_t *) (p + cmd->offset);

    if (*tp != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_http_skip_conf_fraction(cf, &value[1], tp);
}


/* skip_redis_breaker off | THRESHOLD [OPEN [MAX]]; */
char *
ngx_http_skip_breaker(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_skip_main_conf_t *smcf = conf;

    ngx_str_t  *value;

    if (smcf->breaker != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    return ngx_http_skip_conf_breaker(cf, value, cf->args->nelts,
                                      &smcf->breaker, &smcf->breaker_open,
                                      &smcf->breaker_max,
                                      &smcf->breaker_quiet);
}


char *
ngx_http_skip_record_cache(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_skip_main_conf_t *smcf = conf;

    ngx_int_t    n;
    ngx_str_t   *value, arg;
    ngx_uint_t   i;
    ngx_msec_t   ttl;

    if (smcf->cache_size != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (cf->args->nelts > 2) {
            return "takes no time with \"off\"";
        }

        smcf->cache_size = 0;
        return NGX_CONF_OK;
    }

    n = ngx_atoi(value[1].data, value[1].len);
    if (n <= 0 || n > 16 * 1024 * 1024) {
        return "wants \"off\" or a number of entries (1..16777216)";
    }

    smcf->cache_size = n;

    for (i = 2; i < cf->args->nelts; i++) {
        if (value[i].len > 6 && ngx_strncmp(value[i].data, "track=", 6) == 0) {
            if (smcf->cache_track_ttl != NGX_CONF_UNSET_MSEC) {
                return "has a duplicate \"track=\"";
            }

            arg.data = value[i].data + 6;
            arg.len = value[i].len - 6;

            ttl = ngx_parse_time(&arg, 0);
            if (ttl == (ngx_msec_t) NGX_ERROR || ttl == 0) {
                ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                                   "invalid time \"%V\" in \"%V\"",
                                   &arg, &value[i]);
                return NGX_CONF_ERROR;
            }

            smcf->cache_track_ttl = ttl;
            continue;
        }

        if (i != 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid parameter \"%V\" (the time comes "
                               "second, then \"track=time\")", &value[i]);
            return NGX_CONF_ERROR;
        }

        ttl = ngx_parse_time(&value[i], 0);
        if (ttl == (ngx_msec_t) NGX_ERROR || ttl == 0) {
            return "has an invalid time";
        }

        smcf->cache_ttl = ttl;
    }

    return NGX_CONF_OK;
}


/* skip_prefetch_ahead all | N; */
char *
ngx_http_skip_prefetch_ahead(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_skip_loc_conf_t *slcf = conf;

    ngx_int_t   n;
    ngx_str_t  *value;

    if (slcf->prefetch.ahead != NGX_CONF_UNSET) {
        return "is duplicate";
    }

    value = cf->args->elts;

    if (ngx_strcmp(value[1].data, "all") == 0) {
        slcf->prefetch.ahead = NGX_SKIP_PREFETCH_ALL;
        return NGX_CONF_OK;
    }

    n = ngx_atoi(value[1].data, value[1].len);
    if (n < 1 || n > 4096) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_prefetch_ahead \"%V\": \"all\" or a "
                           "number of slices, 1..4096", &value[1]);
        return NGX_CONF_ERROR;
    }

    slcf->prefetch.ahead = n;

    return NGX_CONF_OK;
}


/*
 * skip_session_counts PLAYS SKIPS PREV; three complex values, evaluated
 * per request (ngx_skip_session.c), e.g. the player's X-Session-* headers.
 */
char *
ngx_http_skip_session_counts_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf)
{
    ngx_http_skip_loc_conf_t *slcf = conf;

    ngx_str_t                          *value;
    ngx_uint_t                          i;
    ngx_http_complex_value_t           *cvs[3];
    ngx_http_compile_complex_value_t    ccv;
    ngx_http_skip_session_counts_t     *sc;

    if (slcf->session_counts != NGX_CONF_UNSET_PTR) {
        return "is duplicate";
    }

    sc = ngx_pcalloc(cf->pool, sizeof(ngx_http_skip_session_counts_t));
    if (sc == NULL) {
        return NGX_CONF_ERROR;
    }

    value = cf->args->elts;
    cvs[0] = &sc->plays;
    cvs[1] = &sc->skips;
    cvs[2] = &sc->prev;

    for (i = 0; i < 3; i++) {
        if (value[i + 1].len == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "skip_session_counts: empty %s value "
                               "(plays, skips, previous outcome)",
                               i == 0 ? "first" : (i == 1 ? "second"
                                                          : "third"));
            return NGX_CONF_ERROR;
        }

        ngx_memzero(&ccv, sizeof(ngx_http_compile_complex_value_t));

        ccv.cf = cf;
        ccv.value = &value[i + 1];
        ccv.complex_value = cvs[i];

        if (ngx_http_compile_complex_value(&ccv) != NGX_OK) {
            return NGX_CONF_ERROR;
        }
    }

    slcf->session_counts = sc;

    return NGX_CONF_OK;
}


/* skip_prefetch_zone SIZE [WINDOW]; */
char *
ngx_http_skip_prefetch_zone(ngx_conf_t *cf, ngx_command_t *cmd, void *conf)
{
    ngx_http_skip_main_conf_t *smcf = conf;

    ssize_t     size;
    ngx_str_t  *value;
    ngx_int_t   window;

    if (smcf->prefetch_zone) {
        /* also when a location before this line declared the default */
        return "is duplicate, or comes after a location with "
               "\"skip_prefetch\" (put it before the server blocks)";
    }

    value = cf->args->elts;

    size = ngx_parse_size(&value[1]);
    if (size == NGX_ERROR || size < (ssize_t) (64 * ngx_pagesize)) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "skip_prefetch_zone \"%V\": a size of at "
                           "least %uzk", &value[1], 64 * ngx_pagesize / 1024);
        return NGX_CONF_ERROR;
    }

    window = NGX_SKIP_LEDGER_DEFAULT_WINDOW;

    if (cf->args->nelts > 2) {
        window = ngx_parse_time(&value[2], 1);
        if (window == NGX_ERROR || window < 1 || window > 86400) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "skip_prefetch_zone: window \"%V\" must be "
                               "a time between 1s and 1d", &value[2]);
            return NGX_CONF_ERROR;
        }
    }

    if (ngx_skip_ledger_add_zone(cf, &ngx_http_skip_module, size, window)
        != NGX_OK)
    {
        return NGX_CONF_ERROR;
    }

    smcf->prefetch_zone = 1;

    return NGX_CONF_OK;
}
