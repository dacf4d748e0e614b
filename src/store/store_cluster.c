/*
 * skipctl's feature-store client on a Redis Cluster (store.h, "Redis
 * Cluster").  Blocking, like the rest of skipctl's client: one hiredis
 * context per primary, the slot map from CLUSTER SLOTS, each command sent
 * to the primary of its key's slot (crc16_slot.h).
 *
 * What a cluster refuses is refused here first, with a message that says
 * why: a command whose keys hash to different slots (CROSSSLOT) would
 * otherwise come back as a bare error from whichever node got it.  The
 * loader's pipeline keeps one pipeline per primary and sends every node
 * its part of a batch before reading any reply, so the primaries work in
 * parallel.  A redirection is followed once: MOVED re-reads the map and
 * retries on the new owner, ASK sends ASKING and the command to the node
 * named.  A slot migrating during a load is otherwise not handled (the
 * load fails, naming the node and the command; run it again).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../core/crc16_slot.h"
#include "store.h"

#define SK_CLUSTER_MAX_NODES  64

typedef struct {
    char           host[64];
    int            port;
    redisContext  *c;
    int            replicas;           /* in the last map */
    int            primary;            /* serves slots in the last map */
    int            pending;            /* bulk: appended, not read */
} sk_cl_node;

struct sk_store_cluster {
    sk_cl_node     node[SK_CLUSTER_MAX_NODES];
    int            nnodes;
    int            pin;                /* keyless commands: node, -1 seed */
    unsigned char  slot[SK_CLUSTER_SLOTS];
};

static int
node_fail(sk_store *s, sk_cl_node *n, const char *what, const char *why)
{
    snprintf(s->err, sizeof(s->err), "redis %s:%d (cluster node): %s: %s",
             n->host, n->port, what, why);
    return -1;
}

static const char *
ctx_why(redisContext *c)
{
    if (c == NULL) {
        return "out of memory";
    }
    if (c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return "timed out (--timeout)";
    }
    return c->errstr[0] ? c->errstr : "connection lost";
}

/* The node at host:port, connected and authenticated; -1 on failure. */
static int
node_get(sk_store *s, const char *host, size_t hlen, int port)
{
    sk_store_cluster *cl = s->cl;
    sk_cl_node       *n;
    struct timeval    tv;
    redisReply       *r;
    int               i;

    for (i = 0; i < cl->nnodes; i++) {
        if (cl->node[i].port == port && strlen(cl->node[i].host) == hlen
            && memcmp(cl->node[i].host, host, hlen) == 0)
        {
            return i;
        }
    }
    if (cl->nnodes == SK_CLUSTER_MAX_NODES || hlen >= sizeof(n->host)) {
        snprintf(s->err, sizeof(s->err), "--cluster: more than %d nodes, or "
                 "a node address longer than 63 bytes",
                 SK_CLUSTER_MAX_NODES);
        return -1;
    }
    n = &cl->node[cl->nnodes];
    memset(n, 0, sizeof(*n));
    memcpy(n->host, host, hlen);
    n->host[hlen] = '\0';
    n->port = port;

    tv.tv_sec = s->opts.timeout_ms / 1000;
    tv.tv_usec = (s->opts.timeout_ms % 1000) * 1000;
    n->c = redisConnectWithTimeout(n->host, port, tv);
    if (n->c == NULL || n->c->err || redisSetTimeout(n->c, tv) != REDIS_OK) {
        node_fail(s, n, "connect", ctx_why(n->c));
        if (n->c) {
            redisFree(n->c);
        }
        return -1;
    }
    if (s->opts.password) {
        r = redisCommand(n->c, "AUTH %s", s->opts.password);
        if (r == NULL || r->type == REDIS_REPLY_ERROR) {
            node_fail(s, n, "AUTH", r ? r->str : ctx_why(n->c));
            if (r) {
                freeReplyObject(r);
            }
            redisFree(n->c);
            return -1;
        }
        freeReplyObject(r);
    }
    return cl->nnodes++;
}

