/*
 * ngx_skip: the prefetch ledger.  Which slices of which objects this nginx
 * is prefetching or has prefetched, shared by all workers, so that
 *
 *   - a slice is prefetched once at a time, whichever worker asks (two
 *     listeners starting one track cause one origin fetch per slice), and
 *     not again while the ledger remembers it (the cache has it);
 *   - bytes prefetched and later asked for by a listener are counted as
 *     served (skip_prefetch_served_bytes_total), and bytes nobody asked for
 *     within the window as wasted (skip_prefetch_wasted_bytes_total), both
 *     under the A/B arm whose decision caused the prefetch.
 *
 * A slice is named by the object's path (the request URI a listener uses)
 * and its index (offset / slice size; 0 for a whole object).  See
 * ngx_skip_ledger.c for the table, its locking and its sizing.
 */

#ifndef _NGX_SKIP_LEDGER_H_INCLUDED_
#define _NGX_SKIP_LEDGER_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_SKIP_LEDGER_DEFAULT_SIZE    (1024 * 1024)
#define NGX_SKIP_LEDGER_DEFAULT_WINDOW  600        /* s: 10 min */

/* a claim whose fetch never reported back (worker crash) is dropped after */
#define NGX_SKIP_LEDGER_INFLIGHT_TTL    60         /* s */


/*
 * Configuration time: declare the zone "skip_prefetch" of size bytes that
 * remembers a prefetched slice for window seconds.  Several calls in one
 * configuration declare it once (the first size and window win).
 */
ngx_int_t ngx_skip_ledger_add_zone(ngx_conf_t *cf, void *tag, size_t size,
    time_t window);

/* init_process: find the zone of the worker's configuration (or none). */
void ngx_skip_ledger_init_process(ngx_cycle_t *cycle, void *tag);

/*
 * Claim a slice for a prefetch by the arm in metrics slot `arm`:
 *   NGX_OK        claimed: fetch it, then call done() or release()
 *   NGX_BUSY      being fetched, or fetched within the window: do not
 *   NGX_DECLINED  the table has no room for it now: do not (counted by
 *                 the caller; make the zone larger)
 *   NGX_OK also without a zone (nothing deduplicated, nothing counted).
 */
ngx_int_t ngx_skip_ledger_claim(ngx_str_t *path, ngx_uint_t slice,
    ngx_uint_t arm);

/*
 * Whether a slice is being fetched or was fetched within the window,
 * without claiming it.  A job fetches its slices in order and stops at the
 * first it cannot fetch, so when the last slice of a range is known, the
 * whole range was handled: one check instead of one claim per slice.
 */
ngx_uint_t ngx_skip_ledger_known(ngx_str_t *path, ngx_uint_t slice);

/* The claimed slice is in the cache; bytes came from the origin (0: the
 * cache had it already). */
void ngx_skip_ledger_done(ngx_str_t *path, ngx_uint_t slice, size_t bytes);

/* The claimed slice was not fetched (error, abort): forget the claim. */
void ngx_skip_ledger_release(ngx_str_t *path, ngx_uint_t slice);

/* A listener asked for the slice: the first time, its prefetched bytes
 * count as served to the arm that prefetched it. */
void ngx_skip_ledger_served(ngx_str_t *path, ngx_uint_t slice);

/*
 * Count the bytes of slices whose window ended unserved as wasted, and
 * free expired slots: a part of the table per call (all of it every
 * NGX_SKIP_LEDGER_SWEEP_PARTS calls).  Called from a timer in one worker.
 */
#define NGX_SKIP_LEDGER_SWEEP_PARTS  16

void ngx_skip_ledger_sweep(void);


#endif /* _NGX_SKIP_LEDGER_H_INCLUDED_ */
