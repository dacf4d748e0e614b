/*
 * A minimal blocking HTTP/1.1 client for skipctl replay and the benches:
 * one keep-alive connection per sk_http, requests one at a time, bodies of
 * responses read and discarded (only their length is kept), a few response
 * headers captured by name.  Plain http:// only; no redirects, no proxies.
 *
 * Not thread-safe per connection; use one sk_http per thread.
 *
 * Why not libcurl: the same API on libcurl's easy interface (one handle per
 * thread, kept-alive connections reused, TTFB from CURLINFO_*_TIME_T)
 * replayed 130,501 plays against a local nginx serving 4 kB at 10-13 k
 * requests/s where this client did 17-20 k (3 alternating runs each, 4
 * connections, 2 cores shared with nginx): libcurl spends ~3x the CPU per
 * request (three poll() calls and its transfer setup around each).  replay
 * measures nginx, so the client must stay the cheaper side; this one is
 * kept, small enough to read, and tested through t/71-replay.t.
 */
#ifndef SKIP_HTTPC_H
#define SKIP_HTTPC_H

#include <stddef.h>

#define SK_HTTP_CAPTURE   8       /* response headers captured per request */
#define SK_HTTP_VALUE     64      /* longest captured value kept */

typedef struct {
    char  host[256];
    char  port[8];
    char  path[256];              /* base path, no trailing '/' ("" = root) */
    char  authority[272];         /* Host: header value */
} sk_url;

/* "http://HOST[:PORT][/base]"; 0, or -1 with a reason in err. */
int sk_url_parse(const char *url, sk_url *u, char *err, size_t errlen);

typedef struct {
    int          status;                       /* 100..599 */
    double       retry_after;                  /* seconds; -1 when absent */
    long         body_bytes;
    double       ttfb_ms;                      /* request sent -> first
                                                  byte of the answer */
    const char  *header[SK_HTTP_CAPTURE];      /* NULL when absent */
    char         value[SK_HTTP_CAPTURE][SK_HTTP_VALUE];
} sk_http_res;

typedef struct sk_http sk_http;

sk_http *sk_http_new(const sk_url *u, double timeout_s);
void sk_http_free(sk_http *h);

/* Connect now (requests connect on demand); 0, or -1 with err. */
int sk_http_connect(sk_http *h, char *err, size_t errlen);

/*
 * One request.  names/values: extra request headers (NULL-terminated
 * names; either may be NULL).  content_type and body for POST (body may be
 * NULL).  capture: NULL-terminated names (case-insensitive, at most
 * SK_HTTP_CAPTURE) whose values land in res->header[i].  A request on a
 * kept-alive connection the server closed meanwhile is sent once more on a
 * new connection.  Returns 0 with res filled when an HTTP answer arrived,
 * -1 with err otherwise (connect, timeout, malformed answer).
 */
int sk_http_request(sk_http *h, const char *method, const char *path,
    const char *const *names, const char *const *values,
    const char *content_type, const void *body, size_t body_len,
    const char *const *capture, sk_http_res *res, char *err, size_t errlen);

#endif