/* CLUSTER SLOTS from the seed (else any primary we know), checked. */
static int
read_map(sk_store *s)
{
    sk_store_cluster *cl = s->cl;
    redisReply       *r = NULL, *e, *h;
    long long         a, b, k;
    size_t            i;
    int               j, idx;
    char              addr[300];

    memset(cl->slot, 0xff, sizeof(cl->slot));
    if (s->c && !s->c->err) {
        r = redisCommand(s->c, "CLUSTER SLOTS");
    }
    for (j = 0; r == NULL && j < cl->nnodes; j++) {
        if (cl->node[j].c && !cl->node[j].c->err) {
            r = redisCommand(cl->node[j].c, "CLUSTER SLOTS");
        }
    }
    if (r == NULL) {
        snprintf(s->err, sizeof(s->err), "redis %s: CLUSTER SLOTS: %s",
                 sk_store_addr(&s->opts, addr, sizeof(addr)),
                 ctx_why(s->c));
        return -1;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(s->err, sizeof(s->err), "redis %s: --cluster, but CLUSTER "
                 "SLOTS says: %s", sk_store_addr(&s->opts, addr,
                 sizeof(addr)), r->str);
        freeReplyObject(r);
        return -1;
    }
    for (j = 0; j < cl->nnodes; j++) {
        cl->node[j].primary = 0;
        cl->node[j].replicas = 0;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        goto bad;
    }
    for (i = 0; i < r->elements; i++) {
        e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3
            || e->element[0]->type != REDIS_REPLY_INTEGER
            || e->element[1]->type != REDIS_REPLY_INTEGER)
        {
            goto bad;
        }
        a = e->element[0]->integer;
        b = e->element[1]->integer;
        h = e->element[2];
        if (a < 0 || b >= SK_CLUSTER_SLOTS || a > b
            || h->type != REDIS_REPLY_ARRAY || h->elements < 2
            || h->element[0]->type != REDIS_REPLY_STRING
            || h->element[1]->type != REDIS_REPLY_INTEGER
            || h->element[0]->len == 0
            || h->element[1]->integer <= 0 || h->element[1]->integer > 65535)
        {
            goto bad;
        }
        idx = node_get(s, h->element[0]->str, h->element[0]->len,
                       (int) h->element[1]->integer);
        if (idx < 0) {
            freeReplyObject(r);
            return -1;
        }
        cl->node[idx].primary = 1;
        if ((int) e->elements - 3 > cl->node[idx].replicas) {
            cl->node[idx].replicas = (int) e->elements - 3;
        }
        for (k = a; k <= b; k++) {
            cl->slot[k] = (unsigned char) idx;
        }
    }
    freeReplyObject(r);
    for (k = 0; k < SK_CLUSTER_SLOTS; k++) {
        if (cl->slot[k] == 0xff) {
            snprintf(s->err, sizeof(s->err), "redis %s: the cluster serves "
                     "no slot %lld (CLUSTER SLOTS): is it complete?",
                     sk_store_addr(&s->opts, addr, sizeof(addr)), k);
            return -1;
        }
    }
    return 0;

bad:
    freeReplyObject(r);
    snprintf(s->err, sizeof(s->err), "redis %s: CLUSTER SLOTS: malformed "
             "slot map", sk_store_addr(&s->opts, addr, sizeof(addr)));
    return -1;
}

int
sk_cluster_connect(sk_store *s)
{
    s->cl = calloc(1, sizeof(*s->cl));
    if (s->cl == NULL) {
        snprintf(s->err, sizeof(s->err), "out of memory");
        return -1;
    }
    s->cl->pin = -1;
    return read_map(s);
}

void
sk_cluster_close(sk_store *s)
{
    int i;

    if (s->cl == NULL) {
        return;
    }
    for (i = 0; i < s->cl->nnodes; i++) {
        if (s->cl->node[i].c) {
            redisFree(s->cl->node[i].c);
        }
    }
    free(s->cl);
    s->cl = NULL;
}

/* argv index of the first key, -1 for a command without keys. */
static int
first_key(int argc, const char **argv)
{
    static const char *keyless[] = {
        "SCAN", "INFO", "PING", "CONFIG", "SCRIPT", "AUTH", "SELECT",
        "WAIT", "CLUSTER", "DBSIZE", "TIME", "ASKING", NULL
    };
    int i;

    if (strcasecmp(argv[0], "EVAL") == 0
        || strcasecmp(argv[0], "EVALSHA") == 0)
    {
        return argc > 3 && atoi(argv[2]) > 0 ? 3 : -1;
    }
    for (i = 0; keyless[i]; i++) {
        if (strcasecmp(argv[0], keyless[i]) == 0) {
            return -1;
        }
    }
    return argc > 1 ? 1 : -1;
}

