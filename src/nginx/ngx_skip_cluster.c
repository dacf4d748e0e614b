/*
 * ngx_skip: the feature store on a Redis Cluster, per worker.
 *
 * Why a client of our own rather than hiredis-cluster: Debian 12 has no
 * package of it, it is built on hiredis' async API (the traps of
 * nginx-notes.md 1.4), and the lookup needs exactly four things: route a
 * key, learn the map, follow MOVED / ASK, and fail open per node.  Each
 * node is an ngx_skip_redis_t in "node" mode (ngx_skip_redis.c), so the
 * non-blocking I/O, the reply FIFO, timeouts, reconnect backoff and the
 * circuit breaker are the single-node code, per node.
 *
 * The slot map.  CLUSTER SLOTS, asked of any connected node (round robin,
 * so that one node with a stale or broken view cannot pin us), once per
 * refresh interval (1 s), and within 100 ms after a MOVED, a node lost or
 * a key whose node is down.  Nodes are connected as soon as a map names
 * them (primaries; replicas too with read=replica), so a request never
 * waits for a connect.  A map that does not parse is refused whole and the
 * previous one kept (counted as map_error): a garbage answer can cost
 * freshness, never routing.  Slots no node serves fall back.
 *
 * The active snapshot.  <prefix>:active is one key on one node, read from
 * its primary at every refresh, as the single-node connection does; every
 * lookup of a request uses the one id it read, so a request sees one
 * snapshot even while skipctl switches (docs/feature-store.md, "On a
 * Redis Cluster").
 *
 * Failover.  When a primary dies its connection fails (EOF, or no answer
 * within skip_redis_connect_timeout: ngx_skip_redis_check), the keys of
 * its slots fall back at once (route() says NULL: nothing waits on a
 * dead node), and the map is asked for every 100 ms until it names the
 * promoted replica, which is then connected and used.
 *
 * Memory: the cluster object, its two slot tables and the nodes are heap
 * memory of the worker (they live from init_process to exit_process);
 * nodes are never freed before exit, because a lookup may still hold a
 * command of theirs, and a worker has at most NGX_SKIP_CLUSTER_MAX_NODES.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_event.h>

#include "../core/keys.h"
#include "ngx_skip_cluster.h"
#include "ngx_skip_prom.h"


#define NGX_SKIP_CLUSTER_NONE   0xff     /* no node */
#define NGX_SKIP_CLUSTER_SOON   100      /* ms: map wanted again soon */


typedef struct {
    ngx_skip_redis_conf_t      conf;     /* conf.addr points below */
    ngx_sockaddr_t             sockaddr;
    socklen_t                  socklen;
    u_char                     name[NGX_SOCKADDR_STRLEN];
    ngx_skip_redis_t          *rd;
    ngx_skip_cluster_t        *cluster;

    /*
     * skip_events on a cluster: a second connection to each primary, for
     * the journal scripts and their WAIT (WAIT blocks the connection it is
     * sent on, and it must be the one that wrote: lookups never queue
     * behind it).  Created when a map names the node a primary.
     */
    ngx_skip_redis_conf_t      ev_conf;
    ngx_skip_redis_t          *ev;
} ngx_skip_cluster_node_t;


struct ngx_skip_cluster_s {
    ngx_skip_cluster_conf_t   *conf;
    ngx_cycle_t               *cycle;
    ngx_log_t                  log;

    ngx_skip_cluster_node_t   *nodes[NGX_SKIP_CLUSTER_MAX_NODES];
    ngx_uint_t                 nnodes;

    u_char                    *tables;   /* the 4 tables below */
    u_char                    *primary;  /* [slot] -> node index */
    u_char                    *replica;  /* [slot] -> node for reads */
    u_char                    *next;     /* both of a map being parsed */
    ngx_uint_t                 has_map;
    ngx_uint_t                 degraded; /* a slot's primary is down */

