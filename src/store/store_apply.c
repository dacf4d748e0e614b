/*
 * The events journal's applier (store.h, "journal"; docs/cluster.md,
 * "Live events on a cluster"): what `skipctl features apply` runs.
 *
 * The module journals each counted event on its listener's shard
 * (journal.h) and acknowledges it there.  This reads every shard in
 * order from its cursor for the snapshot (<prefix>:{<tag>}:cursor:<snap>)
 * and applies each entry to the three keys it changes (user, track,
 * taste) with single-key scripts (store_scripts_cluster.h): one call per
 * key and batch, with that key's entries in shard order, which adds the
 * deltas with the single-server Lua and records the last entry id as the
 * key's mark for the shard, in the same script.  A key skips every entry
 * at or before its mark.  So whatever stopped a run (a crash, a kill, a node
 * lost mid-batch), running it again counts every entry exactly once per
 * key: the cursor only saves re-reading.
 *
 * Per batch of a shard (SK_APPLY_BATCH entries):
 *   1. XRANGE after the cursor, then the fence (below): SET the cursor
 *      to itself and WAIT 1 on the journal's node;
 *   2. HMGET the user's fav and the track's genres, pipelined over the
 *      nodes (an entry counts only when both records exist, as on one
 *      server; "meets" is computed here from them, as the Lua does);
 *   3. the apply scripts, a call per key, pipelined;
 *   4. WAIT 1 on every primary: the applied deltas and their marks are on
 *      a replica before the cursor moves past them (otherwise a failover
 *      of a record's node could lose a delta the cursor no longer
 *      covers);
 *   5. SET the cursor.
 *
 * Which entries: those whose event time is after the snapshot's as_of
 * (its data ends there), as the single-server hand-over replays them.  A
 * new snapshot has no cursor: its shards are read from the start.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../core/journal.h"
#include "../core/store_scripts.h"
#include "../core/store_scripts_cluster.h"
#include "store.h"

#define SK_APPLY_BATCH  256

typedef struct {
    const char  *id, *ts, *u, *t, *dp, *ds, *h;
    char         uk[SK_KEY_MAX], tk[SK_KEY_MAX], taste[SK_KEY_MAX];
    char         mark[SK_KEY_MAX + 8];
    const char  *fav, *genres;
    int          counted;          /* after as_of, ids valid */
    const char  *hm[2][3];
} sk_apply_entry;

/* The Lua meets(): a genre of the track among the user's favourites,
 * both comma-separated, empty items ignored. */
