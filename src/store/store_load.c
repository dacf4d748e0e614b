/*
 * Records and scripts over skipctl's Redis connection (see store.h):
 * writing records through the pipelined writer, reading one back through
 * the record decoder, and running the Lua scripts of store_scripts.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "../core/store_scripts.h"
#include "../core/taste_stored.h"

/* HSET key f1 v1 ... with the stored values (binary: lens given). */
static int
put_record(sk_bulk *b, const char *key, size_t keylen,
    const char *const *fields, int nfields, char vals[][SK_REC_VALMAX],
    const size_t *vlens)
{
    const char *argv[2 + 2 * SK_TRACK_NSTORED];
    size_t      lens[2 + 2 * SK_TRACK_NSTORED];
    int         i, argc = 0;

    argv[argc] = "HSET";
    lens[argc++] = 4;
    argv[argc] = key;
    lens[argc++] = keylen;
    for (i = 0; i < nfields; i++) {
        argv[argc] = fields[i];
        lens[argc++] = strlen(fields[i]);
        argv[argc] = vals[i];
        lens[argc++] = vlens[i];
    }
    return sk_bulk_append(b, argc, argv, lens);
}

int
sk_store_put_user(sk_bulk *b, const char *snap, const char *id, size_t idlen,
    const sk_user_rec *u)
{
    char   key[SK_KEY_MAX];
    char   vals[SK_USER_NSTORED][SK_REC_VALMAX];
    size_t klen, lens[SK_USER_NSTORED];

    if (!sk_id_valid(id, idlen)) {
        snprintf(b->s->err, sizeof(b->s->err), "user id \"%.*s\": not 1..%d "
                 "characters of [A-Za-z0-9_.-]", (int) (idlen > 80 ? 80 : idlen),
                 id, SK_ID_MAX);
        b->failed = 1;
        return -1;
    }
    klen = sk_key_user(key, sizeof(key), b->s->opts.prefix, snap, id, idlen);
    sk_user_rec_pack(u, vals, lens);
    return put_record(b, key, klen, sk_user_stored, SK_USER_NSTORED, vals,
                      lens);
}

int
sk_store_put_track(sk_bulk *b, const char *snap, const char *id,
    size_t idlen, const sk_track_rec *t)
{
    char   key[SK_KEY_MAX];
    char   vals[SK_TRACK_NSTORED][SK_REC_VALMAX];
    size_t klen, lens[SK_TRACK_NSTORED];

    if (!sk_id_valid(id, idlen)) {
        snprintf(b->s->err, sizeof(b->s->err), "track id \"%.*s\": not "
                 "1..%d characters of [A-Za-z0-9_.-]",
                 (int) (idlen > 80 ? 80 : idlen), id, SK_ID_MAX);
        b->failed = 1;
        return -1;
    }
    klen = sk_key_track(key, sizeof(key), b->s->opts.prefix, snap, id, idlen);
    sk_track_rec_pack(t, vals, lens);
    return put_record(b, key, klen, sk_track_stored, SK_TRACK_NSTORED, vals,
                      lens);
}

int
sk_store_put_taste(sk_bulk *b, const char *snap, const char *id,
    size_t idlen, const uint32_t *counts)
{
    char        key[SK_KEY_MAX], val[SK_TASTE_TEXTMAX];
    const char *argv[3];
    size_t      lens[3];

    if (!sk_id_valid(id, idlen)) {
        snprintf(b->s->err, sizeof(b->s->err), "user id \"%.*s\": not 1..%d "
                 "characters of [A-Za-z0-9_.-]", (int) (idlen > 80 ? 80 : idlen),
                 id, SK_ID_MAX);
        b->failed = 1;
        return -1;
    }
    lens[2] = sk_taste_encode(counts, val, sizeof(val));
    if (lens[2] == 0) {
        return 0;           /* no history: no key (taste_stored.h) */
    }
    argv[0] = "SET";
    lens[0] = 3;
    argv[1] = key;
    lens[1] = sk_key_taste(key, sizeof(key), b->s->opts.prefix, snap, id,
                           idlen);
    argv[2] = val;
    return sk_bulk_append(b, 3, argv, lens);
}