    ngx_skip_redis_cmd_t      *map_cmd;  /* CLUSTER SLOTS in flight */
    ngx_skip_cluster_node_t   *map_node;
    ngx_uint_t                 map_next; /* round robin */
    ngx_skip_redis_cmd_t      *active_cmd;

    ngx_event_t                timer;
    ngx_connection_t           dummy;    /* ev->data of the timer */

    char                       snap[SK_SNAP_MAX + 1];
    ngx_uint_t                 has_snap;
    ngx_uint_t                 snap_gen;
};


static ngx_skip_cluster_node_t *ngx_skip_cluster_node(ngx_skip_cluster_t *cl,
    struct sockaddr *sa, socklen_t socklen);
static ngx_skip_cluster_node_t *ngx_skip_cluster_node_text(
    ngx_skip_cluster_t *cl, u_char *host, size_t len, ngx_uint_t port);
static void ngx_skip_cluster_node_state(void *data, ngx_uint_t ready);
static void ngx_skip_cluster_soon(ngx_skip_cluster_t *cl);
static void ngx_skip_cluster_timer(ngx_event_t *ev);
static void ngx_skip_cluster_ask_map(ngx_skip_cluster_t *cl);
static void ngx_skip_cluster_map_done(void *data, redisReply **replies,
    ngx_uint_t n);
static ngx_int_t ngx_skip_cluster_parse_map(ngx_skip_cluster_t *cl,
    redisReply *r, const char **err);
static ngx_int_t ngx_skip_cluster_parse_node(ngx_skip_cluster_t *cl,
    redisReply *r, u_char *index, const char **err);
static void ngx_skip_cluster_ask_active(ngx_skip_cluster_t *cl);
static void ngx_skip_cluster_active_done(void *data, redisReply **replies,
    ngx_uint_t n);
static ngx_uint_t ngx_skip_cluster_check_degraded(ngx_skip_cluster_t *cl);
static void ngx_skip_cluster_park(ngx_skip_cluster_t *cl);
static void ngx_skip_cluster_events_nodes(ngx_skip_cluster_t *cl);


ngx_skip_cluster_t *
ngx_skip_cluster_create(ngx_cycle_t *cycle, ngx_skip_cluster_conf_t *conf)
{
    ngx_uint_t           i;
    ngx_addr_t          *seed;
    ngx_skip_cluster_t  *cl;

    cl = ngx_calloc(sizeof(ngx_skip_cluster_t), cycle->log);
    if (cl == NULL) {
        return NULL;
    }

    /* primary, replica, and the two "next" tables of a map being parsed */
    cl->tables = ngx_alloc(4 * SK_CLUSTER_SLOTS, cycle->log);
    if (cl->tables == NULL) {
        ngx_free(cl);
        return NULL;
    }

    cl->primary = cl->tables;
    cl->replica = cl->primary + SK_CLUSTER_SLOTS;
    cl->next = cl->replica + SK_CLUSTER_SLOTS;
    ngx_memset(cl->primary, NGX_SKIP_CLUSTER_NONE, 2 * SK_CLUSTER_SLOTS);

    cl->conf = conf;
    cl->cycle = cycle;
    cl->log = *cycle->log;
    cl->log.action = "talking to the skip Redis Cluster";

    cl->dummy.fd = (ngx_socket_t) -1;
    cl->dummy.data = cl;
    cl->dummy.log = &cl->log;

    cl->timer.handler = ngx_skip_cluster_timer;
    cl->timer.data = &cl->dummy;
    cl->timer.log = &cl->log;
    cl->timer.cancelable = 1;

    /* the seeds are connected first; the map they give names the rest */
    seed = conf->seeds->elts;

    for (i = 0; i < conf->seeds->nelts; i++) {
        (void) ngx_skip_cluster_node(cl, seed[i].sockaddr, seed[i].socklen);
    }

    ngx_add_timer(&cl->timer, NGX_SKIP_CLUSTER_SOON);

    return cl;
}


