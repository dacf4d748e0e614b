/*
 * skipctl's Redis client for the feature store (see store.h): options,
 * connection, single commands and the pipelined bulk writer.  The snapshot
 * bookkeeping is in store_snap.c.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "store.h"

void
sk_store_opts_init(sk_store_opts *o)
{
    const char *pw = getenv(SK_STORE_PASSWORD_ENV);

    memset(o, 0, sizeof(*o));
    snprintf(o->host, sizeof(o->host), "%s", SK_STORE_DEFAULT_HOST);
    o->port = SK_STORE_DEFAULT_PORT;
    o->password = (pw && *pw) ? pw : NULL;
    snprintf(o->prefix, sizeof(o->prefix), "%s", SK_DEFAULT_PREFIX);
    o->timeout_ms = SK_STORE_DEFAULT_TIMEOUT;
}

static int
parse_long(const char *s, long lo, long hi, long *out)
{
    char *end;
    long  n;

    errno = 0;
    n = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || errno == ERANGE || n < lo || n > hi) {
        return -1;
    }
    *out = n;
    return 0;
}

static int
parse_addr(sk_store_opts *o, const char *arg, char *err, size_t errlen)
{
    const char *colon;
    long        port;
    size_t      hlen;

    if (strncmp(arg, "unix:", 5) == 0) {
        if (arg[5] == '\0' || strlen(arg + 5) >= sizeof(o->unix_path)) {
            snprintf(err, errlen, "--redis %s: empty or too long socket path",
                     arg);
            return -1;
        }
        snprintf(o->unix_path, sizeof(o->unix_path), "%s", arg + 5);
        o->host[0] = '\0';
        return 1;
    }
    if (parse_long(arg, 1, 65535, &port) == 0) {       /* just a port */
        snprintf(o->host, sizeof(o->host), "%s", SK_STORE_DEFAULT_HOST);
        o->unix_path[0] = '\0';
        o->port = (int) port;
        return 1;
    }
    if (arg[0] == '[') {                               /* [v6]:port */
        const char *close = strchr(arg, ']');

        if (close == NULL || close[1] != ':') {
            goto bad;
        }
        hlen = (size_t) (close - arg - 1);
        colon = close + 1;
        arg++;
    } else {
        colon = strrchr(arg, ':');
        if (colon == NULL) {
            goto bad;
        }
        hlen = (size_t) (colon - arg);
    }
    if (hlen == 0 || hlen >= sizeof(o->host)
        || parse_long(colon + 1, 1, 65535, &port) != 0)
    {
        goto bad;
    }
    memcpy(o->host, arg, hlen);
    o->host[hlen] = '\0';
    o->unix_path[0] = '\0';
    o->port = (int) port;
    return 1;

bad:
    snprintf(err, errlen, "--redis %s: expected HOST:PORT, PORT or unix:PATH",
             arg);
    return -1;
}

int
sk_store_opt(sk_store_opts *o, const char *name, const char *arg,
    char *err, size_t errlen)
{
    long n;

    if (strcmp(name, "--redis") == 0) {
        return parse_addr(o, arg, err, errlen);
    }
    if (strcmp(name, "--password") == 0) {
        o->password = *arg ? arg : NULL;
        return 1;
    }
    if (strcmp(name, "--db") == 0) {
        if (parse_long(arg, 0, 1000000, &n) != 0) {
            snprintf(err, errlen, "--db %s: not a database number", arg);
            return -1;
        }
        o->db = (int) n;
        return 1;
    }
    if (strcmp(name, "--prefix") == 0) {
        if (!sk_prefix_valid(arg, strlen(arg))) {
            snprintf(err, errlen, "--prefix %s: 1..%d characters of "
                     "[A-Za-z0-9_.-]", arg, SK_PREFIX_MAX);
            return -1;
        }
        snprintf(o->prefix, sizeof(o->prefix), "%s", arg);
        return 1;
    }
    if (strcmp(name, "--timeout") == 0) {
        if (parse_long(arg, 1, 3600000, &n) != 0) {
            snprintf(err, errlen, "--timeout %s: milliseconds, 1..3600000",
                     arg);
            return -1;
        }
        o->timeout_ms = (int) n;
        return 1;
    }
    return 0;
}

const char *
sk_store_addr(const sk_store_opts *o, char *buf, size_t size)
{
    if (o->unix_path[0]) {
        snprintf(buf, size, "unix:%s", o->unix_path);
    } else if (strchr(o->host, ':')) {
        snprintf(buf, size, "[%s]:%d", o->host, o->port);
    } else {
        snprintf(buf, size, "%s:%d", o->host, o->port);
    }
    return buf;
}

/* Describe a hiredis I/O failure; a timeout gets a plain name. */
static void
io_error(sk_store *s, const char *what)
{
    char        addr[300];
    const char *why = s->c ? s->c->errstr : "out of memory";

    if (s->c && s->c->err == REDIS_ERR_IO
        && (errno == EAGAIN || errno == EWOULDBLOCK))
    {
        why = "timed out (--timeout)";
    }
    snprintf(s->err, sizeof(s->err), "redis %s: %s: %s",
             sk_store_addr(&s->opts, addr, sizeof(addr)), what,
             why[0] ? why : "connection lost");
}

