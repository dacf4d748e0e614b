/*
 * The feature store's Redis side for skipctl (docs/feature-store.md):
 * connection options, a synchronous hiredis connection, a pipelined bulk
 * writer, and the snapshot bookkeeping (ids, meta, listing, deletion).
 *
 * Plain C and blocking: this is the operator tool's client.  The nginx
 * module has its own non-blocking client and shares only the key schema
 * (keys.h), the records (records.h) and the Lua scripts (store_scripts.h).
 *
 * Every command is an argv array (redisCommandArgv / redisAppendCommandArgv);
 * nothing is ever pasted into a command string.
 */
#ifndef SKIP_STORE_H
#define SKIP_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "../core/keys.h"
#include "../core/records.h"
#include "../core/taste.h"

#define SK_STORE_DEFAULT_HOST     "127.0.0.1"
#define SK_STORE_DEFAULT_PORT     6379
#define SK_STORE_DEFAULT_TIMEOUT  5000      /* ms, connect and each reply */
#define SK_STORE_PASSWORD_ENV     "SKIP_REDIS_PASSWORD"

typedef struct {
    char         host[256];        /* TCP host, "" when unix_path is set */
    int          port;
    char         unix_path[256];   /* unix socket, "" for TCP */
    const char  *password;         /* NULL: none (or $SKIP_REDIS_PASSWORD) */
    int          db;               /* SELECT db when > 0 */
    char         prefix[SK_PREFIX_MAX + 1];
    int          timeout_ms;
    int          cluster;          /* --cluster: --redis is a seed node */
} sk_store_opts;

/* 127.0.0.1:6379, db 0, prefix "skip", 5 s, password from the env. */
void sk_store_opts_init(sk_store_opts *o);

/*
 * The shared command-line options: returns 1 when name (e.g. "--redis") was
 * one of --redis, --password, --db, --prefix, --timeout and arg was valid,
 * 0 when name is not a store option, -1 with err on a bad value.
 *   --redis HOST:PORT | unix:PATH | PORT    (IPv6: [::1]:6379)
 */
int sk_store_opt(sk_store_opts *o, const char *name, const char *arg,
    char *err, size_t errlen);

/* "127.0.0.1:6379" or "unix:/path", for messages. */
const char *sk_store_addr(const sk_store_opts *o, char *buf, size_t size);

typedef struct sk_store_cluster  sk_store_cluster;

typedef struct {
    redisContext      *c;          /* the server, or the cluster's seed */
    sk_store_opts      opts;
    char               err[512];   /* the last failure, for the user */
    sk_store_cluster  *cl;         /* NULL: one server (store_cluster.c) */
} sk_store;

/*
 * Connect, AUTH and SELECT.  Returns 0, or -1 with s->err naming the
 * address and the problem.  sk_store_close is safe after a failure.
 */
int sk_store_connect(sk_store *s, const sk_store_opts *o);
void sk_store_close(sk_store *s);

/*
 * One command, argv style (lens may be NULL for NUL-terminated args).
 * Returns the reply (free with freeReplyObject), or NULL with s->err set on
 * an I/O failure or an error reply ("CMD: message").
 */
redisReply *sk_store_cmd(sk_store *s, int argc, const char **argv,
    const size_t *lens);

/* The same with a NULL-terminated list of strings. */
redisReply *sk_store_cmdl(sk_store *s, const char *arg0, ...)
    __attribute__((sentinel));

/*
 * Pipelined writer: commands are appended to hiredis' output buffer and
 * sent every `batch` commands.  One batch stays in flight: after sending
 * batch N the writer reads the replies of batch N-1, so Redis executes one
 * batch while the caller encodes the next (two cores, not one after the
 * other).  The first error reply or I/O failure stops it: every later call
 * returns -1 and s->err says which command failed and why.
 */
typedef struct {
    sk_store  *s;
    int        batch;              /* commands per round trip */
    int        pending;            /* appended, not sent yet */
    int        inflight;           /* sent, replies not read yet */
    long       sent;               /* commands confirmed by Redis */
    int        failed;
} sk_bulk;

void sk_bulk_init(sk_bulk *b, sk_store *s, int batch);
int sk_bulk_append(sk_bulk *b, int argc, const char **argv,
    const size_t *lens);
/* Read every pending reply.  0 or -1. */
int sk_bulk_flush(sk_bulk *b);


/* ---- Redis Cluster (store_cluster.c) --------------------------------- */

/*
 * With opts.cluster, sk_store_connect() reads the slot map from the seed
 * and connects to every primary; sk_store_cmd() then sends each command to
 * the primary of its key (argv[1], or the first key of EVAL/EVALSHA),
 * follows one MOVED or ASK, and refuses a command whose keys are on
 * different slots before sending it.  Keyless commands (SCAN, INFO...)
 * go to the node sk_store_pin() chose, else to the seed.  sk_bulk
 * pipelines per primary.  Nothing else changes for the callers.
 */