void
ngx_skip_cluster_destroy(ngx_skip_cluster_t *cl)
{
    ngx_uint_t  i;

    if (cl->map_cmd) {
        ngx_skip_redis_detach(cl->map_cmd);
    }

    if (cl->active_cmd) {
        ngx_skip_redis_detach(cl->active_cmd);
    }

    if (cl->timer.timer_set) {
        ngx_del_timer(&cl->timer);
    }

    for (i = 0; i < cl->nnodes; i++) {
        if (cl->nodes[i]->rd) {
            ngx_skip_redis_destroy(cl->nodes[i]->rd);
        }

        if (cl->nodes[i]->ev) {
            ngx_skip_redis_destroy(cl->nodes[i]->ev);
        }

        ngx_free(cl->nodes[i]);
    }

    ngx_http_skip_metrics_redis_connected(0);

    ngx_free(cl->tables);
    ngx_free(cl);
}


ngx_int_t
ngx_skip_cluster_ready(ngx_skip_cluster_t *cl)
{
    return cl->has_map ? NGX_OK : NGX_DECLINED;
}


const char *
ngx_skip_cluster_snapshot(ngx_skip_cluster_t *cl, ngx_uint_t *gen)
{
    *gen = cl->snap_gen;

    return cl->has_snap ? cl->snap : NULL;
}


/* ---- nodes ------------------------------------------------------------- */


/* The node at this address, connected (created when new); NULL if full. */
static ngx_skip_cluster_node_t *
ngx_skip_cluster_node(ngx_skip_cluster_t *cl, struct sockaddr *sa,
    socklen_t socklen)
{
    size_t                    len;
    ngx_uint_t                i;
    ngx_skip_cluster_node_t  *node;

    for (i = 0; i < cl->nnodes; i++) {
        node = cl->nodes[i];

        if (ngx_cmp_sockaddr(&node->sockaddr.sockaddr, node->socklen,
                             sa, socklen, 1)
            == NGX_OK)
        {
            return node;
        }
    }

    if (cl->nnodes == NGX_SKIP_CLUSTER_MAX_NODES
        || socklen > sizeof(ngx_sockaddr_t))
    {
        ngx_skip_warn(&cl->log, 0, "skip: Redis Cluster has more than %d "
                      "nodes: the others are not used",
                      NGX_SKIP_CLUSTER_MAX_NODES);
        return NULL;
    }

    node = ngx_calloc(sizeof(ngx_skip_cluster_node_t), &cl->log);
    if (node == NULL) {
        return NULL;
    }

    ngx_memcpy(&node->sockaddr, sa, socklen);
    node->socklen = socklen;
    len = ngx_sock_ntop(sa, socklen, node->name, sizeof(node->name), 1);

    node->cluster = cl;
    node->conf = cl->conf->node;
    node->conf.addr.sockaddr = &node->sockaddr.sockaddr;
    node->conf.addr.socklen = socklen;
    node->conf.addr.name.data = node->name;
    node->conf.addr.name.len = len;
    node->conf.db = 0;
    node->conf.node = 1;
    node->conf.readonly = cl->conf->read_replicas;
    node->conf.state_handler = ngx_skip_cluster_node_state;
    node->conf.state_data = node;

    cl->nodes[cl->nnodes++] = node;

    /* connects at once; NULL (no memory) leaves its keys falling back */
    node->rd = ngx_skip_redis_create(cl->cycle, &node->conf);

    return node;
}


