/*
 * ngx_skip events handler, private: the configuration and request context
 * types shared by the handler (ngx_skip_events.c) and the batch parser
 * (ngx_skip_events_parse.c).  The public side is ngx_skip_events.h.
 */

#ifndef _NGX_SKIP_EVENTS_INT_H_INCLUDED_
#define _NGX_SKIP_EVENTS_INT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../core/dataset.h"
#include "../core/keys.h"
#include "ngx_skip_cluster.h"
#include "ngx_skip_redis.h"


/* bad lines named in a 400 answer (all are counted) */
#define NGX_HTTP_SKIP_EVENTS_MAX_ERRORS  8


typedef struct {
    ngx_msec_t                   timeout;
    ngx_msec_t                   max_skew;     /* how far ahead an event
                                                  may be dated */
    ngx_int_t                    max_events;
    ngx_str_t                    token;        /* empty: no token check */
} ngx_http_skip_events_loc_conf_t;


typedef struct {
    ngx_flag_t                   used;         /* some skip_events */
    ssize_t                      recent_size;  /* 0: off */
    time_t                       recent_ttl;
} ngx_http_skip_events_main_conf_t;


typedef struct {
    int64_t                      ts_ms;
    int64_t                      user_id;
    int64_t                      session_id;
    long                         line;         /* in the body, from 1 */
    sk_event_type                type;
    int                          hour;         /* local, for the taste */
    char                         track[SK_ID_LEN + 1];
    u_char                       user[NGX_INT64_LEN + 1];
    size_t                       user_len;
} ngx_http_skip_events_ev_t;


typedef struct ngx_http_skip_events_ctx_s  ngx_http_skip_events_ctx_t;


/* what a Redis command points at: heap memory, see "Lifetime" above */
typedef struct {
    ngx_http_skip_events_ctx_t  *ctx;
    ngx_skip_redis_cmd_t        *cmd;          /* NULL: no reply pending */
    ngx_uint_t                   event;        /* index in ctx->events */
    ngx_uint_t                   noscript;     /* NOSCRIPT replies so far */
} ngx_http_skip_events_ticket_t;


struct ngx_http_skip_events_ctx_s {
    ngx_http_request_t             *request;
    ngx_skip_redis_t               *redis;
    ngx_str_t                       prefix;
    ngx_event_t                     deadline;

    ngx_http_skip_events_ev_t      *events;
    ngx_uint_t                      nevents;   /* all accepted lines */
    ngx_uint_t                      nlikes;

    ngx_http_skip_events_ticket_t  *tickets;   /* ngx_alloc()ed */
    ngx_uint_t                      ntickets;
    ngx_uint_t                      pending;
    ngx_uint_t                      applied;
    ngx_uint_t                      eval_sent;
    ngx_uint_t                      done;
    ngx_uint_t                      async;     /* answer from an event */

    u_char                          active_key[SK_KEY_MAX];
    size_t                          active_len;
    u_char                          events_key[SK_KEY_MAX];
    size_t                          events_len;

    void                           *cluster_state;  /* heap, while a
                                                       cluster batch waits
                                                       (events_cluster) */
};


/*
 * Read the body (len bytes, NUL-terminated) into ctx->events: NGX_OK, or
 * an HTTP status (400, 413) with the JSON answer in out (pool memory).
 * Every Play/Skip passes the event rule (event_rule.h) with max_skew;
 * more than max lines is 413.  Nothing is sent to Redis here.
 */
ngx_int_t ngx_http_skip_events_parse(ngx_http_request_t *r,
    ngx_http_skip_events_ctx_t *ctx, u_char *body, size_t len,
    ngx_uint_t max, ngx_msec_t max_skew, ngx_str_t *out);

/* The answers (ngx_skip_events.c); each ends the request once. */
void ngx_http_skip_events_succeed(ngx_http_skip_events_ctx_t *ctx);
void ngx_http_skip_events_unavailable(ngx_http_skip_events_ctx_t *ctx,
    const char *why);
void ngx_http_skip_events_refused(ngx_http_skip_events_ctx_t *ctx,
    long line, const char *why, size_t len);

/*
 * On a Redis Cluster (ngx_skip_events_cluster.c): journal the batch's
 * Play/Skip events on their shards' primaries, WAIT for a replica, then
 * answer (or leave the request waiting for the replies).
 */
void ngx_http_skip_events_cluster(ngx_http_skip_events_ctx_t *ctx,
    ngx_skip_cluster_t *cl, ngx_msec_t timeout, ngx_msec_t connect_timeout);

/* s as a JSON string body (no quotes) into p..last; returns the end */
u_char *ngx_http_skip_events_json_str(u_char *p, u_char *last,
    const char *s);


#endif /* _NGX_SKIP_EVENTS_INT_H_INCLUDED_ */