int sk_cluster_connect(sk_store *s);
void sk_cluster_close(sk_store *s);
redisReply *sk_cluster_cmd(sk_store *s, int argc, const char **argv,
    const size_t *lens);
int sk_cluster_bulk_append(sk_bulk *b, int argc, const char **argv,
    const size_t *lens);
int sk_cluster_bulk_flush(sk_bulk *b);

/* Primaries: 1 on one server.  pin(i) sends keyless commands to primary
 * i (SCAN on every primary), pin(-1) back to the seed. */
int sk_store_nodes(sk_store *s);
void sk_store_pin(sk_store *s, int node);

/*
 * After a load: WAIT until each primary's replicas have every write this
 * client made (so that read=replica lookups find the records once the
 * snapshot is active).  0, or -1 with s->err naming the node that did not
 * confirm within the timeout.  Nothing to do on one server.
 */
int sk_store_wait_replicas(sk_store *s);

/*
 * The events journal's applier (store_apply.c) needs replies from many
 * nodes at once: n commands, each to its key's primary (one server: all
 * to it), written to every node before any reply is read.  replies[i] is
 * the reply to cmds[i], error replies included (MOVED too: the caller
 * decides); free each with freeReplyObject.  0, or -1 with s->err (an
 * I/O failure or a cross-slot command) and no reply kept.
 */
typedef struct {
    int           argc;
    const char  **argv;
    const size_t *lens;
} sk_cmd;

int sk_store_pipeline(sk_store *s, int n, const sk_cmd *cmds,
    redisReply **replies);

/* WAIT 1 on every primary that has replicas: each write this client made
 * is on a replica too.  0, or -1 with s->err naming the node. */
int sk_store_wait_one(sk_store *s);

/* The same on the primary of key's slot only (a node without replicas:
 * nothing to wait for). */
int sk_store_wait_one_key(sk_store *s, const char *key);

/* SCRIPT LOAD body on every primary (one server: on it), so that a
 * pipeline of EVALSHA meets no NOSCRIPT.  0 or -1. */
int sk_store_script_load_all(sk_store *s, const char *body);


/* ---- the events journal of a cluster (store_apply.c) ---------------- */

typedef struct {
    long  read;                    /* journal entries looked at */
    long  applied;                 /* counted: after as_of, both records */
    long  before;                  /* dated at or before the as_of */
    long  missing;                 /* the user or the track has no record */
    long  malformed;               /* not an entry the journal script wrote */
    long  keys;                    /* key updates made (3 per entry) */
    long  repeats;                 /* key updates found made before */
    long  calls;                   /* script calls (one per key a batch
                                      touches) */
} sk_apply_result;

/*
 * Apply the events journal (journal.h) to snapshot snap: every shard from
 * its cursor for snap, entries dated after the snapshot's as_of, each key
 * once (its mark), WAIT 1 before each cursor move.  At most max entries
 * read (0: all).  Safe to run again after any failure, and next to a
 * running one (each key's script skips what is marked; the cursors only
 * save work).  0, or -1 with s->err.
 */
int sk_journal_apply(sk_store *s, const char *snap, long max,
    sk_apply_result *res);

/*
 * For `features status`: entries in the journal (XLEN of every shard) and
 * entries after snap's cursors, not applied yet (the applier's lag;
 * counted up to SK_BACKLOG_CAP per shard: *capped says a shard had as
 * many).  0 or -1.
 */
#define SK_BACKLOG_CAP  10000
int sk_journal_backlog(sk_store *s, const char *snap, long *entries,
    long *pending, int *capped);

typedef struct sk_snapshot_info_s  sk_snapshot_info;

/*
 * gc of the journal: XTRIM MINID each shard before what every kept
 * snapshot has applied (its cursor there; no cursor: its as_of less an
 * hour) and before min_ms (unix ms).  *trimmed counts the entries.
 */
int sk_journal_trim(sk_store *s, const sk_snapshot_info *kept, int nkept,
    int64_t min_ms, long *trimmed);

/* ---- snapshots ------------------------------------------------------ */

/* Snapshot states kept in meta.state. */
#define SK_SNAP_LOADING   "loading"
#define SK_SNAP_COMPLETE  "complete"
#define SK_SNAP_DELETING  "deleting"

/*
 * "s<yyyymmddHHMMSS>" of t (UTC), with "-<attempt>" when attempt > 1.
 * Returns the length, 0 when size is too small.  Sorts by time as text.
 */
size_t sk_snapshot_id(char *buf, size_t size, time_t t, int attempt);

/*
 * Reserve a fresh snapshot id for time t: the first of sk_snapshot_id(t, 1),
 * (t, 2), ... whose meta Redis creates for us (HSETNX state loading), then
 * fill the rest of the meta (created, as_of, model, replayed_to 0-0, ...)
 * and list it in <prefix>:snapshots.  Returns 0 with id set, or -1.
 */
int sk_snapshot_create(sk_store *s, time_t t, int64_t as_of_ms,
    const char *model, const char *source, char *id, size_t idsize);

