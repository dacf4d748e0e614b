/*
 * Snapshot bookkeeping of the feature store (see store.h and
 * docs/feature-store.md): ids, creation with meta, listing, deletion.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

size_t
sk_snapshot_id(char *buf, size_t size, time_t t, int attempt)
{
    struct tm tm;
    int       n;

    if (gmtime_r(&t, &tm) == NULL) {
        return 0;
    }
    if (attempt > 1) {
        n = snprintf(buf, size, "s%04d%02d%02d%02d%02d%02d-%d",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, attempt);
    } else {
        n = snprintf(buf, size, "s%04d%02d%02d%02d%02d%02d",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec);
    }
    if (n < 0 || (size_t) n >= size || n > SK_SNAP_MAX) {
        return 0;
    }
    return (size_t) n;
}

static size_t
key_snapshots(char *buf, size_t size, const char *prefix)
{
    int n = snprintf(buf, size, "%s:snapshots", prefix);

    return (n < 0 || (size_t) n >= size) ? 0 : (size_t) n;
}

int
sk_snapshot_create(sk_store *s, time_t t, int64_t as_of_ms,
    const char *model, const char *source, char *id, size_t idsize)
{
    char        meta[SK_KEY_MAX], zkey[SK_KEY_MAX];
    char        created[32], as_of[32];
    redisReply *r;
    int         attempt;
    long long   got;

    key_snapshots(zkey, sizeof(zkey), s->opts.prefix);
    snprintf(created, sizeof(created), "%lld", (long long) t);
    snprintf(as_of, sizeof(as_of), "%" PRId64, as_of_ms);

    for (attempt = 1; attempt <= 100; attempt++) {
        if (sk_snapshot_id(id, idsize, t, attempt) == 0) {
            snprintf(s->err, sizeof(s->err), "snapshot id buffer too small");
            return -1;
        }
        sk_key_meta(meta, sizeof(meta), s->opts.prefix, id);
        /* HSETNX is the reservation: only one loader gets a given id. */
        r = sk_store_cmdl(s, "HSETNX", meta, "state", SK_SNAP_LOADING, NULL);
        if (r == NULL) {
            return -1;
        }
        got = r->integer;
        freeReplyObject(r);
        if (got == 1) {
            break;
        }
    }
    if (attempt > 100) {
        snprintf(s->err, sizeof(s->err), "no free snapshot id for this "
                 "second after 100 attempts");
        return -1;
    }

    r = sk_store_cmdl(s, "HSET", meta, "created", created, "as_of", as_of,
                      "model", model ? model : "", "source",
                      source ? source : "", "users", "0", "tracks", "0",
                      "replayed_to", "0-0", NULL);
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    r = sk_store_cmdl(s, "ZADD", zkey, created, id, NULL);
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    return 0;
}

int
sk_snapshot_active(sk_store *s, char *buf, size_t size)
{
    char        key[SK_KEY_MAX];
    redisReply *r;

    sk_key_active(key, sizeof(key), s->opts.prefix);
    r = sk_store_cmdl(s, "GET", key, NULL);
    if (r == NULL) {
        return -1;
    }
    buf[0] = '\0';
    if (r->type == REDIS_REPLY_STRING) {
        snprintf(buf, size, "%.*s", (int) r->len, r->str);
    }
    freeReplyObject(r);
    return 0;
}

