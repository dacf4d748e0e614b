/*
 * ngx_skip: live evaluation memory.  The prediction handler remembers what
 * it decided for (user, track); when the listener's Play or Skip for that
 * pair arrives at the events handler (possibly in another worker), the
 * entry is taken out and counted as (arm, predicted, actual) in
 * skip_outcomes_total.  See ngx_skip_recent.c for the table and its
 * locking.
 */

#ifndef _NGX_SKIP_RECENT_H_INCLUDED_
#define _NGX_SKIP_RECENT_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


#define NGX_SKIP_RECENT_DEFAULT_SIZE  (1024 * 1024)
#define NGX_SKIP_RECENT_DEFAULT_TTL   900              /* s: 15 min */


/*
 * Configuration time: declare the zone "skip_recent" of size bytes whose
 * entries live ttl seconds.  The first call wins (one table per
 * configuration); tag identifies the owning module.
 */
ngx_int_t ngx_skip_recent_add_zone(ngx_conf_t *cf, void *tag, size_t size,
    time_t ttl);

/* init_process: find the zone of the worker's configuration (or none). */
void ngx_skip_recent_init_process(ngx_cycle_t *cycle, void *tag);

/*
 * Run time, any worker.  model is the metrics slot of the arm
 * (ngx_http_skip_metrics_slot(): stable across reloads, unlike the index
 * in a configuration's skip_model list); predicted_skip is 1 when the
 * served decision was "skip", 0 for "play".  A no-op without a zone.  A
 * newer prediction for the same pair replaces the older one.
 */
void ngx_skip_recent_remember(ngx_str_t *user, ngx_str_t *track,
    ngx_uint_t model, ngx_uint_t predicted_skip);

/*
 * Take the unexpired prediction for (user, track) out of the table:
 * NGX_OK with *model and *predicted_skip set, or NGX_DECLINED when there
 * is none (never predicted here, expired, evicted, or already counted).
 */
ngx_int_t ngx_skip_recent_consume(ngx_str_t *user, ngx_str_t *track,
    ngx_uint_t *model, ngx_uint_t *predicted_skip);


#endif /* _NGX_SKIP_RECENT_H_INCLUDED_ */
