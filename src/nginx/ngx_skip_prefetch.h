/*
 * ngx_skip: prefetch, the action the prediction pays for.
 *
 * A listener predicted to play a track to the end will ask for its later
 * slices; warming them in the cache before the player asks turns those
 * requests into hits.  A listener predicted to skip will soon ask for the
 * next track, which a player that sends CMCD names (nor): warming that
 * track's first slice makes the switch fast.  Nothing is prefetched for a
 * listen predicted to be skipped, which is where prefetch-always wastes
 * its bytes.
 *
 * Mechanics.  Prefetches are background, header-only subrequests (as the
 * mirror module makes) into an internal caching location whose URI is the
 * skip_prefetch prefix followed by the object's path; the range of the
 * slice is in $skip_prefetch_range ("bytes=S-E", the same string the slice
 * module's $slice_range gives, so the cache keys match).  proxy_cache
 * still reads the whole answer into the cache.  The slices of one object
 * are fetched one after the other (one subrequest in flight per object);
 * each slice is claimed in the shared prefetch ledger first
 * (ngx_skip_ledger.h), so no two workers fetch the same slice, and a slice
 * fetched within the ledger's window is not fetched again.
 *
 * The object's size comes from the Content-Range of the listener's own
 * slice response (the first slice tells the total): exact for any file,
 * and no extra field in the track record.
 *
 * Nothing here fails or delays the listener's request: a prefetch that
 * cannot start is counted and dropped; a prefetch that fails is counted
 * and its later slices are not tried; errors of a subrequest are kept from
 * terminating the main request.  The main request stays open (keep-alive
 * connection idle) until its prefetch subrequests are done, as with
 * mirror; a client that aborts its own transfer cancels them, and their
 * claims are released.
 */

#ifndef _NGX_SKIP_PREFETCH_H_INCLUDED_
#define _NGX_SKIP_PREFETCH_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>


#define NGX_SKIP_PREFETCH_ALL  -1            /* skip_prefetch_ahead all */


/* location configuration: embedded in the module's */
typedef struct {
    ngx_http_complex_value_t  *uri;          /* skip_prefetch: URI prefix */
    size_t                     slice;        /* 0: whole object, no range */
    ngx_int_t                  ahead;        /* slices, or ..._ALL */
    ngx_int_t                  threshold;    /* millionths; -1: decision's */
    ngx_uint_t                 next;         /* slices of the CMCD next */
} ngx_skip_prefetch_conf_t;


/* What one listener request asks the prefetcher to do. */
typedef struct {
    ngx_str_t                  path;         /* the object being served */
    off_t                      start;        /* first byte the client asked */
    off_t                      total;        /* object size; -1 unknown */
    ngx_uint_t                 arm;          /* metrics slot of the arm */
    ngx_uint_t                 track;        /* prefetch this object */
    ngx_str_t                  next;         /* resolved CMCD nor, or "" */
} ngx_skip_prefetch_want_t;


/* registered by the module's preconfiguration: $skip_prefetch_range,
 * $skip_cmcd_sid */
ngx_int_t ngx_skip_prefetch_add_variables(ngx_conf_t *cf);

/* init_process: the per-worker cap on prefetches in flight (objects) */
void ngx_skip_prefetch_init_process(ngx_uint_t max_inflight);

/* Start what want asks for; r is the main (listener's) request. */
void ngx_skip_prefetch_start(ngx_http_request_t *r,
    ngx_skip_prefetch_conf_t *conf, ngx_skip_prefetch_want_t *want);

/*
 * The listener's request r for want->path was answered (header filter):
 * count the prefetched slices it covers as served.  end is the last byte
 * it asked for (or -1: to the end).
 */
void ngx_skip_prefetch_served(ngx_http_request_t *r,
    ngx_skip_prefetch_conf_t *conf, ngx_skip_prefetch_want_t *want,
    off_t end);

/*
 * From an answer's headers: the object's total size (from Content-Range
 * "bytes a-b/T", or Content-Length of a 200) or -1.
 */
off_t ngx_skip_prefetch_total(ngx_http_request_t *r);

/*
 * The client's Range of r: first and last byte asked for (last -1: to the
 * end); 0 / -1 without a usable single range.
 */
void ngx_skip_prefetch_client_range(ngx_http_request_t *r, off_t *start,
    off_t *end);

/*
 * Read the request's CMCD (CMCD-Request and CMCD-Session headers, the CMCD
 * query argument), count it, and resolve nor against r->uri into next
 * (pool memory).  next is empty when there is no usable nor (none, this
 * very object, another host, ...).
 */
void ngx_skip_prefetch_cmcd(ngx_http_request_t *r, ngx_str_t *next);


#endif /* _NGX_SKIP_PREFETCH_H_INCLUDED_ */