/* The same from the text of a map or a redirection: numeric only. */
static ngx_skip_cluster_node_t *
ngx_skip_cluster_node_text(ngx_skip_cluster_t *cl, u_char *host, size_t len,
    ngx_uint_t port)
{
    in_addr_t        a;
    socklen_t        socklen;
    ngx_sockaddr_t   sa;

    ngx_memzero(&sa, sizeof(ngx_sockaddr_t));

    /*
     * Never a name lookup in a worker: Redis Cluster announces addresses
     * (cluster-announce-ip), and anything else is refused.
     */
    a = ngx_inet_addr(host, len);

    if (a != INADDR_NONE) {
        sa.sockaddr_in.sin_family = AF_INET;
        sa.sockaddr_in.sin_addr.s_addr = a;
        socklen = sizeof(struct sockaddr_in);

#if (NGX_HAVE_INET6)
    } else if (ngx_inet6_addr(host, len, sa.sockaddr_in6.sin6_addr.s6_addr)
               == NGX_OK)
    {
        sa.sockaddr_in6.sin6_family = AF_INET6;
        socklen = sizeof(struct sockaddr_in6);
#endif

    } else {
        return NULL;
    }

    ngx_inet_set_port(&sa.sockaddr, (in_port_t) port);

    return ngx_skip_cluster_node(cl, &sa.sockaddr, socklen);
}


static void
ngx_skip_cluster_node_state(void *data, ngx_uint_t ready)
{
    ngx_skip_cluster_node_t *node = data;

    /*
     * Called from inside the node's connection code: only a timer here.
     * Up: the first map may now be asked; down: a failover may be on.
     */
    if (!ready || !node->cluster->has_map || node->cluster->degraded) {
        ngx_skip_cluster_soon(node->cluster);
    }
}


ngx_skip_redis_t *
ngx_skip_cluster_route(ngx_skip_cluster_t *cl, ngx_uint_t slot)
{
    ngx_uint_t         i;
    ngx_skip_redis_t  *rd;

    if (!cl->has_map) {
        return NULL;
    }

    if (cl->conf->read_replicas) {
        i = cl->replica[slot];

        if (i != NGX_SKIP_CLUSTER_NONE) {
            rd = cl->nodes[i]->rd;

            if (rd && ngx_skip_redis_ready(rd) == NGX_OK) {
                return rd;
            }
        }
    }

    i = cl->primary[slot];

    if (i != NGX_SKIP_CLUSTER_NONE) {
        rd = cl->nodes[i]->rd;

        if (rd && ngx_skip_redis_ready(rd) == NGX_OK) {
            return rd;
        }
    }

    ngx_http_skip_metrics_cluster(NGX_HTTP_SKIP_METRICS_CL_UNAVAILABLE, 1);
    ngx_skip_cluster_soon(cl);

    return NULL;
}


ngx_skip_redis_t *
ngx_skip_cluster_route_events(ngx_skip_cluster_t *cl, ngx_uint_t slot)
{
    ngx_uint_t         i;
    ngx_skip_redis_t  *rd;

    if (!cl->has_map) {
        return NULL;
    }

    /* always the primary: the journal is written, never read, here */
    i = cl->primary[slot];

    if (i != NGX_SKIP_CLUSTER_NONE) {
        rd = cl->nodes[i]->ev;

        if (rd && ngx_skip_redis_ready(rd) == NGX_OK) {
            return rd;
        }
    }

    ngx_skip_cluster_soon(cl);

    return NULL;
}


ngx_skip_redis_t *
ngx_skip_cluster_redirect(ngx_skip_cluster_t *cl, sk_redirect *r)
{
    ngx_uint_t                i;
    ngx_skip_cluster_node_t  *node;

    node = ngx_skip_cluster_node_text(cl, (u_char *) r->host,
                                      ngx_strlen(r->host), r->port);
    if (node == NULL) {
        ngx_skip_warn(&cl->log, 0, "skip: Redis Cluster redirected to "
                      "\"%s:%ui\", which is no usable address", r->host,
                      (ngx_uint_t) r->port);
        return NULL;
    }

    if (r->kind == SK_REDIRECT_MOVED) {
        ngx_http_skip_metrics_cluster(NGX_HTTP_SKIP_METRICS_CL_MOVED, 1);

        /* the next lookups of the slot go there before the map comes */
        for (i = 0; i < cl->nnodes; i++) {
            if (cl->nodes[i] == node) {
                cl->primary[r->slot] = (u_char) i;
                cl->replica[r->slot] = NGX_SKIP_CLUSTER_NONE;
                break;
            }
        }

        ngx_skip_cluster_soon(cl);

    } else {
        ngx_http_skip_metrics_cluster(NGX_HTTP_SKIP_METRICS_CL_ASK, 1);
    }

    if (node->rd == NULL || ngx_skip_redis_ready(node->rd) != NGX_OK) {
        return NULL;
    }

    return node->rd;
}


