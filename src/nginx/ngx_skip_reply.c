/*
 * ngx_skip: Redis reply objects from per-worker free lists.
 *
 * Why: hiredis' default reader mallocs a reply object per array element and
 * a copy of every string, and frees them all after the handler ran: for a
 * lookup that is 12 malloc/free pairs (two HMGETs of five fields), the
 * largest part of what a Redis round trip cost the worker in user space
 * after the records were packed (bench/serving.sh, perf).  Here the same
 * objects (plain redisReply, so handlers read them as before) come from free
 * lists of fixed sizes and go back to them: after the first requests a
 * lookup allocates nothing.
 *
 * A worker is single-threaded, so the lists need no lock.  Each list keeps
 * at most NGX_SKIP_REPLY_KEEP blocks; more are freed, so a burst (a batch of
 * the prediction API, a script's long reply) does not hold memory.  Sizes
 * above the largest class are malloc()ed as hiredis would.
 */


#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_skip_reply.h"


#define NGX_SKIP_REPLY_KEEP   4096

/* string classes: a counter, an id or a short status; a packed track */
#define NGX_SKIP_REPLY_SMALL  32
#define NGX_SKIP_REPLY_LARGE  256

/* element vectors of up to this many pointers (an HMGET of a record) */
#define NGX_SKIP_REPLY_ELTS   8


typedef struct ngx_skip_reply_block_s  ngx_skip_reply_block_t;

struct ngx_skip_reply_block_s {
    ngx_skip_reply_block_t  *next;
};

typedef struct {
    ngx_skip_reply_block_t  *head;
    ngx_uint_t               n;
    size_t                   size;
} ngx_skip_reply_list_t;


static ngx_skip_reply_list_t  ngx_skip_reply_nodes = {
    NULL, 0, sizeof(redisReply)
};
static ngx_skip_reply_list_t  ngx_skip_reply_small = {
    NULL, 0, NGX_SKIP_REPLY_SMALL
};
static ngx_skip_reply_list_t  ngx_skip_reply_large = {
    NULL, 0, NGX_SKIP_REPLY_LARGE
};
static ngx_skip_reply_list_t  ngx_skip_reply_elts = {
    NULL, 0, NGX_SKIP_REPLY_ELTS * sizeof(redisReply *)
};


static void *
ngx_skip_reply_get(ngx_skip_reply_list_t *l)
{
    ngx_skip_reply_block_t  *b;

    b = l->head;

    if (b == NULL) {
        return malloc(l->size);
    }

    l->head = b->next;
    l->n--;

    return b;
}


static void
ngx_skip_reply_put(ngx_skip_reply_list_t *l, void *p)
{
    ngx_skip_reply_block_t  *b;

    if (l->n >= NGX_SKIP_REPLY_KEEP) {
        free(p);
        return;
    }

    b = p;
    b->next = l->head;
    l->head = b;
    l->n++;
}


static ngx_skip_reply_list_t *
ngx_skip_reply_str_list(size_t len)
{
    if (len < NGX_SKIP_REPLY_SMALL) {
        return &ngx_skip_reply_small;
    }

    if (len < NGX_SKIP_REPLY_LARGE) {
        return &ngx_skip_reply_large;
    }

    return NULL;
}


/* A zeroed reply of this type, linked into its array if it has one. */
static redisReply *
ngx_skip_reply_node(const redisReadTask *task, int type)
{
    redisReply  *r, *parent;

    r = ngx_skip_reply_get(&ngx_skip_reply_nodes);
    if (r == NULL) {
        return NULL;
    }

    ngx_memzero(r, sizeof(redisReply));
    r->type = type;

    if (task->parent) {
        parent = task->parent->obj;
        parent->element[task->idx] = r;
    }

    return r;
}


static void *
ngx_skip_reply_string(const redisReadTask *task, char *str, size_t len)
{
    redisReply             *r;
    ngx_skip_reply_list_t  *l;

    r = ngx_skip_reply_node(task, task->type);
    if (r == NULL) {
        return NULL;
    }

    l = ngx_skip_reply_str_list(len);
    r->str = l ? ngx_skip_reply_get(l) : malloc(len + 1);

    if (r->str == NULL) {
        if (task->parent) {
            ((redisReply *) task->parent->obj)->element[task->idx] = NULL;
        }

        ngx_skip_reply_put(&ngx_skip_reply_nodes, r);
        return NULL;
    }

    ngx_memcpy(r->str, str, len);
    r->str[len] = '\0';
    r->len = len;

    return r;
}


static void *
ngx_skip_reply_array(const redisReadTask *task, int elements)
{
    size_t       size;
    redisReply  *r;

    r = ngx_skip_reply_node(task, REDIS_REPLY_ARRAY);
    if (r == NULL) {
        return NULL;
    }

    if (elements > 0) {
        size = (size_t) elements * sizeof(redisReply *);
        r->element = elements <= NGX_SKIP_REPLY_ELTS
                     ? ngx_skip_reply_get(&ngx_skip_reply_elts)
                     : malloc(size);

        if (r->element == NULL) {
            if (task->parent) {
                ((redisReply *) task->parent->obj)->element[task->idx] = NULL;
            }

            ngx_skip_reply_put(&ngx_skip_reply_nodes, r);
            return NULL;
        }

        /* the reader fills them one by one; a failure frees what it has */
        ngx_memzero(r->element, size);
    }

    r->elements = elements;

    return r;
}


static void *
ngx_skip_reply_integer(const redisReadTask *task, long long value)
{
    redisReply  *r;

    r = ngx_skip_reply_node(task, REDIS_REPLY_INTEGER);
    if (r) {
        r->integer = value;
    }

    return r;
}


static void *
ngx_skip_reply_nil(const redisReadTask *task)
{
    return ngx_skip_reply_node(task, REDIS_REPLY_NIL);
}


void
ngx_skip_reply_free(void *reply)
{
    size_t                  i;
    redisReply             *r;
    ngx_skip_reply_list_t  *l;

    r = reply;

    if (r == NULL) {
        return;
    }

    if (r->type == REDIS_REPLY_ARRAY && r->element) {
        for (i = 0; i < r->elements; i++) {
            ngx_skip_reply_free(r->element[i]);
        }

        if (r->elements <= NGX_SKIP_REPLY_ELTS) {
            ngx_skip_reply_put(&ngx_skip_reply_elts, r->element);

        } else {
            free(r->element);
        }

    } else if (r->str) {
        l = ngx_skip_reply_str_list(r->len);

        if (l) {
            ngx_skip_reply_put(l, r->str);

        } else {
            free(r->str);
        }
    }

    ngx_skip_reply_put(&ngx_skip_reply_nodes, r);
}


static redisReplyObjectFunctions  ngx_skip_reply_functions = {
    ngx_skip_reply_string,
    ngx_skip_reply_array,
    ngx_skip_reply_integer,
    ngx_skip_reply_nil,
    ngx_skip_reply_free
};


redisReader *
ngx_skip_reply_reader_create(void)
{
    return redisReaderCreateWithFunctions(&ngx_skip_reply_functions);
}