static void
meta_fill(sk_snapshot_info *in, redisReply *r)
{
    size_t i;

    if (r->type != REDIS_REPLY_ARRAY) {
        return;
    }
    for (i = 0; i + 1 < r->elements; i += 2) {
        const char *k = r->element[i]->str, *v = r->element[i + 1]->str;

        if (k == NULL || v == NULL) {
            continue;
        }
        if (strcmp(k, "state") == 0) {
            snprintf(in->state, sizeof(in->state), "%s", v);
        } else if (strcmp(k, "as_of") == 0) {
            in->as_of = strtoll(v, NULL, 10);
        } else if (strcmp(k, "users") == 0) {
            in->users = strtol(v, NULL, 10);
        } else if (strcmp(k, "tracks") == 0) {
            in->tracks = strtol(v, NULL, 10);
        } else if (strcmp(k, "model") == 0) {
            snprintf(in->model, sizeof(in->model), "%s", v);
        } else if (strcmp(k, "replayed_to") == 0) {
            snprintf(in->replayed_to, sizeof(in->replayed_to), "%s", v);
        } else if (strcmp(k, "activated") == 0) {
            in->activated = strtol(v, NULL, 10);
        }
    }
}

int
sk_snapshot_list(sk_store *s, sk_snapshot_info **out)
{
    char              zkey[SK_KEY_MAX], meta[SK_KEY_MAX];
    redisReply       *r, *m;
    sk_snapshot_info *list;
    size_t            i, n = 0;

    *out = NULL;
    key_snapshots(zkey, sizeof(zkey), s->opts.prefix);
    r = sk_store_cmdl(s, "ZREVRANGE", zkey, "0", "-1", "WITHSCORES", NULL);
    if (r == NULL) {
        return -1;
    }
    list = calloc(r->elements / 2 + 1, sizeof(*list));
    if (list == NULL) {
        freeReplyObject(r);
        snprintf(s->err, sizeof(s->err), "out of memory");
        return -1;
    }
    for (i = 0; i + 1 < r->elements; i += 2) {
        sk_snapshot_info *in = &list[n];

        if (r->element[i]->str == NULL
            || !sk_snapshot_valid(r->element[i]->str, r->element[i]->len))
        {
            continue;   /* not ours: never build keys from it */
        }
        snprintf(in->id, sizeof(in->id), "%s", r->element[i]->str);
        in->created = r->element[i + 1]->str
                      ? strtod(r->element[i + 1]->str, NULL) : 0;
        sk_key_meta(meta, sizeof(meta), s->opts.prefix, in->id);
        m = sk_store_cmdl(s, "HGETALL", meta, NULL);
        if (m == NULL) {
            freeReplyObject(r);
            free(list);
            return -1;
        }
        meta_fill(in, m);
        freeReplyObject(m);
        n++;
    }
    freeReplyObject(r);
    *out = list;
    return (int) n;
}

/* UNLINK the keys of one SCAN page. */
static int
unlink_keys(sk_store *s, redisReply *keys, long *deleted)
{
    const char **argv, *argv0[2];
    size_t      *lens, i, lens0[2];
    redisReply  *r;

    if (keys->elements == 0) {
        return 0;
    }
    if (s->cl) {
        /* one slot per key on a cluster: UNLINK each, pipelined per node */
        sk_bulk b;

        sk_bulk_init(&b, s, 1000);
        for (i = 0; i < keys->elements; i++) {
            argv0[0] = "UNLINK";
            argv0[1] = keys->element[i]->str;
            lens0[0] = 6;
            lens0[1] = keys->element[i]->len;
            if (sk_bulk_append(&b, 2, argv0, lens0) != 0) {
                return -1;
            }
        }
        if (sk_bulk_flush(&b) != 0) {
            return -1;
        }
        *deleted += (long) keys->elements;
        return 0;
    }
    argv = malloc((keys->elements + 1) * sizeof(*argv));
    lens = malloc((keys->elements + 1) * sizeof(*lens));
    if (argv == NULL || lens == NULL) {
        free(argv);
        free(lens);
        snprintf(s->err, sizeof(s->err), "out of memory");
        return -1;
    }
    argv[0] = "UNLINK";
    lens[0] = 6;
    for (i = 0; i < keys->elements; i++) {
        argv[i + 1] = keys->element[i]->str;
        lens[i + 1] = keys->element[i]->len;
    }
    r = sk_store_cmd(s, (int) keys->elements + 1, argv, lens);
    free(argv);
    free(lens);
    if (r == NULL) {
        return -1;
    }
    *deleted += r->integer;
    freeReplyObject(r);
    return 0;
}