/*
 * HMGET the stored fields of one record -> its readable fields (vals,
 * present) through sk_*_rec_stored_fields, then the readable decoder, so
 * that skipctl shows and checks a record as it always did.
 */
static int
get_record(sk_store *s, const char *key, int track, char vals[][SK_REC_VALMAX],
    int *present, void *rec, char *derr, size_t derrlen)
{
    const char *const *fields = track ? sk_track_stored : sk_user_stored;
    const char  *argv[2 + SK_TRACK_NSTORED];
    const char  *sv[SK_TRACK_NSTORED], *ptrs[SK_TRACK_NFIELDS];
    size_t       slens[SK_TRACK_NSTORED], lens[SK_TRACK_NFIELDS];
    redisReply  *r;
    int          i, rc, nstored, nfields;

    nstored = track ? SK_TRACK_NSTORED : SK_USER_NSTORED;
    nfields = track ? SK_TRACK_NFIELDS : SK_USER_NFIELDS;
    argv[0] = "HMGET";
    argv[1] = key;
    for (i = 0; i < nstored; i++) {
        argv[2 + i] = fields[i];
    }
    r = sk_store_cmd(s, 2 + nstored, argv, NULL);
    if (r == NULL) {
        return SK_STORE_IOERR;
    }
    if (r->type != REDIS_REPLY_ARRAY || (int) r->elements != nstored) {
        snprintf(s->err, sizeof(s->err), "HMGET %s: unexpected reply", key);
        freeReplyObject(r);
        return SK_STORE_IOERR;
    }
    for (i = 0; i < nstored; i++) {
        redisReply *e = r->element[i];

        sv[i] = e->type == REDIS_REPLY_STRING ? e->str : NULL;
        slens[i] = sv[i] ? e->len : 0;
    }
    rc = track ? sk_track_rec_stored_fields(sv, slens, vals, present, derr,
                                            derrlen)
               : sk_user_rec_stored_fields(sv, slens, vals, present, derr,
                                           derrlen);
    freeReplyObject(r);
    if (rc != SK_REC_OK) {
        if (track) {
            memset(rec, 0, sizeof(sk_track_rec));
        } else {
            memset(rec, 0, sizeof(sk_user_rec));
        }
        return rc;
    }
    for (i = 0; i < nfields; i++) {
        ptrs[i] = present[i] ? vals[i] : NULL;
        lens[i] = present[i] ? strlen(vals[i]) : 0;
    }
    return track ? sk_track_rec_decode(rec, ptrs, lens, derr, derrlen)
                 : sk_user_rec_decode(rec, ptrs, lens, derr, derrlen);
}

int
sk_store_get_user(sk_store *s, const char *snap, const char *id,
    sk_user_rec *u, char vals[][SK_REC_VALMAX], int *present, char *derr,
    size_t derrlen)
{
    char  key[SK_KEY_MAX];

    sk_key_user(key, sizeof(key), s->opts.prefix, snap, id, strlen(id));
    return get_record(s, key, 0, vals, present, u, derr, derrlen);
}

int
sk_store_get_track(sk_store *s, const char *snap, const char *id,
    sk_track_rec *t, char vals[][SK_REC_VALMAX], int *present, char *derr,
    size_t derrlen)
{
    char  key[SK_KEY_MAX];

    sk_key_track(key, sizeof(key), s->opts.prefix, snap, id, strlen(id));
    return get_record(s, key, 1, vals, present, t, derr, derrlen);
}

int
sk_store_get_taste(sk_store *s, const char *snap, const char *id,
    sk_taste *taste, size_t *nfields, char *txt, size_t txtlen, char *derr,
    size_t derrlen)
{
    char         key[SK_KEY_MAX];
    const char  *argv[2];
    redisReply  *r;
    int          rc;

    sk_key_taste(key, sizeof(key), s->opts.prefix, snap, id, strlen(id));
    argv[0] = "GET";
    argv[1] = key;
    r = sk_store_cmd(s, 2, argv, NULL);
    if (r == NULL) {
        return SK_STORE_IOERR;
    }
    if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_NIL) {
        snprintf(s->err, sizeof(s->err), "GET %s: unexpected reply (not a "
                 "string)", key);
        freeReplyObject(r);
        return SK_STORE_IOERR;
    }
    txt[0] = '\0';
    if (r->type == REDIS_REPLY_STRING) {
        (void) sk_log_safe(txt, txtlen, r->str, r->len);
        rc = sk_taste_decode(taste, r->str, r->len, nfields, derr, derrlen);
    } else {
        rc = sk_taste_decode(taste, NULL, 0, nfields, derr, derrlen);
    }
    freeReplyObject(r);
    return rc;
}