static size_t
arg_len(const char **argv, const size_t *lens, int i)
{
    return lens ? lens[i] : strlen(argv[i]);
}

/* The node for a command; -2 (s->err set) when its keys span slots. */
static int
route(sk_store *s, int argc, const char **argv, const size_t *lens)
{
    int       k, i, last;
    unsigned  slot;

    k = first_key(argc, argv);
    if (k < 0) {
        return s->cl->pin;
    }
    slot = sk_key_slot(argv[k], arg_len(argv, lens, k));

    /* the commands skipctl sends with several keys: their slots must agree */
    last = k;
    if (strcasecmp(argv[0], "UNLINK") == 0 || strcasecmp(argv[0], "DEL") == 0) {
        last = argc - 1;
    } else if (k == 3) {
        last = 2 + atoi(argv[2]);
        if (last >= argc) {
            last = argc - 1;
        }
    }
    for (i = k + 1; i <= last; i++) {
        if (sk_key_slot(argv[i], arg_len(argv, lens, i)) != slot) {
            snprintf(s->err, sizeof(s->err), "%s: its keys (%.*s, %.*s) hash "
                     "to different slots, which a Redis Cluster refuses "
                     "(CROSSSLOT); not sent", argv[0],
                     (int) arg_len(argv, lens, k), argv[k],
                     (int) arg_len(argv, lens, i), argv[i]);
            return -2;
        }
    }
    return s->cl->slot[slot];
}

redisReply *
sk_cluster_cmd(sk_store *s, int argc, const char **argv, const size_t *lens)
{
    sk_store_cluster *cl = s->cl;
    redisContext     *c;
    redisReply       *r, *ok;
    sk_redirect       rd;
    sk_redirect_kind  kind;
    int               idx, hop;
    char              what[48], addr[300];

    idx = route(s, argc, argv, lens);
    if (idx == -2) {
        return NULL;
    }
    snprintf(what, sizeof(what), "%.*s", (int) arg_len(argv, lens, 0),
             argv[0]);

    for (hop = 0; ; hop++) {
        c = idx < 0 ? s->c : cl->node[idx].c;
        r = redisCommandArgv(c, argc, argv, lens);
        if (r == NULL) {
            if (idx < 0) {
                snprintf(s->err, sizeof(s->err), "redis %s: %s: %s",
                         sk_store_addr(&s->opts, addr, sizeof(addr)), what,
                         ctx_why(c));
            } else {
                node_fail(s, &cl->node[idx], what, ctx_why(c));
            }
            return NULL;
        }
        if (r->type != REDIS_REPLY_ERROR) {
            return r;
        }
        kind = hop == 0 ? sk_redirect_parse(r->str, r->len, &rd)
                        : SK_REDIRECT_NONE;
        if (kind == SK_REDIRECT_NONE) {
            if (idx < 0) {
                snprintf(s->err, sizeof(s->err), "redis %s: %s: %s",
                         sk_store_addr(&s->opts, addr, sizeof(addr)), what,
                         r->str);
            } else {
                node_fail(s, &cl->node[idx], what, r->str);
            }
            freeReplyObject(r);
            return NULL;
        }
        freeReplyObject(r);
        if (kind == SK_REDIRECT_MOVED) {
            /* the map is stale: read it again, then the slot's owner */
            if (read_map(s) != 0) {
                return NULL;
            }
            idx = cl->slot[rd.slot];
            continue;
        }
        idx = node_get(s, rd.host, strlen(rd.host), (int) rd.port);
        if (idx < 0) {
            return NULL;
        }
        ok = redisCommand(cl->node[idx].c, "ASKING");
        if (ok == NULL) {
            node_fail(s, &cl->node[idx], "ASKING", ctx_why(cl->node[idx].c));
            return NULL;
        }
        freeReplyObject(ok);
    }
}