/* ---- the refresh ------------------------------------------------------- */


static void
ngx_skip_cluster_soon(ngx_skip_cluster_t *cl)
{
    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    if (cl->timer.timer_set) {
        if ((ngx_msec_int_t) (cl->timer.timer.key - ngx_current_msec)
            <= NGX_SKIP_CLUSTER_SOON)
        {
            return;
        }

        ngx_del_timer(&cl->timer);
    }

    ngx_add_timer(&cl->timer, NGX_SKIP_CLUSTER_SOON);
}


static void
ngx_skip_cluster_timer(ngx_event_t *ev)
{
    ngx_uint_t           i;
    ngx_skip_cluster_t  *cl;

    cl = ((ngx_connection_t *) ev->data)->data;

    if (ngx_exiting || ngx_terminate || ngx_quit) {
        return;
    }

    /* a node that stopped answering is dropped and reconnected */
    for (i = 0; i < cl->nnodes; i++) {
        if (cl->nodes[i]->rd) {
            ngx_skip_redis_check(cl->nodes[i]->rd);
        }

        if (cl->nodes[i]->ev) {
            ngx_skip_redis_check(cl->nodes[i]->ev);
        }
    }

    ngx_skip_cluster_ask_map(cl);
    ngx_skip_cluster_ask_active(cl);

    ngx_add_timer(&cl->timer, (!cl->has_map || cl->degraded)
                              ? NGX_SKIP_CLUSTER_SOON : cl->conf->refresh);
}


static void
ngx_skip_cluster_ask_map(ngx_skip_cluster_t *cl)
{
    static const char     *argv[2] = { "CLUSTER", "SLOTS" };
    static const size_t    lens[2] = { 7, 5 };

    ngx_uint_t               i, k;
    ngx_skip_redis_argv_t    cmd;
    ngx_skip_cluster_node_t *node;

    if (cl->map_cmd || cl->nnodes == 0) {
        return;
    }

    cmd.argc = 2;
    cmd.argv = argv;
    cmd.lens = lens;

    for (k = 0; k < cl->nnodes; k++) {
        i = (cl->map_next + k) % cl->nnodes;
        node = cl->nodes[i];

        if (node->rd == NULL || ngx_skip_redis_ready(node->rd) != NGX_OK) {
            continue;
        }

        cl->map_cmd = ngx_skip_redis_send(node->rd, &cmd, 1,
                                          ngx_skip_cluster_map_done, cl);
        if (cl->map_cmd) {
            cl->map_node = node;
            cl->map_next = i + 1;
            return;
        }
    }

    /*
     * No node to ask: the cluster may have moved entirely (or be down).
     * Every node we ever knew, the seeds first, is tried again.
     */
    for (i = 0; i < cl->nnodes; i++) {
        if (cl->nodes[i]->rd) {
            ngx_skip_redis_unpark(cl->nodes[i]->rd);
        }
    }
}