redisReply *
sk_store_eval(sk_store *s, const char *body, int nkeys, int argc,
    const char **argv)
{
    const char *args[24];
    char        sha[41], nk[16];
    redisReply *r, *l;
    int         i, attempt;

    if (argc + 3 > (int) (sizeof(args) / sizeof(args[0]))) {
        snprintf(s->err, sizeof(s->err), "too many script arguments");
        return NULL;
    }
    sk_script_sha1(body, sha);
    snprintf(nk, sizeof(nk), "%d", nkeys);
    args[0] = "EVALSHA";
    args[1] = sha;
    args[2] = nk;
    if (s->cl) {
        /* SCRIPT LOAD would go to one node: send the body to the key's */
        args[0] = "EVAL";
        args[1] = body;
    }
    for (i = 0; i < argc; i++) {
        args[3 + i] = argv[i];
    }
    for (attempt = 0; attempt < 2; attempt++) {
        r = sk_store_cmd(s, argc + 3, args, NULL);
        if (r != NULL || strstr(s->err, "NOSCRIPT") == NULL) {
            return r;
        }
        /* First use on this server: load it, and check our SHA1 agrees
         * (the module relies on sk_script_sha1 for EVALSHA). */
        l = sk_store_cmdl(s, "SCRIPT", "LOAD", body, NULL);
        if (l == NULL) {
            return NULL;
        }
        if (l->type != REDIS_REPLY_STRING || strcmp(l->str, sha) != 0) {
            snprintf(s->err, sizeof(s->err), "SCRIPT LOAD returned %s, "
                     "sk_script_sha1 computed %s", l->str ? l->str : "?",
                     sha);
            freeReplyObject(l);
            return NULL;
        }
        freeReplyObject(l);
    }
    return NULL;
}