int
sk_store_nodes(sk_store *s)
{
    int i, n = 0;

    if (s->cl == NULL) {
        return 1;
    }
    for (i = 0; i < s->cl->nnodes; i++) {
        n += s->cl->node[i].primary;
    }
    return n;
}

void
sk_store_pin(sk_store *s, int node)
{
    int i;

    if (s->cl == NULL) {
        return;
    }
    s->cl->pin = -1;
    for (i = 0; node >= 0 && i < s->cl->nnodes; i++) {
        if (s->cl->node[i].primary && node-- == 0) {
            s->cl->pin = i;
        }
    }
}

/* ---- the loader's pipeline, per primary -------------------------------- */

/* Send every node its part of the batch, then read every reply. */
static int
bulk_sync(sk_bulk *b)
{
    sk_store_cluster *cl = b->s->cl;
    sk_cl_node       *n;
    redisReply       *r;
    char              what[96];
    int               i, done;

    for (i = 0; i < cl->nnodes; i++) {
        n = &cl->node[i];
        for (done = !n->pending; !done; ) {
            if (redisBufferWrite(n->c, &done) != REDIS_OK) {
                b->failed = 1;
                return node_fail(b->s, n, "pipelined write", ctx_why(n->c));
            }
        }
    }
    for (i = 0; i < cl->nnodes; i++) {
        n = &cl->node[i];
        for ( /* void */ ; n->pending > 0; n->pending--) {
            if (redisGetReply(n->c, (void **) &r) != REDIS_OK || r == NULL) {
                snprintf(what, sizeof(what), "pipelined write (after %ld "
                         "confirmed commands)", b->sent);
                b->failed = 1;
                return node_fail(b->s, n, what, ctx_why(n->c));
            }
            if (r->type == REDIS_REPLY_ERROR) {
                snprintf(what, sizeof(what), "a command of the pipeline "
                         "(after %ld confirmed)", b->sent);
                node_fail(b->s, n, what, r->str);
                freeReplyObject(r);
                b->failed = 1;
                return -1;
            }
            freeReplyObject(r);
            b->sent++;
        }
    }
    b->pending = 0;
    return 0;
}

int
sk_cluster_bulk_append(sk_bulk *b, int argc, const char **argv,
    const size_t *lens)
{
    sk_cl_node *n;
    int         idx;

    if (b->failed) {
        return -1;
    }
    idx = route(b->s, argc, argv, lens);
    if (idx < 0) {
        if (idx == -1) {
            snprintf(b->s->err, sizeof(b->s->err), "%s: no key to route by "
                     "in a cluster pipeline", argv[0]);
        }
        b->failed = 1;
        return -1;
    }
    n = &b->s->cl->node[idx];
    if (redisAppendCommandArgv(n->c, argc, argv, lens) != REDIS_OK) {
        b->failed = 1;
        return node_fail(b->s, n, "pipelined write", ctx_why(n->c));
    }
    n->pending++;
    if (++b->pending < b->batch) {
        return 0;
    }
    return bulk_sync(b);
}

int
sk_cluster_bulk_flush(sk_bulk *b)
{
    if (b->failed) {
        return -1;
    }
    return bulk_sync(b);
}

/*
 * WAIT on node n until want replicas have its writes (the store's
 * timeout): 0, or -1 with s->err naming the node and how many had them.
 */
static int
wait_node(sk_store *s, sk_cl_node *n, int want)
{
    redisReply *r;
    char        ms[16], why[128];

    snprintf(ms, sizeof(ms), "%d", s->opts.timeout_ms);
    r = redisCommand(n->c, "WAIT %d %s", want, ms);
    if (r == NULL || r->type != REDIS_REPLY_INTEGER) {
        node_fail(s, n, "WAIT", r && r->str ? r->str : ctx_why(n->c));
        if (r) {
            freeReplyObject(r);
        }
        return -1;
    }
    if (r->integer < want) {
        if (want == 1) {
            snprintf(why, sizeof(why), "no replica has the writes after "
                     "%s ms", ms);
        } else {
            snprintf(why, sizeof(why), "%lld of %d replicas have the writes "
                     "after %s ms", r->integer, want, ms);
        }
        freeReplyObject(r);
        return node_fail(s, n, want == 1 ? "WAIT 1" : "WAIT", why);
    }
    freeReplyObject(r);
    return 0;
}

