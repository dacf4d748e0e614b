/*
 * The minimal HTTP/1.1 client (see httpc.h).  Blocking sockets with
 * SO_RCVTIMEO/SO_SNDTIMEO as the deadline; responses are parsed from a
 * small buffer: status line, headers, then a Content-Length, chunked or
 * until-close body that is counted and dropped.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "httpc.h"

#define BUF_SIZE   65536
#define HEAD_MAX   32768

struct sk_http {
    sk_url   url;
    double   timeout_s;
    int      fd;
    int      requests;            /* on the current connection */
    char    *buf;
    size_t   start, end;          /* unread bytes: buf[start..end) */
    double   first_byte;          /* when the answer's first byte came */
};

static double
mono_s(void)
{
    struct timespec  ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + ts.tv_nsec / 1e9;
}

int
sk_url_parse(const char *url, sk_url *u, char *err, size_t errlen)
{
    const char  *p, *host, *colon, *slash;
    size_t       hl;

    memset(u, 0, sizeof(*u));
    if (strncasecmp(url, "http://", 7) != 0) {
        snprintf(err, errlen, "\"%s\": only http://HOST[:PORT][/path] is "
                 "supported", url);
        return -1;
    }
    host = url + 7;
    slash = strchr(host, '/');
    p = slash ? slash : host + strlen(host);
    colon = memchr(host, ':', (size_t) (p - host));
    hl = (size_t) ((colon ? colon : p) - host);
    if (hl == 0 || hl >= sizeof(u->host)) {
        snprintf(err, errlen, "\"%s\": bad host", url);
        return -1;
    }
    memcpy(u->host, host, hl);
    if (colon) {
        size_t  pl = (size_t) (p - colon - 1);
        long    port;
        char   *end;

        if (pl == 0 || pl >= sizeof(u->port)) {
            snprintf(err, errlen, "\"%s\": bad port", url);
            return -1;
        }
        memcpy(u->port, colon + 1, pl);
        port = strtol(u->port, &end, 10);
        if (*end != '\0' || port < 1 || port > 65535) {
            snprintf(err, errlen, "\"%s\": bad port", url);
            return -1;
        }
    } else {
        strcpy(u->port, "80");
    }
    if (slash) {
        size_t  l = strlen(slash);

        while (l > 0 && slash[l - 1] == '/') {
            l--;
        }
        if (l >= sizeof(u->path)) {
            snprintf(err, errlen, "\"%s\": path too long", url);
            return -1;
        }
        memcpy(u->path, slash, l);
    }
    snprintf(u->authority, sizeof(u->authority), "%s%s%s", u->host,
             colon ? ":" : "", colon ? u->port : "");
    return 0;
}

sk_http *
sk_http_new(const sk_url *u, double timeout_s)
{
    sk_http  *h = calloc(1, sizeof(*h));

    if (h == NULL) {
        return NULL;
    }
    h->buf = malloc(BUF_SIZE);
    if (h->buf == NULL) {
        free(h);
        return NULL;
    }
    h->url = *u;
    h->timeout_s = timeout_s;
    h->fd = -1;
    return h;
}

static void
disconnect(sk_http *h)
{
    if (h->fd >= 0) {
        close(h->fd);
        h->fd = -1;
    }
    h->start = h->end = 0;
    h->requests = 0;
}

void
sk_http_free(sk_http *h)
{
    if (h == NULL) {
        return;
    }
    disconnect(h);
    free(h->buf);
    free(h);
}

int
sk_http_connect(sk_http *h, char *err, size_t errlen)
{
    struct addrinfo   hints, *res, *ai;
    struct timeval    tv;
    int               fd = -1, rc, one = 1, saved = 0;

    disconnect(h);
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(h->url.host, h->url.port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", h->url.host, gai_strerror(rc));
        return -1;
    }
    tv.tv_sec = (time_t) h->timeout_s;
    tv.tv_usec = (suseconds_t) ((h->timeout_s - (double) tv.tv_sec) * 1e6);
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
            break;
        }
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        snprintf(err, errlen, "connect to %s:%s: %s", h->url.host,
                 h->url.port, strerror(saved));
        return -1;
    }
    h->fd = fd;
    return 0;
}

static int
send_all(sk_http *h, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t  n = send(h->fd, p, len, MSG_NOSIGNAL);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t) n;
    }
    return 0;
}

