/*
 * The cache simulator's driver (see cachesim.h): traces, the policy table,
 * and one request through the LRU family of policies (lru, min-uses-2,
 * tinylfu and the skip-aware ones), which share the LRU list and differ
 * only in what they admit.  Belady has its own store (cachesim_belady.c).
 */
#include <stdlib.h>
#include <string.h>

#include "cachesim_int.h"

/* ---- traces ------------------------------------------------------------ */

int
sk_trace_init(sk_trace *t, size_t n, uint32_t n_objects)
{
    size_t i;

    memset(t, 0, sizeof(*t));
    /* request indices are uint32 with SK_SIM_NEVER reserved */
    if (n >= SK_SIM_NEVER || n_objects >= SK_SIM_NEVER) {
        return -1;
    }
    t->n = n;
    t->n_objects = n_objects;
    t->obj = calloc(n ? n : 1, sizeof(*t->obj));
    t->ts_ms = calloc(n ? n : 1, sizeof(*t->ts_ms));
    t->flags = calloc(n ? n : 1, sizeof(*t->flags));
    t->listened = malloc((n ? n : 1) * sizeof(*t->listened));
    t->next = calloc(n ? n : 1, sizeof(*t->next));
    t->p_play = calloc(n ? n : 1, sizeof(*t->p_play));
    t->size = calloc(n_objects ? n_objects : 1, sizeof(*t->size));
    if (!t->obj || !t->ts_ms || !t->flags || !t->listened || !t->next
        || !t->p_play || !t->size)
    {
        sk_trace_free(t);
        return -1;
    }
    for (i = 0; i < n; i++) {
        t->listened[i] = 1.0f;
    }
    return 0;
}

int
sk_trace_finish(sk_trace *t)
{
    uint32_t *first;        /* earliest request of each object seen so far */
    size_t    i;

    first = malloc((t->n_objects ? t->n_objects : 1) * sizeof(*first));
    if (first == NULL) {
        return -1;
    }
    memset(first, 0xff, (t->n_objects ? t->n_objects : 1) * sizeof(*first));
    for (i = t->n; i-- > 0; ) {
        t->next[i] = first[t->obj[i]];
        first[t->obj[i]] = (uint32_t) i;
    }
    free(first);
    return 0;
}

int
sk_trace_admit_alloc(sk_trace *t)
{
    free(t->admit);
    t->admit = calloc(t->n ? t->n : 1, 1);
    return t->admit ? 0 : -1;
}

uint64_t
sk_trace_unique_bytes(const sk_trace *t)
{
    uint8_t  *seen = calloc(t->n_objects ? t->n_objects : 1, 1);
    uint64_t  sum = 0;
    size_t    i;

    if (seen == NULL) {
        return 0;
    }
    for (i = 0; i < t->n; i++) {
        if (!seen[t->obj[i]]) {
            seen[t->obj[i]] = 1;
            sum += t->size[t->obj[i]];
        }
    }
    free(seen);
    return sum;
}

uint64_t
sk_trace_requested_bytes(const sk_trace *t)
{
    uint64_t sum = 0;
    size_t   i;

    for (i = 0; i < t->n; i++) {
        sum += t->size[t->obj[i]];
    }
    return sum;
}

void
sk_trace_free(sk_trace *t)
{
    free(t->obj);
    free(t->ts_ms);
    free(t->flags);
    free(t->listened);
    free(t->next);
    free(t->p_play);
    free(t->size);
    free(t->obj_track);
    free(t->obj_slice);
    free(t->parent);
    free(t->admit);
    memset(t, 0, sizeof(*t));
}

/* ---- the policy table -------------------------------------------------- */

static const struct {
    const char  *name;
    const char  *summary;
} policies[SK_N_POLICIES] = {
    [SK_POL_LRU] = { "lru",
        "admit every miss, evict the least recently used (nginx default)" },
    [SK_POL_MIN_USES] = { "min-uses-2",
        "admit on the 2nd request within --inactive (proxy_cache_min_uses 2)"
    },
    [SK_POL_TINYLFU] = { "tinylfu",
        "admit when more frequent than the LRU victims (count-min sketch)" },
    [SK_POL_SKIP] = { "skip",
        "model \"skip\": proxy_cache_bypass + proxy_no_cache"
    },
    [SK_POL_SKIP_NOCACHE] = { "skip-nocache",
        "model \"skip\": proxy_no_cache only, as conf/nginx-skip.conf" },
    [SK_POL_SKIP_TINYLFU] = { "skip+tinylfu",
        "skip-nocache, then TinyLFU admission for \"play\" misses" },
    [SK_POL_SKIP_MIN_USES] = { "skip+min-uses-2",
        "skip-nocache and proxy_cache_min_uses 2 (stock nginx)" },
    [SK_POL_ORACLE_SKIP] = { "oracle-skip",
        "skip with the true outcome instead of the model's decision" },
    [SK_POL_ORACLE_NOCACHE] = { "oracle-nocache",
        "skip-nocache with the true outcome instead of the model's" },
    [SK_POL_BELADY] = { "belady",
        "offline ceiling: farthest next use evicted, never-reused bypassed" },
    [SK_POL_LEARNED] = { "learned",
        "admit when the admission model says so (--admit-model); LRU" },
};

const char *
sk_policy_name(sk_policy p)
{
    return (unsigned) p < SK_N_POLICIES ? policies[p].name : "?";
}

const char *
sk_policy_summary(sk_policy p)
{
    return (unsigned) p < SK_N_POLICIES ? policies[p].summary : "?";
}