int
sk_store_connect(sk_store *s, const sk_store_opts *o)
{
    struct timeval  tv;
    redisReply     *r;
    char            db[16];

    memset(s, 0, sizeof(*s));
    s->opts = *o;
    if (o->cluster && o->db > 0) {
        snprintf(s->err, sizeof(s->err), "--db %d: a Redis Cluster has only "
                 "database 0", o->db);
        return -1;
    }
    tv.tv_sec = o->timeout_ms / 1000;
    tv.tv_usec = (o->timeout_ms % 1000) * 1000;
    if (o->unix_path[0]) {
        s->c = redisConnectUnixWithTimeout(o->unix_path, tv);
    } else {
        s->c = redisConnectWithTimeout(o->host, o->port, tv);
    }
    if (s->c == NULL || s->c->err) {
        io_error(s, "connect");
        return -1;
    }
    if (redisSetTimeout(s->c, tv) != REDIS_OK) {
        io_error(s, "set timeout");
        return -1;
    }
    if (o->password) {
        r = sk_store_cmdl(s, "AUTH", o->password, NULL);
        if (r == NULL) {
            return -1;
        }
        freeReplyObject(r);
    }
    if (o->db > 0) {
        snprintf(db, sizeof(db), "%d", o->db);
        r = sk_store_cmdl(s, "SELECT", db, NULL);
        if (r == NULL) {
            return -1;
        }
        freeReplyObject(r);
    }
    if (o->cluster) {
        return sk_cluster_connect(s);
    }
    return 0;
}

void
sk_store_close(sk_store *s)
{
    sk_cluster_close(s);
    if (s->c) {
        redisFree(s->c);
        s->c = NULL;
    }
}

/* An error reply becomes s->err = "redis ADDR: CMD: message". */
static int
reply_error(sk_store *s, const char *cmd, size_t cmdlen, redisReply *r)
{
    char addr[300];

    if (r->type != REDIS_REPLY_ERROR) {
        return 0;
    }
    snprintf(s->err, sizeof(s->err), "redis %s: %.*s: %s",
             sk_store_addr(&s->opts, addr, sizeof(addr)),
             (int) (cmdlen > 32 ? 32 : cmdlen), cmd, r->str);
    return -1;
}

redisReply *
sk_store_cmd(sk_store *s, int argc, const char **argv, const size_t *lens)
{
    redisReply *r;
    char        what[48];

    if (s->cl) {
        return sk_cluster_cmd(s, argc, argv, lens);
    }
    if (s->c == NULL || s->c->err) {
        snprintf(what, sizeof(what), "%s", argv[0]);
        io_error(s, what);
        return NULL;
    }
    r = redisCommandArgv(s->c, argc, argv, lens);
    if (r == NULL) {
        snprintf(what, sizeof(what), "%s", argv[0]);
        io_error(s, what);
        return NULL;
    }
    if (reply_error(s, argv[0], lens ? lens[0] : strlen(argv[0]), r) != 0) {
        freeReplyObject(r);
        return NULL;
    }
    return r;
}

redisReply *
sk_store_cmdl(sk_store *s, const char *arg0, ...)
{
    const char *argv[32];
    int         argc = 0;
    va_list     ap;
    const char *a;

    argv[argc++] = arg0;
    va_start(ap, arg0);
    while ((a = va_arg(ap, const char *)) != NULL && argc < 32) {
        argv[argc++] = a;
    }
    va_end(ap);
    return sk_store_cmd(s, argc, argv, NULL);
}


/* ---- pipelined bulk writer ----------------------------------------- */

void
sk_bulk_init(sk_bulk *b, sk_store *s, int batch)
{
    memset(b, 0, sizeof(*b));
    b->s = s;
    b->batch = batch > 0 ? batch : 1000;
}

/* Read n replies; the first error reply or I/O failure stops the writer. */
static int
bulk_read(sk_bulk *b, int n)
{
    redisReply *r;
    char        what[64];

    while (n-- > 0) {
        if (redisGetReply(b->s->c, (void **) &r) != REDIS_OK || r == NULL) {
            snprintf(what, sizeof(what), "pipelined write (after %ld "
                     "confirmed commands)", b->sent);
            io_error(b->s, what);
            b->failed = 1;
            return -1;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            snprintf(what, sizeof(what), "command %ld of the pipeline",
                     b->sent + 1);
            reply_error(b->s, what, strlen(what), r);
            freeReplyObject(r);
            b->failed = 1;
            return -1;
        }
        freeReplyObject(r);
        b->sent++;
    }
    return 0;
}

/* Send everything appended (blocking, within the socket timeout). */
static int
bulk_send(sk_bulk *b)
{
    int done = 0;

    while (!done) {
        if (redisBufferWrite(b->s->c, &done) != REDIS_OK) {
            io_error(b->s, "pipelined write");
            b->failed = 1;
            return -1;
        }
    }
    b->inflight += b->pending;
    b->pending = 0;
    return 0;
}

int
sk_bulk_flush(sk_bulk *b)
{
    int n;

    if (b->s->cl) {
        return sk_cluster_bulk_flush(b);
    }
    if (b->failed || bulk_send(b) != 0) {
        return -1;
    }
    n = b->inflight;
    b->inflight = 0;
    return bulk_read(b, n);
}

int
sk_bulk_append(sk_bulk *b, int argc, const char **argv, const size_t *lens)
{
    int prev;

    if (b->s->cl) {
        return sk_cluster_bulk_append(b, argc, argv, lens);
    }
    if (b->failed) {
        return -1;
    }
    if (b->s->c == NULL || b->s->c->err
        || redisAppendCommandArgv(b->s->c, argc, argv, lens) != REDIS_OK)
    {
        io_error(b->s, "pipelined write");
        b->failed = 1;
        return -1;
    }
    if (++b->pending < b->batch) {
        return 0;
    }
    /* Send this batch, then collect the previous one's replies. */
    prev = b->inflight;
    if (bulk_send(b) != 0) {
        return -1;
    }
    b->inflight -= prev;
    return bulk_read(b, prev);
}
