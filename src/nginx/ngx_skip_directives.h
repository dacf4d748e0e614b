/*
 * ngx_skip: the handlers of ngx_http_skip_module's directives that a stock
 * slot setter cannot take (ngx_skip_module.c's command table points at
 * them): skip_redis resolves its address once, in the master; skip_model
 * loads and checks a model and its manifest, so that nginx -t names a bad
 * file; the fractions, the breaker, the record cache and the prefetch
 * depth and zone check their values and say why they refuse one.
 */

#ifndef _NGX_SKIP_DIRECTIVES_H_INCLUDED_
#define _NGX_SKIP_DIRECTIVES_H_INCLUDED_


#include <ngx_config.h>
#include <ngx_core.h>


/* main configuration (ngx_http_skip_main_conf_t) */
char *ngx_http_skip_redis(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_skip_model(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_skip_breaker(ngx_conf_t *cf, ngx_command_t *cmd, void *conf);
char *ngx_http_skip_record_cache(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_skip_prefetch_zone(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* location configuration (ngx_http_skip_loc_conf_t) */
char *ngx_http_skip_threshold(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_skip_prefetch_ahead(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);
char *ngx_http_skip_session_counts_slot(ngx_conf_t *cf, ngx_command_t *cmd,
    void *conf);

/* a pool cleanup: liblinear's models live in malloc()ed memory */
void ngx_http_skip_model_cleanup(void *data);


#endif /* _NGX_SKIP_DIRECTIVES_H_INCLUDED_ */