int
sk_snapshot_delete(sk_store *s, const char *snap, long *deleted)
{
    char        meta[SK_KEY_MAX], zkey[SK_KEY_MAX], pattern[SK_KEY_MAX];
    char        active[SK_SNAP_MAX + 8], cursor[32] = "0";
    redisReply *r;
    int         n, node, pat;

    *deleted = 0;
    if (!sk_snapshot_valid(snap, strlen(snap))) {
        snprintf(s->err, sizeof(s->err), "bad snapshot id \"%s\"", snap);
        return -1;
    }
    sk_key_meta(meta, sizeof(meta), s->opts.prefix, snap);
    key_snapshots(zkey, sizeof(zkey), s->opts.prefix);

    /*
     * Mark it first: the activation script refuses anything not complete,
     * so once the mark is set nobody can make it active behind our back.
     * Then check that it was not active already.
     */
    r = sk_store_cmdl(s, "HSET", meta, "state", SK_SNAP_DELETING, NULL);
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    if (sk_snapshot_active(s, active, sizeof(active)) != 0) {
        return -1;
    }
    if (strcmp(active, snap) == 0) {
        r = sk_store_cmdl(s, "HSET", meta, "state", SK_SNAP_COMPLETE, NULL);
        if (r) {
            freeReplyObject(r);
        }
        snprintf(s->err, sizeof(s->err), "snapshot %s is active: not "
                 "deleting it", snap);
        return -1;
    }

    /*
     * The snapshot id is validated, so the patterns have no glob chars
     * but ours.  "[ut]*:" takes u:, t: and ut: (the taste,
     * taste_stored.h), not meta.  On a cluster also the applier's keys
     * of this snapshot (journal.h): the tastes' marks and the cursors.
     */
    for (pat = 0; pat < (s->cl ? 3 : 1); pat++) {
    n = snprintf(pattern, sizeof(pattern),
                 pat == 0 ? "%s:%s:[ut]*:*"
                 : pat == 1 ? "{%s:%s:ut:*" : "%s:{*}:cursor:%s",
                 s->opts.prefix, snap);
    if (n < 0 || (size_t) n >= sizeof(pattern)) {
        snprintf(s->err, sizeof(s->err), "key too long");
        return -1;
    }
    /* a cluster's keys are on every primary: SCAN each of them */
    for (node = 0; node < sk_store_nodes(s); node++) {
    sk_store_pin(s, node);
    snprintf(cursor, sizeof(cursor), "0");
    do {
        r = sk_store_cmdl(s, "SCAN", cursor, "MATCH", pattern, "COUNT",
                          "2000", NULL);
        if (r == NULL) {
            sk_store_pin(s, -1);
            return -1;
        }
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2
            || r->element[0]->str == NULL
            || r->element[1]->type != REDIS_REPLY_ARRAY)
        {
            freeReplyObject(r);
            snprintf(s->err, sizeof(s->err), "SCAN: unexpected reply");
            sk_store_pin(s, -1);
            return -1;
        }
        snprintf(cursor, sizeof(cursor), "%s", r->element[0]->str);
        if (unlink_keys(s, r->element[1], deleted) != 0) {
            freeReplyObject(r);
            sk_store_pin(s, -1);
            return -1;
        }
        freeReplyObject(r);
    } while (strcmp(cursor, "0") != 0);
    }
    }
    sk_store_pin(s, -1);

    r = sk_store_cmdl(s, "UNLINK", meta, NULL);
    if (r == NULL) {
        return -1;
    }
    *deleted += r->integer;
    freeReplyObject(r);
    r = sk_store_cmdl(s, "ZREM", zkey, snap, NULL);
    if (r == NULL) {
        return -1;
    }
    freeReplyObject(r);
    return 0;
}
