/*
 * ngx_skip: configuration checks shared by the directives (see
 * ngx_skip_conf.h).  A stock slot parses the value; the post handler only
 * refuses what parses but cannot be meant: a 0 ms deadline makes every
 * lookup fail, a 0 ms connect timeout every connect, and an empty token
 * turns the events endpoint's authentication off without a word.
 */

#include <ngx_config.h>
#include <ngx_core.h>

#include "ngx_skip_conf.h"


#define NGX_HTTP_SKIP_CONF_DECIMALS  6


static char *ngx_http_skip_conf_msec_positive_handler(ngx_conf_t *cf,
    void *post, void *data);
static char *ngx_http_skip_conf_str_nonempty_handler(ngx_conf_t *cf,
    void *post, void *data);


ngx_conf_post_t  ngx_http_skip_conf_msec_positive = {
    ngx_http_skip_conf_msec_positive_handler
};

ngx_conf_post_t  ngx_http_skip_conf_str_nonempty = {
    ngx_http_skip_conf_str_nonempty_handler
};


static char *
ngx_http_skip_conf_msec_positive_handler(ngx_conf_t *cf, void *post,
    void *data)
{
    ngx_msec_t  *msp = data;

    ngx_str_t  *value;

    if (*msp > 0) {
        return NGX_CONF_OK;
    }

    value = cf->args->elts;

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, "
                       "it must be more than 0", &value[1], &value[0]);

    return NGX_CONF_ERROR;
}


static char *
ngx_http_skip_conf_str_nonempty_handler(ngx_conf_t *cf, void *post,
    void *data)
{
    ngx_str_t  *s = data;

    ngx_str_t  *value;

    if (s->len > 0) {
        return NGX_CONF_OK;
    }

    value = cf->args->elts;

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"\" in \"%V\" directive, it must "
                       "not be empty (\"off\", or no directive, turns it "
                       "off)", &value[0]);

    return NGX_CONF_ERROR;
}


char *
ngx_http_skip_conf_fraction(ngx_conf_t *cf, ngx_str_t *value,
    ngx_int_t *out)
{
    u_char      *p, *end, *dot;
    ngx_int_t    t;
    ngx_str_t   *args;
    ngx_uint_t   digits;
    const char  *why;

    args = cf->args->elts;

    t = ngx_atofp(value->data, value->len, NGX_HTTP_SKIP_CONF_DECIMALS);

    if (t != NGX_ERROR && t <= 1000000) {
        *out = t;
        return NGX_CONF_OK;
    }

    /* ngx_atofp() says only "error": find the real reason */

    why = "it must be a number between 0 and 1";

    if (t == NGX_ERROR) {
        dot = NULL;
        digits = 0;
        end = value->data + value->len;

        for (p = value->data; p < end; p++) {
            if (*p == '.' && dot == NULL) {
                dot = p;

            } else if (*p >= '0' && *p <= '9') {
                digits++;

            } else {
                break;
            }
        }

        if (p == end && digits > 0 && dot
            && (ngx_uint_t) (end - dot - 1) > NGX_HTTP_SKIP_CONF_DECIMALS)
        {
            why = "it has more than 6 decimals";
        }
    }

    ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                       "invalid value \"%V\" in \"%V\" directive, %s",
                       value, &args[0], why);

    return NGX_CONF_ERROR;
}


char *
ngx_http_skip_conf_breaker(ngx_conf_t *cf, ngx_str_t *value,
    ngx_uint_t nelts, ngx_int_t *threshold, ngx_msec_t *open,
    ngx_msec_t *max, ngx_msec_t *quiet)
{
    ngx_int_t   n;
    ngx_str_t   s;
    ngx_uint_t  i;
    ngx_msec_t  t[2];

    *open = 1000;
    *max = 10000;
    *quiet = 250;

    /* quiet=TIME, last if given: the rest is positional */
    if (nelts > 2
        && ngx_strncmp(value[nelts - 1].data, "quiet=", 6) == 0)
    {
        s.data = value[nelts - 1].data + 6;
        s.len = value[nelts - 1].len - 6;

        *quiet = ngx_parse_time(&s, 0);

        if (*quiet == (ngx_msec_t) NGX_ERROR) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\" directive, "
                               "quiet= must be a time", &value[nelts - 1],
                               &value[0]);
            return NGX_CONF_ERROR;
        }

        nelts--;
    }

    if (ngx_strcmp(value[1].data, "off") == 0) {
        if (nelts > 2) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "\"%V\" directive takes no times with "
                               "\"off\"", &value[0]);
            return NGX_CONF_ERROR;
        }

        *threshold = 0;
        return NGX_CONF_OK;
    }

    n = ngx_atoi(value[1].data, value[1].len);

    if (n < 1 || n > 1000000) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, it "
                           "must be \"off\" or a number of timeouts in a row "
                           "(1..1000000)", &value[1], &value[0]);
        return NGX_CONF_ERROR;
    }

    t[0] = *open;
    t[1] = *max;

    for (i = 2; i < nelts; i++) {
        t[i - 2] = ngx_parse_time(&value[i], 0);

        if (t[i - 2] == (ngx_msec_t) NGX_ERROR || t[i - 2] == 0) {
            ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                               "invalid value \"%V\" in \"%V\" directive, "
                               "it must be a time more than 0", &value[i],
                               &value[0]);
            return NGX_CONF_ERROR;
        }
    }

    if (nelts == 3 && t[1] < t[0]) {
        /* only OPEN given, above the default MAX: it stays fixed */
        t[1] = t[0];
    }

    if (t[1] < t[0]) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "invalid value \"%V\" in \"%V\" directive, the "
                           "longest interval must not be shorter than the "
                           "first (%V)", &value[3], &value[0], &value[2]);
        return NGX_CONF_ERROR;
    }

    *threshold = n;
    *open = t[0];
    *max = t[1];

    return NGX_CONF_OK;
}