/* More bytes into the buffer: >0 read, 0 EOF, -1 error (errno). */
static ssize_t
fill(sk_http *h)
{
    ssize_t  n;

    if (h->start > 0 && h->start == h->end) {
        h->start = h->end = 0;
    }
    if (h->end == BUF_SIZE) {
        if (h->start == 0) {
            errno = EMSGSIZE;
            return -1;
        }
        memmove(h->buf, h->buf + h->start, h->end - h->start);
        h->end -= h->start;
        h->start = 0;
    }
    do {
        n = recv(h->fd, h->buf + h->end, BUF_SIZE - h->end, 0);
    } while (n < 0 && errno == EINTR);
    if (n > 0) {
        h->end += (size_t) n;
        if (h->first_byte == 0) {
            h->first_byte = mono_s();
        }
    }
    return n;
}

/* One CRLF-terminated line of at most HEAD_MAX; returns its length (the
 * line is buf[start..start+len), CRLF consumed), or -1/-2 (error/EOF). */
static long
read_line(sk_http *h, const char **line)
{
    for ( ;; ) {
        char  *nl = memchr(h->buf + h->start, '\n', h->end - h->start);

        if (nl != NULL) {
            size_t  len = (size_t) (nl - (h->buf + h->start));

            *line = h->buf + h->start;
            h->start += len + 1;
            if (len > 0 && (*line)[len - 1] == '\r') {
                len--;
            }
            return (long) len;
        }
        if (h->end - h->start > HEAD_MAX) {
            errno = EMSGSIZE;
            return -1;
        }
        ssize_t  n = fill(h);
        if (n == 0) {
            return -2;
        }
        if (n < 0) {
            return -1;
        }
    }
}

/* Discard n body bytes; 0 or -1. */
static int
skip_bytes(sk_http *h, long n, long *total)
{
    while (n > 0) {
        size_t  avail = h->end - h->start;

        if (avail == 0) {
            ssize_t  r = fill(h);

            if (r <= 0) {
                if (r == 0) {
                    errno = ECONNRESET;
                }
                return -1;
            }
            continue;
        }
        size_t  k = avail < (size_t) n ? avail : (size_t) n;
        h->start += k;
        n -= (long) k;
        *total += (long) k;
    }
    return 0;
}

static const char *
errtext(long rc)
{
    if (rc == -2) {
        return "connection closed by the server";
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
        return "timed out";
    }
    return strerror(errno);
}

static int
read_response(sk_http *h, const char *method, const char *const *capture,
    sk_http_res *res, int *keep, int *got_any, char *err, size_t errlen)
{
    const char  *line;
    long         len, clen = -1;
    int          chunked = 0, i;

    memset(res, 0, sizeof(*res));
    res->retry_after = -1;
    *keep = 1;

    len = read_line(h, &line);
    if (len < 0) {
        snprintf(err, errlen, "reading status line: %s", errtext(len));
        return -1;
    }
    *got_any = 1;
    if (len < 12 || strncmp(line, "HTTP/1.", 7) != 0
        || sscanf(line + 9, "%3d", &res->status) != 1
        || res->status < 100 || res->status > 599)
    {
        snprintf(err, errlen, "malformed status line \"%.*s\"",
                 (int) (len < 60 ? len : 60), line);
        return -1;
    }
    if (line[7] == '0') {
        *keep = 0;                        /* HTTP/1.0 unless keep-alive */
    }

    for ( ;; ) {
        const char  *colon, *v;
        size_t       nl, vl;

        len = read_line(h, &line);
        if (len < 0) {
            snprintf(err, errlen, "reading headers: %s", errtext(len));
            return -1;
        }
        if (len == 0) {
            break;
        }
        colon = memchr(line, ':', (size_t) len);
        if (colon == NULL) {
            continue;
        }
        nl = (size_t) (colon - line);
        v = colon + 1;
        while (v < line + len && (*v == ' ' || *v == '\t')) {
            v++;
        }
        vl = (size_t) (line + len - v);
        while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) {
            vl--;
        }

        if (nl == 14 && strncasecmp(line, "Content-Length", nl) == 0) {
            clen = strtol(v, NULL, 10);
        } else if (nl == 17 && strncasecmp(line, "Transfer-Encoding", nl) == 0
                   && vl >= 7 && strncasecmp(v + vl - 7, "chunked", 7) == 0)
        {
            chunked = 1;
        } else if (nl == 10 && strncasecmp(line, "Connection", nl) == 0) {
            if (vl == 5 && strncasecmp(v, "close", 5) == 0) {
                *keep = 0;
            } else if (vl == 10 && strncasecmp(v, "keep-alive", 10) == 0) {
                *keep = 1;
            }
        } else if (nl == 11 && strncasecmp(line, "Retry-After", nl) == 0) {
            res->retry_after = strtod(v, NULL);
        }
        for (i = 0; capture && capture[i] && i < SK_HTTP_CAPTURE; i++) {
            if (strlen(capture[i]) == nl
                && strncasecmp(line, capture[i], nl) == 0)
            {
                size_t  k = vl < SK_HTTP_VALUE - 1 ? vl : SK_HTTP_VALUE - 1;

                memcpy(res->value[i], v, k);
                res->value[i][k] = '\0';
                res->header[i] = res->value[i];
            }
        }
    }

    if (strcmp(method, "HEAD") == 0 || res->status < 200
        || res->status == 204 || res->status == 304)
    {
        return 0;
    }
    if (chunked) {
        for ( ;; ) {
            long  n;

            len = read_line(h, &line);
            if (len < 0) {
                snprintf(err, errlen, "reading chunk size: %s", errtext(len));
                return -1;
            }
            n = strtol(line, NULL, 16);
            if (n < 0) {
                snprintf(err, errlen, "bad chunk size");
                return -1;
            }
            if (n == 0) {
                /* trailers until the empty line */
                do {
                    len = read_line(h, &line);
                } while (len > 0);
                if (len < 0) {
                    snprintf(err, errlen, "reading trailers: %s",
                             errtext(len));
                    return -1;
                }
                return 0;
            }
            if (skip_bytes(h, n, &res->body_bytes) != 0) {
                snprintf(err, errlen, "reading chunk: %s", errtext(-1));
                return -1;
            }
            len = read_line(h, &line);          /* CRLF after the chunk */
            if (len < 0) {
                snprintf(err, errlen, "reading chunk end: %s", errtext(len));
                return -1;
            }
        }
    }
    if (clen >= 0) {
        if (skip_bytes(h, clen, &res->body_bytes) != 0) {
            snprintf(err, errlen, "reading body: %s", errtext(-1));
            return -1;
        }
        return 0;
    }
    /* No length: the body ends with the connection. */
    *keep = 0;
    for ( ;; ) {
        res->body_bytes += (long) (h->end - h->start);
        h->start = h->end = 0;
        ssize_t  n = fill(h);
        if (n == 0) {
            return 0;
        }
        if (n < 0) {
            snprintf(err, errlen, "reading body: %s", errtext(-1));
            return -1;
        }
    }
}

