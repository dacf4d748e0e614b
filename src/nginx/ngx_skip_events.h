/*
 * ngx_skip: the `skip_events` location handler (play/skip events from
 * listeners into the feature store, and their outcomes into the live A/B
 * counts).  It is a second nginx module, ngx_http_skip_events_module, in
 * the same .so as ngx_http_skip_module: its directives need a location
 * configuration of their own.  See ngx_skip_events.c and
 * docs/directives.md.
 */

#ifndef _NGX_SKIP_EVENTS_H_INCLUDED_
#define _NGX_SKIP_EVENTS_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "ngx_skip_cluster.h"
#include "ngx_skip_redis.h"


/* `skip_events;`: makes the location the events handler */
char *ngx_http_skip_events_conf(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/*
 * Provided by ngx_skip_module.c: the calling worker's Redis connection
 * (NULL without skip_redis or before init_process) and the key prefix
 * (skip_redis_prefix, NUL-terminated).
 */
ngx_skip_redis_t *ngx_http_skip_worker_redis(ngx_http_request_t *r,
    ngx_str_t *prefix);

/*
 * Also from ngx_skip_module.c: the calling worker's Redis Cluster client
 * (NULL without "skip_redis ... cluster") and skip_redis_connect_timeout.
 */
ngx_skip_cluster_t *ngx_http_skip_worker_cluster(ngx_http_request_t *r,
    ngx_msec_t *connect_timeout);

/* Whether some location is a skip_events handler (for the cluster's
 * events connections). */
ngx_uint_t ngx_http_skip_events_used(ngx_conf_t *cf);

/*
 * Also used by the prediction API (ngx_skip_api.c): the request body read
 * by ngx_http_read_client_request_body() as one NUL-terminated string
 * (memory or temp file; NULL on failure), a complete JSON answer, and an
 * output header.
 */
u_char *ngx_http_skip_events_read_body(ngx_http_request_t *r, size_t *len);
ngx_int_t ngx_http_skip_events_respond(ngx_http_request_t *r,
    ngx_uint_t status, u_char *body, size_t len);
ngx_int_t ngx_http_skip_events_add_header(ngx_http_request_t *r,
    const char *name, const char *value);


extern ngx_module_t  ngx_http_skip_events_module;


#endif /* _NGX_SKIP_EVENTS_H_INCLUDED_ */