static int
meets(const char *fav, const char *genres)
{
    const char *g, *ge, *f, *fe;

    for (g = genres; *g; g = *ge ? ge + 1 : ge) {
        ge = strchr(g, ',');
        if (ge == NULL) {
            ge = g + strlen(g);
        }
        if (ge == g) {
            continue;
        }
        for (f = fav; *f; f = *fe ? fe + 1 : fe) {
            fe = strchr(f, ',');
            if (fe == NULL) {
                fe = f + strlen(f);
            }
            if (fe - f == ge - g && memcmp(f, g, (size_t) (ge - g)) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

static const char *
field_of(redisReply *kv, const char *name)
{
    size_t i;

    for (i = 0; i + 1 < kv->elements; i += 2) {
        if (kv->element[i]->type == REDIS_REPLY_STRING
            && kv->element[i + 1]->type == REDIS_REPLY_STRING
            && strcmp(kv->element[i]->str, name) == 0)
        {
            return kv->element[i + 1]->str;
        }
    }
    return NULL;
}

static int
delta_ok(const char *v)
{
    return v && (strcmp(v, "-1") == 0 || strcmp(v, "0") == 0
                 || strcmp(v, "1") == 0);
}

static void
free_replies(redisReply **r, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (r[i]) {
            freeReplyObject(r[i]);
            r[i] = NULL;
        }
    }
}

/*
 * A test's crash: with SKIP_APPLY_CRASH_AFTER=N in the environment the
 * process dies (_exit, nothing flushed) after the Nth batch's scripts,
 * before its WAIT and cursor: keys applied, cursor behind them, the
 * state a kill leaves.  t/89-events-cluster.t runs the applier again on
 * it.  Unset (always, outside tests) it costs one getenv per batch.
 */
static void
crash_point(void)
{
    static long  batches;
    const char  *v = getenv("SKIP_APPLY_CRASH_AFTER");

    if (v && ++batches >= atol(v)) {
        _exit(9);
    }
}

/*
 * The keys of a batch: each touched key gets one script call with all of
 * its entries, in shard order (a listener's user record and taste see one
 * call per batch; a popular track few): one Lua run per key, not per
 * entry.
 */
typedef struct {
    const char   *key, *mark;
    int           kind;            /* 0 user, 1 track, 2 taste */
    int           n;
    const char  **argv;
} sk_apply_group;

#define SK_APPLY_HEAD  8           /* EVALSHA sha 2 K1 K2 what field pfx */

static int
apply_scripts(sk_store *s, const char *snap, const char *sha,
    const char *field, sk_apply_entry *e, int n, sk_apply_result *res)
{
    sk_apply_group  *g;
    sk_cmd          *cmds;
    redisReply     **rep;
    const char      *key, **a;
    int             *of, i, k, m, ng = 0, rc = -1;
    size_t           max = 3 * (size_t) n;

    g = calloc(max, sizeof(*g));
    of = calloc(max, sizeof(*of));
    cmds = calloc(max, sizeof(*cmds));
    rep = calloc(max, sizeof(*rep));
    if (g == NULL || of == NULL || cmds == NULL || rep == NULL) {
        snprintf(s->err, sizeof(s->err), "out of memory");
        goto done;
    }

    /* which key each (entry, kind) goes to */
    for (i = 0; i < n; i++) {
        if (!e[i].counted) {
            continue;
        }
        for (k = 0; k < 3; k++) {
            key = k == 0 ? e[i].uk : k == 1 ? e[i].tk : e[i].taste;
            for (m = 0; m < ng; m++) {
                if (g[m].kind == k && strcmp(g[m].key, key) == 0) {
                    break;
                }
            }
            if (m == ng) {
                g[m].key = key;
                g[m].mark = k == 2 ? e[i].mark : key;
                g[m].kind = k;
                ng++;
            }
            g[m].n++;
            of[3 * i + k] = m;
        }
    }

    /* EVALSHA sha 2 KEY MARK what field prefix snap|user, then 5 per
     * entry: id dp ds meets|genres hour */
    for (m = 0; m < ng; m++) {
        /* the head, the taste's user (or ""), 5 per entry */
        g[m].argv = calloc((size_t) (SK_APPLY_HEAD + 2 + 5 * g[m].n),
                           sizeof(char *));
        if (g[m].argv == NULL) {
            snprintf(s->err, sizeof(s->err), "out of memory");
            goto done;
        }
        a = g[m].argv;
        a[0] = "EVALSHA";
        a[1] = sha;
        a[2] = "2";
        a[3] = g[m].key;
        a[4] = g[m].mark;
        a[5] = g[m].kind == 0 ? "u" : g[m].kind == 1 ? "t" : "taste";
        a[6] = field;
        a[7] = s->opts.prefix;
        a[8] = snap;
        cmds[m].argv = a;
        cmds[m].argc = SK_APPLY_HEAD + 1;
    }
    for (i = 0; i < n; i++) {
        if (!e[i].counted) {
            continue;
        }
        for (k = 0; k < 3; k++) {
            m = of[3 * i + k];
            if (k == 2 && cmds[m].argc == SK_APPLY_HEAD + 1) {
                /* the taste's user, once (all its entries share it) */
                g[m].argv[cmds[m].argc++] = e[i].u;
            }
            a = g[m].argv + cmds[m].argc;
            a[0] = e[i].id;
            a[1] = e[i].dp;
            a[2] = e[i].ds;
            a[3] = k == 2 ? e[i].genres
                          : meets(e[i].fav, e[i].genres) ? "1" : "0";
            a[4] = e[i].h ? e[i].h : "";
            cmds[m].argc += 5;
        }
    }
    for (m = 0; m < ng; m++) {
        if (g[m].kind != 2) {
            /* records: the same layout, "" where the taste's user is */
            memmove(g[m].argv + SK_APPLY_HEAD + 2,
                    g[m].argv + SK_APPLY_HEAD + 1,
                    (size_t) (cmds[m].argc - SK_APPLY_HEAD - 1)
                    * sizeof(char *));
            g[m].argv[SK_APPLY_HEAD + 1] = "";
            cmds[m].argc++;
        }
    }

    if (ng > 0 && sk_store_pipeline(s, ng, cmds, rep) != 0) {
        goto done;
    }
    for (m = 0; m < ng; m++) {
        if (rep[m]->type == REDIS_REPLY_ERROR) {
            snprintf(s->err, sizeof(s->err), "apply script on %s: %s",
                     g[m].key, rep[m]->str);
            goto done;
        }
        if (rep[m]->type != REDIS_REPLY_ARRAY || rep[m]->elements != 2
            || rep[m]->element[0]->type != REDIS_REPLY_INTEGER
            || rep[m]->element[1]->type != REDIS_REPLY_INTEGER)
        {
            snprintf(s->err, sizeof(s->err), "apply script on %s: reply "
                     "of type %d", g[m].key, rep[m]->type);
            goto done;
        }
        res->keys += (long) rep[m]->element[0]->integer;
        res->repeats += (long) rep[m]->element[1]->integer;
    }
    res->calls += ng;
    for (i = 0; i < n; i++) {
        res->applied += e[i].counted;
    }
    rc = 0;

done:
    if (rep) {
        free_replies(rep, ng);
    }
    for (m = 0; g && m < ng; m++) {
        free(g[m].argv);
    }
    free(g);
    free(of);
    free(rep);
    free(cmds);
    return rc;
}

/* One batch of shard j after *cursor; 0 entries read = caught up. */
static int
apply_batch(sk_store *s, const char *snap, long long as_of, unsigned j,
    const char *sha, char *cursor, size_t cursize, int *nread,
    sk_apply_result *res)
{
    char             jkey[SK_JOURNAL_KEY_MAX], ckey[SK_JOURNAL_KEY_MAX];
    char             start[80], count[16], field[16];
    const char      *pfx = s->opts.prefix;
    sk_apply_entry  *e = NULL;
    sk_cmd          *cmds = NULL;
    redisReply      *xr, *r, **rep = NULL;
    int              i, k, n, nc, rc = -1;
    size_t           ulen, tlen;

    *nread = 0;
    sk_key_journal(jkey, sizeof(jkey), pfx, j);
    sk_key_journal_cursor(ckey, sizeof(ckey), pfx, j, snap);
    sk_journal_mark_field(j, field, sizeof(field));
    snprintf(start, sizeof(start), "%s%s", cursor[0] ? "(" : "",
             cursor[0] ? cursor : "-");
    snprintf(count, sizeof(count), "%d", SK_APPLY_BATCH);

    xr = sk_store_cmdl(s, "XRANGE", jkey, start, "+", "COUNT", count, NULL);
    if (xr == NULL) {
        return -1;
    }
    if (xr->type != REDIS_REPLY_ARRAY) {
        snprintf(s->err, sizeof(s->err), "XRANGE %s: not an array", jkey);
        freeReplyObject(xr);
        return -1;
    }
    n = (int) xr->elements;
    if (n <= 0) {
        freeReplyObject(xr);
        return 0;
    }
    if (n > SK_APPLY_BATCH) {
        snprintf(s->err, sizeof(s->err), "XRANGE %s COUNT %s: %d entries",
                 jkey, count, n);
        freeReplyObject(xr);
        return -1;
    }

    /*
     * The fence: only entries a replica has are applied.  XRANGE also
     * returns an entry whose event is still waiting for its WAIT (not
     * acknowledged); should the shard's primary die before replicating
     * it, the client's retry journals it again on the promoted replica,
     * under another id, and applying both would count it twice.  A write
     * of ours on the journal's node after the XRANGE, confirmed by WAIT 1,
     * means the replica has everything before it (one replication stream):
     * every entry just read.  The write is the cursor, set to itself.
     */
    r = sk_store_cmdl(s, "SET", ckey, cursor[0] ? cursor : "0-0", NULL);
    if (r == NULL) {
        freeReplyObject(xr);
        return -1;
    }
    freeReplyObject(r);
    if (sk_store_wait_one_key(s, ckey) != 0) {
        freeReplyObject(xr);
        return -1;
    }

    e = calloc((size_t) n, sizeof(*e));
    cmds = calloc(2 * (size_t) n, sizeof(*cmds));
    rep = calloc(2 * (size_t) n, sizeof(*rep));
    if (e == NULL || cmds == NULL || rep == NULL) {
        snprintf(s->err, sizeof(s->err), "out of memory");
        goto done;
    }

    /* 1. the entries; 2. the two records' static fields */
    nc = 0;
    for (i = 0; i < n; i++) {
        redisReply *en = xr->element[i];

        if (en->type != REDIS_REPLY_ARRAY || en->elements != 2
            || en->element[0]->type != REDIS_REPLY_STRING
            || en->element[1]->type != REDIS_REPLY_ARRAY)
        {
            snprintf(s->err, sizeof(s->err), "XRANGE %s: malformed entry",
                     jkey);
            goto done;
        }
        e[i].id = en->element[0]->str;
        e[i].ts = field_of(en->element[1], "ts");
        e[i].u = field_of(en->element[1], "u");
        e[i].t = field_of(en->element[1], "t");
        e[i].dp = field_of(en->element[1], "dp");
        e[i].ds = field_of(en->element[1], "ds");
        e[i].h = field_of(en->element[1], "h");
        res->read++;
        if (e[i].ts == NULL || strtoll(e[i].ts, NULL, 10) <= as_of) {
            res->before++;
            continue;
        }
        ulen = e[i].u ? strlen(e[i].u) : 0;
        tlen = e[i].t ? strlen(e[i].t) : 0;
        if (!sk_id_valid(e[i].u, ulen) || !sk_id_valid(e[i].t, tlen)
            || !delta_ok(e[i].dp) || !delta_ok(e[i].ds))
        {
            /* not written by the journal script: skipped, counted */
            res->malformed++;
            continue;
        }
        e[i].counted = 1;
        sk_key_user(e[i].uk, sizeof(e[i].uk), pfx, snap, e[i].u, ulen);
        sk_key_track(e[i].tk, sizeof(e[i].tk), pfx, snap, e[i].t, tlen);
        sk_key_taste(e[i].taste, sizeof(e[i].taste), pfx, snap, e[i].u,
                     ulen);
        sk_key_taste_mark(e[i].mark, sizeof(e[i].mark), pfx, snap, e[i].u,
                          ulen);
        e[i].hm[0][0] = "HMGET";
        e[i].hm[0][1] = e[i].uk;
        e[i].hm[0][2] = "fav";
        e[i].hm[1][0] = "HMGET";
        e[i].hm[1][1] = e[i].tk;
        e[i].hm[1][2] = "genres";
        for (k = 0; k < 2; k++) {
            cmds[nc].argc = 3;
            cmds[nc].argv = e[i].hm[k];
            nc++;
        }
    }
    if (sk_store_pipeline(s, nc, cmds, rep) != 0) {
        goto done;
    }
    for (i = 0, k = 0; i < n; i++) {
        if (!e[i].counted) {
            continue;
        }
        if (rep[k]->type == REDIS_REPLY_ERROR
            || rep[k + 1]->type == REDIS_REPLY_ERROR)
        {
            snprintf(s->err, sizeof(s->err), "HMGET: %s",
                     rep[k]->type == REDIS_REPLY_ERROR ? rep[k]->str
                                                       : rep[k + 1]->str);
            goto done;
        }
        if (rep[k]->type == REDIS_REPLY_ARRAY && rep[k]->elements == 1
            && rep[k]->element[0]->type == REDIS_REPLY_STRING
            && rep[k + 1]->type == REDIS_REPLY_ARRAY
            && rep[k + 1]->elements == 1
            && rep[k + 1]->element[0]->type == REDIS_REPLY_STRING)
        {
            e[i].fav = rep[k]->element[0]->str;
            e[i].genres = rep[k + 1]->element[0]->str;
        } else {
            e[i].counted = 0;
            res->missing++;
        }
        k += 2;
    }

    /* 3. the apply scripts; the static fields stay in rep meanwhile */
    if (apply_scripts(s, snap, sha, field, e, n, res) != 0) {
        goto done;
    }
    crash_point();

    /* 4. on a replica before the cursor passes them; 5. the cursor */
    if (sk_store_wait_one(s) != 0) {
        goto done;
    }
    snprintf(cursor, cursize, "%s", e[n - 1].id);
    r = sk_store_cmdl(s, "SET", ckey, cursor, NULL);
    if (r == NULL) {
        goto done;
    }
    freeReplyObject(r);
    *nread = n;
    rc = 0;

done:
    if (rep) {
        free_replies(rep, 2 * n);
    }
    free(rep);
    free(cmds);
    free(e);
    freeReplyObject(xr);
    return rc;
}

int
sk_journal_apply(sk_store *s, const char *snap, long max,
    sk_apply_result *res)
{
    char          meta[SK_KEY_MAX], ckey[SK_JOURNAL_KEY_MAX], sha[41];
    char          cursor[64];
    const char   *body;
    long long     as_of;
    redisReply   *r;
    unsigned      j;
    int           nread;

    memset(res, 0, sizeof(*res));
    body = sk_script_apply_cluster();
    if (body == NULL) {
        snprintf(s->err, sizeof(s->err), "out of memory");
        return -1;
    }
    sk_script_sha1(body, sha);

    /* the snapshot: complete, and where its data ends */
    sk_key_meta(meta, sizeof(meta), s->opts.prefix, snap);
    r = sk_store_cmdl(s, "HMGET", meta, "state", "as_of", NULL);
    if (r == NULL) {
        return -1;
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
        || r->element[0]->type != REDIS_REPLY_STRING
        || strcmp(r->element[0]->str, SK_SNAP_COMPLETE) != 0)
    {
        snprintf(s->err, sizeof(s->err), "snapshot %s is %s, not complete",
                 snap, r->type == REDIS_REPLY_ARRAY && r->elements == 2
                       && r->element[0]->str ? r->element[0]->str
                                             : "missing");
        freeReplyObject(r);
        return -1;
    }
    as_of = r->element[1]->str ? strtoll(r->element[1]->str, NULL, 10) : 0;
    freeReplyObject(r);

    /* EVALSHA in pipelines: the script must be on every primary first */
    if (sk_store_script_load_all(s, body) != 0) {
        return -1;
    }

    for (j = 0; j < SK_JOURNAL_SHARDS; j++) {
        sk_key_journal_cursor(ckey, sizeof(ckey), s->opts.prefix, j, snap);
        r = sk_store_cmdl(s, "GET", ckey, NULL);
        if (r == NULL) {
            return -1;
        }
        snprintf(cursor, sizeof(cursor), "%s",
                 r->type == REDIS_REPLY_STRING ? r->str : "");
        freeReplyObject(r);
        do {
            if (max > 0 && res->read >= max) {
                return 0;
            }
            if (apply_batch(s, snap, as_of, j, sha, cursor, sizeof(cursor),
                            &nread, res) != 0)
            {
                return -1;
            }
        } while (nread == SK_APPLY_BATCH);
    }
    return 0;
}

int
sk_journal_trim(sk_store *s, const sk_snapshot_info *kept, int nkept,
    int64_t min_ms, long *trimmed)
{
    char          jkey[SK_JOURNAL_KEY_MAX], ckey[SK_JOURNAL_KEY_MAX];
    char          minid[48];
    int64_t       need, ms;
    redisReply   *r;
    unsigned      j;
    int           i;

    *trimmed = 0;
    for (j = 0; j < SK_JOURNAL_SHARDS; j++) {
        need = min_ms;
        for (i = 0; i < nkept; i++) {
            sk_key_journal_cursor(ckey, sizeof(ckey), s->opts.prefix, j,
                                  kept[i].id);
            r = sk_store_cmdl(s, "GET", ckey, NULL);
            if (r == NULL) {
                return -1;
            }
            /*
             * A snapshot with no cursor here has applied nothing of this
             * shard: it needs what was journaled after its as_of (an entry
             * is journaled at or after its event time, less the clock
             * skew the endpoint allows; an hour covers both).
             */
            ms = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10)
                                               : kept[i].as_of - 3600000;
            freeReplyObject(r);
            if (ms < need) {
                need = ms;
            }
        }
        if (need <= 0) {
            continue;
        }
        sk_key_journal(jkey, sizeof(jkey), s->opts.prefix, j);
        snprintf(minid, sizeof(minid), "%lld-0", (long long) need);
        r = sk_store_cmdl(s, "XTRIM", jkey, "MINID", minid, NULL);
        if (r == NULL) {
            return -1;
        }
        *trimmed += r->type == REDIS_REPLY_INTEGER ? (long) r->integer : 0;
        freeReplyObject(r);
    }
    return 0;
}

int
sk_journal_backlog(sk_store *s, const char *snap, long *entries,
    long *pending, int *capped)
{
    char          jkey[SK_JOURNAL_KEY_MAX], ckey[SK_JOURNAL_KEY_MAX];
    char          start[80], cap[16];
    redisReply   *r;
    unsigned      j;

    *entries = 0;
    *pending = 0;
    *capped = 0;
    snprintf(cap, sizeof(cap), "%d", SK_BACKLOG_CAP);
    for (j = 0; j < SK_JOURNAL_SHARDS; j++) {
        sk_key_journal(jkey, sizeof(jkey), s->opts.prefix, j);
        r = sk_store_cmdl(s, "XLEN", jkey, NULL);
        if (r == NULL) {
            return -1;
        }
        *entries += r->type == REDIS_REPLY_INTEGER ? (long) r->integer : 0;
        freeReplyObject(r);
        if (snap == NULL || snap[0] == '\0') {
            continue;
        }
        sk_key_journal_cursor(ckey, sizeof(ckey), s->opts.prefix, j, snap);
        r = sk_store_cmdl(s, "GET", ckey, NULL);
        if (r == NULL) {
            return -1;
        }
        snprintf(start, sizeof(start), "%s%s",
                 r->type == REDIS_REPLY_STRING ? "(" : "",
                 r->type == REDIS_REPLY_STRING ? r->str : "-");
        freeReplyObject(r);
        /* counted up to a cap per shard: a status must stay cheap */
        r = sk_store_cmdl(s, "XRANGE", jkey, start, "+", "COUNT", cap, NULL);
        if (r == NULL) {
            return -1;
        }
        if (r->type == REDIS_REPLY_ARRAY) {
            *pending += (long) r->elements;
            *capped |= r->elements >= SK_BACKLOG_CAP;
        }
        freeReplyObject(r);
    }
    return 0;
}