int
sk_http_request(sk_http *h, const char *method, const char *path,
    const char *const *names, const char *const *values,
    const char *content_type, const void *body, size_t body_len,
    const char *const *capture, sk_http_res *res, char *err, size_t errlen)
{
    char    head[4096];
    int     n, attempt, keep, got_any, reused;
    double  sent;

    n = snprintf(head, sizeof(head), "%s %s HTTP/1.1\r\nHost: %s\r\n"
                 "User-Agent: skipctl\r\n", method, path, h->url.authority);
    for (int i = 0; names && names[i] && values && values[i]; i++) {
        n += snprintf(head + n, sizeof(head) - (size_t) n, "%s: %s\r\n",
                      names[i], values[i]);
        if ((size_t) n >= sizeof(head)) {
            break;
        }
    }
    if ((size_t) n < sizeof(head) && (body != NULL || content_type != NULL)) {
        n += snprintf(head + n, sizeof(head) - (size_t) n,
                      "Content-Type: %s\r\nContent-Length: %zu\r\n",
                      content_type ? content_type : "application/octet-stream",
                      body_len);
    }
    if ((size_t) n >= sizeof(head) - 2) {
        snprintf(err, errlen, "request head too long");
        return -1;
    }
    n += snprintf(head + n, sizeof(head) - (size_t) n, "\r\n");

    for (attempt = 0; attempt < 2; attempt++) {
        if (h->fd < 0 && sk_http_connect(h, err, errlen) != 0) {
            return -1;
        }
        reused = h->requests > 0;
        h->requests++;
        got_any = 0;
        if (send_all(h, head, (size_t) n) != 0
            || (body_len > 0 && send_all(h, body, body_len) != 0))
        {
            snprintf(err, errlen, "sending request: %s", strerror(errno));
        } else {
            sent = mono_s();
            h->first_byte = h->start < h->end ? sent : 0;
            if (read_response(h, method, capture, res, &keep, &got_any,
                              err, errlen) == 0)
            {
                res->ttfb_ms = (h->first_byte - sent) * 1000.0;
                if (!keep) {
                    disconnect(h);
                }
                return 0;
            }
        }
        disconnect(h);
        /* Only a kept-alive connection closed before any answer is worth
         * a second try: the server dropped it idle, not our request. */
        if (!reused || got_any) {
            return -1;
        }
    }
    return -1;
}
