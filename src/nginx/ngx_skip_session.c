/*
 * ngx_skip: a track request's session, as the request names it
 * (skip_session) and as the player counts it (skip_session_counts); see
 * docs/taste-features.md, "Session context".
 *
 * Both come from the client, so nothing here is an error of the server:
 * an id or a count that does not parse is logged at info (as nginx logs a
 * client's bad header) and makes that input unknown; the request is
 * scored all the same, its session features at their training means.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../core/keys.h"
#include "../core/records.h"
#include "../core/session_live.h"
#include "ngx_skip_module.h"


void
ngx_http_skip_session_id(ngx_http_request_t *r,
    ngx_http_skip_loc_conf_t *slcf, ngx_str_t *id)
{
    char  safe[96];

    if (slcf->session == NULL
        || ngx_http_complex_value(r, slcf->session, id) != NGX_OK
        || id->len == 0)
    {
        /* no session named: a player that does not send one */
        ngx_str_null(id);
        return;
    }

    /* the id becomes part of a key: the same rule as user and track ids */
    if (!sk_id_valid((const char *) id->data, id->len)) {
        (void) sk_log_safe(safe, sizeof(safe), (const char *) id->data,
                           id->len);

        ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                      "skip_session: invalid session id \"%s\" of %uz "
                      "bytes (1..%d of [A-Za-z0-9_.-]): the session is "
                      "unknown", safe, id->len, SK_ID_MAX);

        ngx_str_null(id);
    }
}


ngx_int_t
ngx_http_skip_session_counts(ngx_http_request_t *r,
    ngx_http_skip_loc_conf_t *slcf, ngx_int_t *counts)
{
    char                             safe[3][40];
    ngx_str_t                        v[3];
    ngx_uint_t                       i, sent;
    ngx_http_skip_session_counts_t  *sc;

    sc = slcf->session_counts;

    if (sc == NULL) {
        return NGX_DECLINED;
    }

    if (ngx_http_complex_value(r, &sc->plays, &v[0]) != NGX_OK
        || ngx_http_complex_value(r, &sc->skips, &v[1]) != NGX_OK
        || ngx_http_complex_value(r, &sc->prev, &v[2]) != NGX_OK)
    {
        return NGX_DECLINED;
    }

    sent = 0;

    for (i = 0; i < 3; i++) {
        sent += (v[i].len > 0);
    }

    if (sent == 0) {
        /* a player that does not count: the hash alone says */
        return NGX_DECLINED;
    }

    counts[0] = sk_session_count((const char *) v[0].data, v[0].len);
    counts[1] = sk_session_count((const char *) v[1].data, v[1].len);
    counts[2] = sk_session_prev((const char *) v[2].data, v[2].len);

    if (sk_session_counts_ok((int) counts[0], (int) counts[1],
                             (int) counts[2]))
    {
        return NGX_OK;
    }

    /* all three or none: a part, or a contradiction, is as unknown as junk */
    for (i = 0; i < 3; i++) {
        (void) sk_log_safe(safe[i], sizeof(safe[i]),
                           (const char *) v[i].data, v[i].len);
    }

    ngx_log_error(NGX_LOG_INFO, r->connection->log, 0,
                  "skip_session_counts: \"%s\" \"%s\" \"%s\" are not "
                  "plays, skips (0..%d) and play|skip (none for the first "
                  "track): ignored",
                  safe[0], safe[1], safe[2], SK_SESS_COUNT_MAX);

    return NGX_DECLINED;
}
