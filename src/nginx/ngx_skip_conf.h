/*
 * ngx_skip: configuration checks shared by the module's directives
 * (ngx_skip_module.c, ngx_skip_events.c).  Each refuses, at `nginx -t`, a
 * value that would silently switch a safety off, with a message in
 * nginx's own style: invalid value "V" in "DIRECTIVE" directive, why.
 */

#ifndef _NGX_SKIP_CONF_H_INCLUDED_
#define _NGX_SKIP_CONF_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* post handlers for ngx_conf_set_msec_slot / ngx_conf_set_str_slot */
extern ngx_conf_post_t  ngx_http_skip_conf_msec_positive;
extern ngx_conf_post_t  ngx_http_skip_conf_str_nonempty;

/*
 * "0".."1" with at most 6 decimals -> millionths in *out; otherwise logs
 * why (too many decimals, out of range, not a number) and returns
 * NGX_CONF_ERROR.
 */
char *ngx_http_skip_conf_fraction(ngx_conf_t *cf, ngx_str_t *value,
    ngx_int_t *out);

/*
 * skip_redis_breaker off | THRESHOLD [OPEN [MAX]] [quiet=TIME]:
 * value[1..nelts-1] -> *threshold (0: off), *open, *max (defaults 1s and
 * 10s; MAX >= OPEN), *quiet (default 250ms; 0 allowed).
 */
char *ngx_http_skip_conf_breaker(ngx_conf_t *cf, ngx_str_t *value,
    ngx_uint_t nelts, ngx_int_t *threshold, ngx_msec_t *open,
    ngx_msec_t *max, ngx_msec_t *quiet);


#endif /* _NGX_SKIP_CONF_H_INCLUDED_ */