int
sk_snapshot_finish(sk_store *s, const char *snap, long users, long tracks)
{
    char        meta[SK_KEY_MAX], nu[32], nt[32];
    const char *argv[3];
    redisReply *r;

    sk_key_meta(meta, sizeof(meta), s->opts.prefix, snap);
    snprintf(nu, sizeof(nu), "%ld", users);
    snprintf(nt, sizeof(nt), "%ld", tracks);
    argv[0] = meta;
    argv[1] = nu;
    argv[2] = nt;
    r = sk_store_eval(s, sk_script_finish, SK_SCRIPT_FINISH_NKEYS, 3, argv);
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

int
sk_snapshot_handover(sk_store *s, const char *snap, int activate,
    long budget_us, sk_handover_result *res)
{
    char        active[SK_KEY_MAX], events[SK_KEY_MAX], meta[SK_KEY_MAX];
    char        budget[32];
    const char *argv[8];
    redisReply *r;
    int         more;

    memset(res, 0, sizeof(*res));
    if (s->cl) {
        return sk_cluster_activate(s, snap, activate, res);
    }
    sk_key_active(active, sizeof(active), s->opts.prefix);
    snprintf(events, sizeof(events), "%s:events", s->opts.prefix);
    sk_key_meta(meta, sizeof(meta), s->opts.prefix, snap);
    snprintf(budget, sizeof(budget), "%ld", budget_us > 0 ? budget_us : 0);
    argv[0] = active;
    argv[1] = events;
    argv[2] = meta;
    argv[3] = s->opts.prefix;
    argv[4] = snap;
    argv[5] = "0";                  /* no count limit: the budget bounds */
    argv[6] = activate ? "1" : "0";
    argv[7] = budget;

    /*
     * Every call replays for at most budget_us of Redis time (other
     * clients are served in between) and activates only in the call that
     * reached the end of the stream: that call is the hand-over.  Redis
     * runs scripts one at a time, so every event is either in the stream
     * before it (replayed) or applied live to the new snapshot after it.
     */
    do {
        r = sk_store_eval(s, sk_script_handover, SK_SCRIPT_HANDOVER_NKEYS, 8,
                          argv);
        if (r == NULL) {
            return -1;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 5) {
            snprintf(s->err, sizeof(s->err), "hand-over script: unexpected "
                     "reply");
            freeReplyObject(r);
            return -1;
        }
        res->calls++;
        res->read += r->element[0]->integer;
        res->applied += r->element[1]->integer;
        snprintf(res->cursor, sizeof(res->cursor), "%s",
                 r->element[2]->str ? r->element[2]->str : "");
        more = (int) r->element[3]->integer;
        if (res->previous[0] == '\0' && r->element[4]->str) {
            snprintf(res->previous, sizeof(res->previous), "%s",
                     r->element[4]->str);
        }
        freeReplyObject(r);
    } while (more);
    return 0;
}

/*
 * The hand-over on a Redis Cluster.  The script's keys (active pointer,
 * events stream, meta) hash to three slots, so it cannot run there; and
 * the module does not send events to a cluster (docs/feature-store.md,
 * "On a Redis Cluster"), so there is nothing to replay.  What stays is
 * the switch, which is one key: the snapshot must be complete, its
 * replicas must have it (WAIT, when this client wrote it), then SET
 * <prefix>:active.  A gc marking it "deleting" at the same moment is
 * caught by reading the state again after the SET (gc reads the pointer
 * after its mark): one of the two always sees the other.
 */
int
sk_cluster_activate(sk_store *s, const char *snap, int activate,
    sk_handover_result *res)
{
    char             meta[SK_KEY_MAX], active[SK_KEY_MAX], when[32];
    redisReply      *r;
    int              complete;
    sk_apply_result  applied;

    sk_key_meta(meta, sizeof(meta), s->opts.prefix, snap);
    res->calls = 1;
    snprintf(res->cursor, sizeof(res->cursor), "0-0");

    r = sk_store_cmdl(s, "HGET", meta, "state", NULL);
    if (r == NULL) {
        return -1;
    }
    complete = r->type == REDIS_REPLY_STRING
               && strcmp(r->str, SK_SNAP_COMPLETE) == 0;
    snprintf(s->err, sizeof(s->err), "snapshot %s is %s, not complete: not "
             "activating it", snap, r->type == REDIS_REPLY_STRING ? r->str
             : "unknown");
    freeReplyObject(r);
    if (!complete) {
        return -1;
    }
    if (!activate) {
        return 0;
    }
    /*
     * The hand-over of a cluster: the snapshot is caught up with the
     * events journal (store_apply.c: entries after its as_of, from its
     * own cursors, each key once) before it is served.  What is journaled
     * after this pass, the applier following the active snapshot applies
     * from the same cursors: nothing missed, nothing twice.
     */
    if (sk_journal_apply(s, snap, 0, &applied) != 0) {
        return -1;
    }
    res->read = applied.read;
    res->applied = applied.applied;
    if (sk_store_wait_replicas(s) != 0
        || sk_snapshot_active(s, res->previous, sizeof(res->previous)) != 0)
    {
        return -1;
    }
    sk_key_active(active, sizeof(active), s->opts.prefix);
    r = sk_store_cmdl(s, "SET", active, snap, NULL);
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);

    r = sk_store_cmdl(s, "HGET", meta, "state", NULL);
    if (r == NULL) {
        return -1;
    }
    complete = r->type == REDIS_REPLY_STRING
               && strcmp(r->str, SK_SNAP_COMPLETE) == 0;
    freeReplyObject(r);
    if (!complete) {
        /* gc got there first: put the previous pointer back */
        r = res->previous[0]
            ? sk_store_cmdl(s, "SET", active, res->previous, NULL)
            : sk_store_cmdl(s, "DEL", active, NULL);
        if (r) {
            freeReplyObject(r);
        }
        snprintf(s->err, sizeof(s->err), "snapshot %s is being deleted "
                 "(gc): not activating it", snap);
        return -1;
    }
    snprintf(when, sizeof(when), "%ld", (long) time(NULL));
    r = sk_store_cmdl(s, "HSET", meta, "activated", when, NULL);
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    return 0;
}