static void
ngx_skip_cluster_map_done(void *data, redisReply **replies, ngx_uint_t n)
{
    ngx_skip_cluster_t *cl = data;

    u_char       *tmp;
    const char   *err;

    cl->map_cmd = NULL;

    if (replies == NULL) {
        return;                 /* that node is gone: the next one is asked */
    }

    err = NULL;

    if (ngx_skip_cluster_parse_map(cl, replies[0], &err) != NGX_OK) {
        ngx_http_skip_metrics_cluster(NGX_HTTP_SKIP_METRICS_CL_MAP_ERROR, 1);
        ngx_skip_warn(&cl->log, 0, "skip: Redis Cluster node %V sent an "
                      "unusable slot map (%s), the previous one is kept",
                      &cl->map_node->conf.addr.name, err);
        ngx_skip_cluster_soon(cl);
        return;
    }

    /* swap: the new tables become current in one step */
    tmp = cl->primary;
    cl->primary = cl->next;
    cl->replica = cl->primary + SK_CLUSTER_SLOTS;
    cl->next = tmp;

    if (!cl->has_map) {
        ngx_log_error(NGX_LOG_INFO, &cl->log, 0,
                      "skip: Redis Cluster slot map from %V: %ui nodes",
                      &cl->map_node->conf.addr.name, cl->nnodes);
    }

    cl->has_map = 1;
    ngx_skip_cluster_park(cl);

    if (cl->conf->events) {
        ngx_skip_cluster_events_nodes(cl);
    }
    cl->degraded = ngx_skip_cluster_check_degraded(cl);

    ngx_http_skip_metrics_cluster(NGX_HTTP_SKIP_METRICS_CL_MAP, 1);
    ngx_http_skip_metrics_redis_connected(!cl->degraded);

    if (!cl->has_snap) {
        ngx_skip_cluster_ask_active(cl);
    }
}


/*
 * CLUSTER SLOTS: an array of [start, end, [ip, port, id...],
 * [replica ip, port, id...]...].  Everything is checked before anything
 * is used: the result goes into cl->next (primary) and the table after it
 * (replica).
 */
static ngx_int_t
ngx_skip_cluster_parse_map(ngx_skip_cluster_t *cl, redisReply *r,
    const char **err)
{
    u_char       p, rep, index[8];
    ngx_uint_t   i, k, nrep, s;
    long long    start, end;
    redisReply  *e;

    if (r->type != REDIS_REPLY_ARRAY) {
        *err = r->type == REDIS_REPLY_ERROR ? "an error reply" : "not an array";
        return NGX_ERROR;
    }

    if (r->elements == 0) {
        *err = "no slot is served";
        return NGX_ERROR;
    }

    ngx_memset(cl->next, NGX_SKIP_CLUSTER_NONE, 2 * SK_CLUSTER_SLOTS);

    for (i = 0; i < r->elements; i++) {
        e = r->element[i];

        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3
            || e->element[0]->type != REDIS_REPLY_INTEGER
            || e->element[1]->type != REDIS_REPLY_INTEGER)
        {
            *err = "a range is not [start, end, node...]";
            return NGX_ERROR;
        }

        start = e->element[0]->integer;
        end = e->element[1]->integer;

        if (start < 0 || end >= SK_CLUSTER_SLOTS || start > end) {
            *err = "a slot range out of 0..16383";
            return NGX_ERROR;
        }

        if (ngx_skip_cluster_parse_node(cl, e->element[2], &p, err)
            != NGX_OK)
        {
            return NGX_ERROR;
        }

        /* the replicas; each worker reads from another one of them */
        nrep = 0;

        for (k = 3; k < e->elements && nrep < 8; k++) {
            if (ngx_skip_cluster_parse_node(cl, e->element[k], &index[nrep],
                                            err)
                != NGX_OK)
            {
                return NGX_ERROR;
            }

            nrep++;
        }

        rep = nrep ? index[ngx_worker % nrep] : NGX_SKIP_CLUSTER_NONE;

        for (s = (ngx_uint_t) start; s <= (ngx_uint_t) end; s++) {
            cl->next[s] = p;
            cl->next[SK_CLUSTER_SLOTS + s] = rep;
        }
    }

    return NGX_OK;
}


