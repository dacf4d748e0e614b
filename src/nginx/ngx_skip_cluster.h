/*
 * ngx_skip: the feature store on a Redis Cluster, per worker (see
 * ngx_skip_cluster.c for the design).
 *
 * A slot map (CLUSTER SLOTS) and one ngx_skip_redis_t connection per node,
 * each an ordinary pipelined connection in "node" mode.  The lookup routes
 * each HMGET by its key's hash slot (crc16_slot.h) with
 * ngx_skip_cluster_route(), sends the commands of each node in one send on
 * that node's connection (all nodes in the same event loop iteration: one
 * round trip), and hands MOVED / ASK answers to ngx_skip_cluster_redirect().
 */

#ifndef _NGX_SKIP_CLUSTER_H_INCLUDED_
#define _NGX_SKIP_CLUSTER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "../core/crc16_slot.h"
#include "ngx_skip_redis.h"


/* Nodes one worker talks to (primaries and replicas); more are ignored. */
#define NGX_SKIP_CLUSTER_MAX_NODES  64


typedef struct ngx_skip_cluster_s  ngx_skip_cluster_t;


typedef struct {
    ngx_array_t               *seeds;      /* ngx_addr_t, resolved */
    ngx_uint_t                 read_replicas;

    /* password, prefix, timeouts, breaker: every node connection's */
    ngx_skip_redis_conf_t      node;
    ngx_msec_t                 refresh;    /* slot map and active pointer */
    ngx_uint_t                 events;     /* skip_events: connections to
                                              the primaries for events */
} ngx_skip_cluster_conf_t;


ngx_skip_cluster_t *ngx_skip_cluster_create(ngx_cycle_t *cycle,
    ngx_skip_cluster_conf_t *conf);
void ngx_skip_cluster_destroy(ngx_skip_cluster_t *cl);

/* NGX_OK once a slot map is known, NGX_DECLINED before. */
ngx_int_t ngx_skip_cluster_ready(ngx_skip_cluster_t *cl);

/* As ngx_skip_redis_snapshot(): read from <prefix>:active's node. */
const char *ngx_skip_cluster_snapshot(ngx_skip_cluster_t *cl,
    ngx_uint_t *gen);

/*
 * The connection to read a key of this slot from: its primary, or with
 * read=replica a ready replica of it (else the primary).  NULL when no
 * node owns the slot or its node is not connected: the caller falls back
 * for that key (fail-open, counted as "unavailable"), and the map is
 * asked for again soon (a failover may be under way).
 */
ngx_skip_redis_t *ngx_skip_cluster_route(ngx_skip_cluster_t *cl,
    ngx_uint_t slot);

/*
 * skip_events: the events connection of the slot's primary (never a
 * replica), NULL when it is not connected: the event is answered 503.
 */
ngx_skip_redis_t *ngx_skip_cluster_route_events(ngx_skip_cluster_t *cl,
    ngx_uint_t slot);

/*
 * A node answered -MOVED or -ASK (parsed by sk_redirect_parse).  MOVED
 * points the slot at the new node at once and asks for a fresh map;
 * ASK changes nothing.  Returns the connection to retry on, NULL when
 * that node is not connected (yet): the key falls back.
 */
ngx_skip_redis_t *ngx_skip_cluster_redirect(ngx_skip_cluster_t *cl,
    sk_redirect *r);


#endif /* _NGX_SKIP_CLUSTER_H_INCLUDED_ */