/* WAIT on every primary that has replicas: all of them (all) or one. */
static int
wait_primaries(sk_store *s, int all)
{
    sk_cl_node *n;
    int         i;

    if (s->cl == NULL) {
        return 0;
    }
    for (i = 0; i < s->cl->nnodes; i++) {
        n = &s->cl->node[i];
        if (!n->primary || n->replicas == 0) {
            continue;
        }
        if (wait_node(s, n, all ? n->replicas : 1) != 0) {
            return -1;
        }
    }
    return 0;
}

int
sk_store_wait_replicas(sk_store *s)
{
    return wait_primaries(s, 1);
}

/* ---- a pipeline with replies (the applier's), one server or many ------ */

int
sk_store_pipeline(sk_store *s, int n, const sk_cmd *cmds,
    redisReply **replies)
{
    redisContext *c;
    int           i, k, done, *node;
    char          what[64];

    for (i = 0; i < n; i++) {
        replies[i] = NULL;
    }
    node = malloc((size_t) (n > 0 ? n : 1) * sizeof(int));
    if (node == NULL) {
        snprintf(s->err, sizeof(s->err), "out of memory");
        return -1;
    }

    /* route and append everything first: the nodes work in parallel */
    for (i = 0; i < n; i++) {
        node[i] = -1;
        if (s->cl) {
            node[i] = route(s, cmds[i].argc, cmds[i].argv, cmds[i].lens);
            if (node[i] == -2) {
                goto failed;
            }
        }
        c = node[i] < 0 ? s->c : s->cl->node[node[i]].c;
        if (redisAppendCommandArgv(c, cmds[i].argc, cmds[i].argv,
                                   cmds[i].lens) != REDIS_OK)
        {
            snprintf(what, sizeof(what), "pipelined %s", cmds[i].argv[0]);
            goto io;
        }
    }
    for (k = -1; k < (s->cl ? s->cl->nnodes : 0); k++) {
        c = k < 0 ? s->c : s->cl->node[k].c;
        if (c == NULL) {
            continue;
        }
        for (done = 0; !done; ) {
            if (redisBufferWrite(c, &done) != REDIS_OK) {
                snprintf(what, sizeof(what), "pipelined write");
                i = 0;
                node[0] = k;
                goto io;
            }
        }
    }
    for (i = 0; i < n; i++) {
        c = node[i] < 0 ? s->c : s->cl->node[node[i]].c;
        if (redisGetReply(c, (void **) &replies[i]) != REDIS_OK
            || replies[i] == NULL)
        {
            snprintf(what, sizeof(what), "reply to pipelined %s",
                     cmds[i].argv[0]);
            goto io;
        }
    }
    free(node);
    return 0;

io:
    c = node[i] < 0 ? s->c : s->cl->node[node[i]].c;
    if (node[i] < 0) {
        snprintf(s->err, sizeof(s->err), "redis: %s: %s", what, ctx_why(c));
    } else {
        node_fail(s, &s->cl->node[node[i]], what, ctx_why(c));
    }

failed:
    for (i = 0; i < n; i++) {
        if (replies[i]) {
            freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
    }
    free(node);
    return -1;
}

int
sk_store_wait_one(sk_store *s)
{
    return wait_primaries(s, 0);
}

int
sk_store_wait_one_key(sk_store *s, const char *key)
{
    sk_cl_node *n;

    if (s->cl == NULL) {
        return 0;
    }
    n = &s->cl->node[s->cl->slot[sk_key_slot(key, strlen(key))]];
    return n->replicas == 0 ? 0 : wait_node(s, n, 1);
}

int
sk_store_script_load_all(sk_store *s, const char *body)
{
    redisReply *r;
    int         i, n;

    n = sk_store_nodes(s);
    for (i = 0; i < n; i++) {
        sk_store_pin(s, i);
        r = sk_store_cmdl(s, "SCRIPT", "LOAD", body, NULL);
        if (r == NULL) {
            sk_store_pin(s, -1);
            return -1;
        }
        freeReplyObject(r);
    }
    sk_store_pin(s, -1);
    return 0;
}