static ngx_int_t
ngx_skip_cluster_parse_node(ngx_skip_cluster_t *cl, redisReply *r,
    u_char *index, const char **err)
{
    u_char                   *host;
    size_t                    len;
    ngx_uint_t                i;
    ngx_skip_cluster_node_t  *node;

    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || r->element[1]->type != REDIS_REPLY_INTEGER
        || r->element[1]->integer <= 0 || r->element[1]->integer > 65535)
    {
        *err = "a node is not [ip, port, ...]";
        return NGX_ERROR;
    }

    host = (u_char *) r->element[0]->str;
    len = r->element[0]->len;

    if (len == 0) {
        /* "" (cluster-preferred-endpoint-type unknown): the asked node */
        node = cl->map_node;

        if (ngx_inet_get_port(&node->sockaddr.sockaddr)
            != (in_port_t) r->element[1]->integer)
        {
            ngx_sockaddr_t  sa;

            sa = node->sockaddr;
            ngx_inet_set_port(&sa.sockaddr,
                              (in_port_t) r->element[1]->integer);
            node = ngx_skip_cluster_node(cl, &sa.sockaddr, node->socklen);
        }

    } else {
        node = ngx_skip_cluster_node_text(cl, host, len,
                                          (ngx_uint_t) r->element[1]->integer);
    }

    if (node == NULL) {
        *err = "a node address is not an IP address";
        return NGX_ERROR;
    }

    for (i = 0; i < cl->nnodes; i++) {
        if (cl->nodes[i] == node) {
            *index = (u_char) i;
            return NGX_OK;
        }
    }

    *err = "no node";
    return NGX_ERROR;
}


/*
 * Nodes the map no longer names (a failed primary, a node removed from the
 * cluster, a seed that is not a member) are closed and not reconnected:
 * no connect attempt and no warning every 2 s for as long as the worker
 * lives.  A map naming one again brings it back.
 */
static void
ngx_skip_cluster_park(ngx_skip_cluster_t *cl)
{
    u_char      named[NGX_SKIP_CLUSTER_MAX_NODES];
    ngx_uint_t  s, i;

    ngx_memzero(named, sizeof(named));

    for (s = 0; s < 2 * SK_CLUSTER_SLOTS; s++) {
        if (cl->primary[s] != NGX_SKIP_CLUSTER_NONE) {
            named[cl->primary[s]] = 1;
        }
    }

    for (i = 0; i < cl->nnodes; i++) {
        if (cl->nodes[i]->rd == NULL) {
            continue;
        }

        if (named[i]) {
            ngx_skip_redis_unpark(cl->nodes[i]->rd);

        } else if (cl->nodes[i] != cl->map_node) {
            /* (the node whose reply this is stays: we are in its handler) */
            ngx_skip_redis_park(cl->nodes[i]->rd);
        }
    }
}


/*
 * The events connections follow the primaries: one to each node the map
 * names a primary (created on first sight: it connects in the
 * background, so the first events after a failover may find it not
 * ready yet and are answered 503), none to the others.
 */
static void
ngx_skip_cluster_events_nodes(ngx_skip_cluster_t *cl)
{
    u_char                    primary[NGX_SKIP_CLUSTER_MAX_NODES];
    ngx_uint_t                s, i;
    ngx_skip_cluster_node_t  *node;

    ngx_memzero(primary, sizeof(primary));

    for (s = 0; s < SK_CLUSTER_SLOTS; s++) {
        if (cl->primary[s] != NGX_SKIP_CLUSTER_NONE) {
            primary[cl->primary[s]] = 1;
        }
    }

    for (i = 0; i < cl->nnodes; i++) {
        node = cl->nodes[i];

        if (!primary[i]) {
            if (node->ev) {
                ngx_skip_redis_park(node->ev);
            }

            continue;
        }

        if (node->ev) {
            ngx_skip_redis_unpark(node->ev);
            continue;
        }

        node->ev_conf = node->conf;
        node->ev_conf.readonly = 0;
        node->ev_conf.durable_check = 1;

        /* NULL (no memory): that primary's events are answered 503 */
        node->ev = ngx_skip_redis_create(cl->cycle, &node->ev_conf);
    }
}