/* GET <prefix>:active into buf ("" when unset).  0, or -1 on failure. */
int sk_snapshot_active(sk_store *s, char *buf, size_t size);

struct sk_snapshot_info_s {
    char     id[SK_SNAP_MAX + 1];
    double   created;              /* zset score (unix seconds) */
    char     state[16];            /* "" when the meta is gone */
    int64_t  as_of;
    long     users, tracks;
    char     model[160];
    char     replayed_to[48];
    long     activated;            /* unix seconds, 0 never */
};

/*
 * All snapshots listed in <prefix>:snapshots, newest first, with their meta.
 * *out is malloc'ed (free it); returns the count, or -1.
 */
int sk_snapshot_list(sk_store *s, sk_snapshot_info **out);

/*
 * Delete a snapshot: meta.state = deleting, then SCAN MATCH
 * <prefix>:<snap>:* and UNLINK in batches, the meta last, then ZREM.  A
 * deletion cut short can simply be run again.  Refuses the active one.
 * *deleted counts the keys removed.  0 or -1.
 */
int sk_snapshot_delete(sk_store *s, const char *snap, long *deleted);


/* ---- records and scripts (store_load.c) ------------------------------ */

/* Queue HSET <prefix>:<snap>:u:<id> with the stored form on the writer. */
int sk_store_put_user(sk_bulk *b, const char *snap, const char *id,
    size_t idlen, const sk_user_rec *u);
int sk_store_put_track(sk_bulk *b, const char *snap, const char *id,
    size_t idlen, const sk_track_rec *t);

/*
 * Queue SET <prefix>:<snap>:ut:<id> with the stored taste of counts (the
 * SK_TASTE_SLOTS [plays, skips] pairs of taste_hist.h); nothing when no
 * slot has history (taste_stored.h).
 */
int sk_store_put_taste(sk_bulk *b, const char *snap, const char *id,
    size_t idlen, const uint32_t *counts);

/*
 * GET the taste of user id in snapshot snap and decode it
 * (taste_stored.h): *nfields entries, the value (control bytes as '?') in
 * txt.  SK_REC_OK (also for an absent key: *nfields 0), SK_REC_MALFORMED
 * (why in derr), or SK_STORE_IOERR (s->err, also for a key of another
 * type).
 */
int sk_store_get_taste(sk_store *s, const char *snap, const char *id,
    sk_taste *taste, size_t *nfields, char *txt, size_t txtlen, char *derr,
    size_t derrlen);

/*
 * Read one record of snapshot snap (its stored form, records.h) and decode
 * it.  Its readable fields, in sk_user_fields / sk_track_fields order, land
 * in vals (NULL-free: "" where there is none, with present[i] = 0).  Returns SK_REC_OK, SK_REC_MISSING, SK_REC_MALFORMED
 * (why in derr), or -10 on a Redis failure (s->err).
 */
#define SK_STORE_IOERR (-10)
int sk_store_get_user(sk_store *s, const char *snap, const char *id,
    sk_user_rec *u, char vals[][SK_REC_VALMAX], int *present, char *derr,
    size_t derrlen);
int sk_store_get_track(sk_store *s, const char *snap, const char *id,
    sk_track_rec *t, char vals[][SK_REC_VALMAX], int *present, char *derr,
    size_t derrlen);

/*
 * EVALSHA a script of store_scripts.h, loading it on NOSCRIPT (and
 * checking that Redis computed the same SHA1).  NULL with s->err on
 * failure, including an error reply from the script.
 */
redisReply *sk_store_eval(sk_store *s, const char *body, int nkeys,
    int argc, const char **argv);

/* SK_SCRIPT_FINISH: loading -> complete with the record counts. */
int sk_snapshot_finish(sk_store *s, const char *snap, long users,
    long tracks);

typedef struct {
    long  read;                    /* stream entries looked at */
    long  applied;                 /* replayed into the snapshot */
    long  calls;                   /* script calls */
    char  cursor[48];              /* meta.replayed_to afterwards */
    char  previous[SK_SNAP_MAX + 1];   /* active before ("" none) */
} sk_handover_result;

/*
 * Redis time one hand-over script call may take (us): calls are sized by
 * time, not by count, so a long backlog never stalls the module's 20 ms
 * lookups (docs/feature-store.md, "Live events and snapshot switches").
 */
#define SK_HANDOVER_BUDGET_US  250

/*
 * Catch snap up with the events stream in script calls of at most
 * budget_us of Redis time each (0: unbounded, one call), Redis serving
 * other clients in between; when activate, the call that reaches the end
 * of the stream also makes snap active, atomically.  0, or -1 with s->err.
 */
int sk_snapshot_handover(sk_store *s, const char *snap, int activate,
    long budget_us, sk_handover_result *res);

/* The same on a Redis Cluster (store_load.c): no replay, a checked SET. */
int sk_cluster_activate(sk_store *s, const char *snap, int activate,
    sk_handover_result *res);

#endif
