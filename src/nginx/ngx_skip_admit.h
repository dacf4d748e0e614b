/*
 * ngx_skip: learned cache admission in nginx (docs/admission.md).
 *
 *   skip_admit_zone NAME SIZE;   the frequency sketch (src/core/
 *                                admit_sketch.h) in a shared memory zone:
 *                                every worker counts into one sketch
 *   skip_admit_model FILE;       the admission model (skipctl admit-train)
 *
 * Per request (or slice subrequest) the module observes the object in the
 * sketch, builds the admission features from what the skip prediction
 * already has (the track record, P(play), the hour) and scores the model:
 * $skip_admit is "1" (store) or "" (do not), for proxy_no_cache.  Nothing
 * here can fail a request: without a zone, a model or the inputs, the
 * answer is "admit" (counted as failopen in skip_admit_total).
 */

#ifndef _NGX_SKIP_ADMIT_H_INCLUDED_
#define _NGX_SKIP_ADMIT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>

#include "../core/model.h"
#include "../core/records.h"


/* in the main configuration */
typedef struct {
    ngx_shm_zone_t             *zone;       /* NULL: no skip_admit_zone */
    size_t                      size;       /* the sketch's bytes */
    void                       *sketch;     /* in the zone, once inited */
    sk_model                    model;
    ngx_uint_t                  loaded;     /* skip_admit_model given */
    ngx_str_t                   model_path;
} ngx_skip_admit_conf_t;


/* what one (sub)request asks about */
typedef struct {
    ngx_str_t                   track_id;
    ngx_uint_t                  slice;      /* slice index, 0 first */
    time_t                      now;        /* seconds since the epoch */
    sk_user_rec                *user;       /* NULL: unknown */
    sk_track_rec               *track;      /* NULL: unknown -> fail open */
    double                      p_play;     /* NaN: unknown */
    ngx_int_t                   hour;       /* -1: unknown */
} ngx_skip_admit_req_t;


char *ngx_skip_admit_zone_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_skip_admit_model_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* init main conf: a model needs a zone and the reverse; sizes agree */
char *ngx_skip_admit_check(ngx_conf_t *cf, ngx_skip_admit_conf_t *ac);

/* The slice of a "bytes=START-..." range (the model's slice size); 0 for
 * anything else or whole-track models. */
ngx_uint_t ngx_skip_admit_slice(ngx_skip_admit_conf_t *ac, ngx_str_t *range);

/*
 * Count the request in the sketch and score it: 1 admit, 0 do not.
 * score: the model's P(admit), or NaN when it failed open.
 */
ngx_uint_t ngx_skip_admit_decide(ngx_skip_admit_conf_t *ac,
    ngx_skip_admit_req_t *ar, double *score);


#endif /* _NGX_SKIP_ADMIT_H_INCLUDED_ */