/* A covered slot whose primary is not connected: keep asking for maps. */
static ngx_uint_t
ngx_skip_cluster_check_degraded(ngx_skip_cluster_t *cl)
{
    u_char             seen[NGX_SKIP_CLUSTER_MAX_NODES];
    ngx_uint_t         s, i;
    ngx_skip_redis_t  *rd;

    ngx_memzero(seen, sizeof(seen));

    for (s = 0; s < SK_CLUSTER_SLOTS; s++) {
        i = cl->primary[s];

        if (i == NGX_SKIP_CLUSTER_NONE) {
            return 1;
        }

        if (seen[i]) {
            continue;
        }

        seen[i] = 1;
        rd = cl->nodes[i]->rd;

        if (rd == NULL || ngx_skip_redis_ready(rd) != NGX_OK) {
            return 1;
        }
    }

    return 0;
}


/* ---- the active snapshot --------------------------------------------- */


static void
ngx_skip_cluster_ask_active(ngx_skip_cluster_t *cl)
{
    size_t                  lens[2];
    ngx_uint_t              i;
    const char             *argv[2];
    u_char                  key[SK_KEY_MAX];
    ngx_skip_redis_t       *rd;
    ngx_skip_redis_argv_t   cmd;

    if (cl->active_cmd || !cl->has_map) {
        return;
    }

    argv[0] = "GET";
    lens[0] = 3;
    argv[1] = (const char *) key;
    lens[1] = sk_key_active((char *) key, sizeof(key),
                            (const char *) cl->conf->node.prefix);
    cmd.argc = 2;
    cmd.argv = argv;
    cmd.lens = lens;

    /* from the primary: a switch is seen within one refresh everywhere */
    i = cl->primary[sk_key_slot((const char *) key, lens[1])];

    if (i == NGX_SKIP_CLUSTER_NONE) {
        return;
    }

    rd = cl->nodes[i]->rd;

    if (rd == NULL || ngx_skip_redis_ready(rd) != NGX_OK) {
        return;                 /* the last id known stays in use */
    }

    cl->active_cmd = ngx_skip_redis_send(rd, &cmd, 1,
                                         ngx_skip_cluster_active_done, cl);
}


static void
ngx_skip_cluster_active_done(void *data, redisReply **replies, ngx_uint_t n)
{
    ngx_skip_cluster_t *cl = data;

    redisReply  *r;
    sk_redirect  rd;

    cl->active_cmd = NULL;

    if (replies == NULL) {
        return;
    }

    r = replies[0];

    if (r->type == REDIS_REPLY_NIL) {
        if (cl->has_snap) {
            cl->has_snap = 0;
            cl->snap_gen++;
        }

        return;
    }

    if (r->type == REDIS_REPLY_ERROR) {
        if (sk_redirect_parse(r->str, r->len, &rd) == SK_REDIRECT_MOVED) {
            (void) ngx_skip_cluster_redirect(cl, &rd);
            return;
        }

        ngx_skip_warn(&cl->log, 0, "skip: Redis Cluster: GET %s:active: %*s",
                      cl->conf->node.prefix, (size_t) ngx_min(r->len, 200),
                      r->str);
        return;
    }

    if (r->type != REDIS_REPLY_STRING || !sk_snapshot_valid(r->str, r->len)) {
        ngx_skip_warn(&cl->log, 0, "skip: Redis Cluster: unexpected reply "
                      "to GET %s:active (type %d)", cl->conf->node.prefix,
                      r->type);
        return;
    }

    if (!cl->has_snap || ngx_strcmp(cl->snap, r->str) != 0) {
        ngx_memcpy(cl->snap, r->str, r->len);
        cl->snap[r->len] = '\0';
        cl->has_snap = 1;
        cl->snap_gen++;

        ngx_log_error(NGX_LOG_INFO, &cl->log, 0,
                      "skip: Redis Cluster: active snapshot \"%s\"",
                      cl->snap);
    }
}