int
sk_policy_parse(const char *s, size_t len)
{
    int p;

    for (p = 0; p < SK_N_POLICIES; p++) {
        if (strlen(policies[p].name) == len
            && memcmp(policies[p].name, s, len) == 0)
        {
            return p;
        }
    }
    return -1;
}

void
sk_sim_config_default(sk_sim_config *c)
{
    memset(c, 0, sizeof(*c));
    c->inactive_ms = 3600 * 1000;
    c->min_uses = 2;
}

/* ---- a cache ------------------------------------------------------------- */

sk_cachesim *
sk_cachesim_new(const sk_trace *t, sk_policy p, const sk_sim_config *cfg)
{
    sk_cachesim *c;
    int          rc;

    if ((unsigned) p >= SK_N_POLICIES) {
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    c->t = t;
    c->policy = p;
    c->cfg = *cfg;
    c->in = calloc(t->n_objects ? t->n_objects : 1, 1);
    if (c->in == NULL) {
        goto failed;
    }
    switch (p) {
    case SK_POL_BELADY:
        rc = sk_belady_init(c);
        break;
    case SK_POL_MIN_USES:
    case SK_POL_SKIP_MIN_USES:
        rc = sk_lru_init(c) || sk_minuses_init(c);
        break;
    case SK_POL_TINYLFU:
    case SK_POL_SKIP_TINYLFU:
        rc = sk_lru_init(c) || sk_tinylfu_init(c);
        break;
    default:
        rc = sk_lru_init(c);
        break;
    }
    if (rc != 0) {
        goto failed;
    }
    return c;

failed:
    sk_cachesim_free(c);
    return NULL;
}

void
sk_cachesim_free(sk_cachesim *c)
{
    if (c == NULL) {
        return;
    }
    free(c->in);
    free(c->prev);
    free(c->next);
    free(c->uses);
    free(c->last_ms);
    if (c->has_cms) {
        sk_cms_free(&c->cms);
    }
    free(c->heap);
    free(c->pos);
    free(c->key);
    free(c->victims);
    free(c);
}

/* Does the policy follow a skip decision, and whose? */
static int
skip_decided(const sk_cachesim *c, size_t i)
{
    uint8_t f = c->t->flags[i];

    switch (c->policy) {
    case SK_POL_SKIP:
    case SK_POL_SKIP_NOCACHE:
    case SK_POL_SKIP_TINYLFU:
    case SK_POL_SKIP_MIN_USES:
        return !(f & SK_SIM_PREDICT_PLAY);
    case SK_POL_ORACLE_SKIP:
    case SK_POL_ORACLE_NOCACHE:
        return !(f & SK_SIM_PLAYED);
    default:
        return 0;
    }
}

static sk_sim_outcome
lru_family_request(sk_cachesim *c, size_t i)
{
    uint32_t  o = c->t->obj[i];
    uint64_t  size = c->t->size[o];
    uint32_t  uses = 0;
    int       skip = skip_decided(c, i);

    if (skip) {
        c->r.skip_decisions++;
        /*
         * proxy_cache_bypass: nginx does not even look the key up, so the
         * request is a miss that touches neither recency nor frequency.
         */
        if (c->policy == SK_POL_SKIP || c->policy == SK_POL_ORACLE_SKIP) {
            return sk_sim_not_stored(c, size);
        }
    }
    if (c->has_cms) {
        sk_cms_add(&c->cms, o);     /* TinyLFU counts every access */
    }
    if (c->uses) {
        uses = sk_minuses_seen(c, i);
    }
    if (c->in[o]) {
        sk_lru_touch(c, o);
        return sk_sim_hit(c, size);
    }
    if (size > c->cfg.capacity) {
        c->r.too_large++;
        return sk_sim_not_stored(c, size);
    }
    if (skip) {
        return sk_sim_not_stored(c, size);          /* proxy_no_cache */
    }
    if (c->uses && uses < c->cfg.min_uses) {
        return sk_sim_not_stored(c, size);
    }
    if (c->has_cms && !sk_tinylfu_admit(c, o)) {
        return sk_sim_not_stored(c, size);
    }
    if (c->policy == SK_POL_LEARNED
        && (c->t->admit == NULL || !c->t->admit[i]))
    {
        return sk_sim_not_stored(c, size);
    }
    sk_lru_make_room(c, size);
    sk_lru_push(c, o);
    return sk_sim_stored(c, o);
}

int
sk_cachesim_step(sk_cachesim *c)
{
    size_t    i = c->i;
    uint32_t  o;

    if (i >= c->t->n) {
        return -1;
    }
    c->i++;
    o = c->t->obj[i];
    c->r.requests++;
    c->r.bytes += c->t->size[o];
    if (c->policy == SK_POL_BELADY) {
        return (int) sk_belady_request(c, i);
    }
    return (int) lru_family_request(c, i);
}

void
sk_cachesim_run(sk_cachesim *c)
{
    while (sk_cachesim_step(c) >= 0) {
        /* next request */
    }
}

int
sk_cachesim_cached(const sk_cachesim *c, uint32_t obj)
{
    return obj < c->t->n_objects && c->in[obj];
}

uint64_t
sk_cachesim_used(const sk_cachesim *c)
{
    return c->used;
}

const sk_sim_result *
sk_cachesim_result(const sk_cachesim *c)
{
    return &c->r;
}

int
sk_simulate(const sk_trace *t, sk_policy p, const sk_sim_config *cfg,
    sk_sim_result *r)
{
    sk_cachesim *c = sk_cachesim_new(t, p, cfg);

    if (c == NULL) {
        return -1;
    }
    sk_cachesim_run(c);
    *r = c->r;
    sk_cachesim_free(c);
    return 0;
}
