/*
 * ngx_skip events handler: a POSTed batch read into events
 * (ngx_http_skip_events_parse, see ngx_skip_events_int.h).  Lines go
 * through the dataset's tolerant reader, Play/Skip events through the one
 * event rule the store script also applies, and what is wrong is collected
 * for the 400 answer: the first lines named with their field and reason,
 * all counted.  The same batch always gets the same answer.
 */

#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>

#include "../core/dataset.h"
#include "../core/event_rule.h"
#include "../core/keys.h"
#include "../core/timeparse.h"
#include "ngx_skip_events_int.h"
#include "ngx_skip_prom.h"


/* A bad line for the 400 answer. */
typedef struct {
    long                         line;
    const char                  *field;        /* NULL: not one field */
    char                         reason[160];
} ngx_http_skip_events_bad_t;


typedef struct {
    ngx_http_skip_events_bad_t   bad[NGX_HTTP_SKIP_EVENTS_MAX_ERRORS];
    ngx_uint_t                   nbad;         /* all, named or not */
    ngx_uint_t                   nfuture;      /* of them: dated too far
                                                  ahead */
    int                          nmsg;         /* reader messages taken */
} ngx_http_skip_events_errors_t;


static void
ngx_http_skip_events_bad(ngx_http_skip_events_errors_t *errs, long line,
    const char *field, const char *reason)
{
    ngx_http_skip_events_bad_t  *b;

    if (errs->nbad < NGX_HTTP_SKIP_EVENTS_MAX_ERRORS) {
        b = &errs->bad[errs->nbad];
        b->line = line;
        b->field = field;
        ngx_cpystrn((u_char *) b->reason, (u_char *) reason,
                    sizeof(b->reason));
    }

    errs->nbad++;
}


/*
 * The reader's new messages ("body:12: null key field user_id") into errs;
 * the field is the first field name the reason mentions.
 */
static void
ngx_http_skip_events_reader_msgs(sk_reader *rd,
    ngx_http_skip_events_errors_t *errs)
{
    long         line;
    char        *end, *at;
    ngx_uint_t   i;
    const char  *msg, *reason, *field, *first;

    static const char  *fields[] = {
        "user_id", "track_id", "event_type", "timestamp", "session_id"
    };

    while (errs->nmsg < sk_reader_n_messages(rd)) {
        msg = sk_reader_message(rd, errs->nmsg++);
        line = 0;
        reason = msg;

        if (ngx_strncmp(msg, "body:", 5) == 0) {
            line = strtol(msg + 5, &end, 10);

            if (*end == ':') {
                reason = end + 1;
                while (*reason == ' ') {
                    reason++;
                }
            }
        }

        field = NULL;
        first = NULL;

        for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
            at = ngx_strstr(reason, fields[i]);

            if (at && (first == NULL || at < first)) {
                first = at;
                field = fields[i];
            }
        }

        /* lines skipped after the last message kept are counted below */
        ngx_http_skip_events_bad(errs, line, field, reason);
    }
}


/*
 * Parse and validate the whole batch; nothing is sent to Redis before
 * every line passed.  NGX_OK, or the status to answer with (the body is in
 * *out).
 */
ngx_int_t
ngx_http_skip_events_parse(ngx_http_request_t *r,
    ngx_http_skip_events_ctx_t *ctx, u_char *body, size_t len,
    ngx_uint_t max, ngx_msec_t max_skew, ngx_str_t *out)
{
    int                             rc;
    char                            why[160];
    int64_t                         now_ms;
    ngx_time_t                     *tp;
    sk_event_verdict                verdict;
    u_char                         *p, *last;
    sk_row                          row;
    sk_reader                      *rd;
    ngx_uint_t                      i, nlines, nskipped;
    const char                     *reason, *field;
    sk_read_opts                    opts;
    ngx_http_skip_events_ev_t      *ev;
    ngx_http_skip_events_errors_t   errs;

    ngx_memzero(&opts, sizeof(sk_read_opts));
    opts.max_messages = NGX_HTTP_SKIP_EVENTS_MAX_ERRORS;
    errs.nbad = 0;
    errs.nfuture = 0;
    errs.nmsg = 0;

    tp = ngx_timeofday();
    now_ms = (int64_t) tp->sec * 1000 + tp->msec;

    rd = sk_reader_open_mem(body, len, "body", SK_FILE_SESSIONS, &opts);
    if (rd == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    /* at most one event per line, and a line has more than 2 bytes */
    ctx->events = ngx_palloc(r->pool, ngx_min(max, len / 2 + 1)
                                      * sizeof(ngx_http_skip_events_ev_t));
    if (ctx->events == NULL) {
        sk_reader_close(rd);
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    nlines = 0;

    for ( ;; ) {
        rc = sk_read_next(rd, &row);

        ngx_http_skip_events_reader_msgs(rd, &errs);

        if (rc == 0) {
            break;
        }

        if (rc < 0) {
            /* memory source, not strict: only out of memory gets here */
            sk_reader_close(rd);
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }

        /* rows so far (good or bad) plus lines the reader skipped */
        nlines = ctx->nevents + errs.nbad
                 + (sk_reader_stats(rd)->skipped_total - errs.nmsg);

        if (nlines >= max) {
            sk_reader_close(rd);

            ngx_http_skip_metrics_event(NGX_HTTP_SKIP_METRICS_REJECTED,
                                        max + 1);

            out->data = ngx_pnalloc(r->pool, 128);
            if (out->data == NULL) {
                return NGX_HTTP_INTERNAL_SERVER_ERROR;
            }

            out->len = ngx_sprintf(out->data, "{\"error\":\"more than %ui "
                                   "events in one batch, none applied\","
                                   "\"max\":%ui}\n", max, max)
                       - out->data;

            return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
        }

        /* what the reader accepts but the feature store cannot use */
        reason = NULL;
        field = NULL;

        ev = &ctx->events[ctx->nevents];
        ev->user_len = ngx_sprintf(ev->user, "%L", row.event.user_id)
                       - ev->user;

        if (row.event.type != SK_EV_PLAY && row.event.type != SK_EV_SKIP
            && row.event.type != SK_EV_LIKE)
        {
            field = "event_type";
            reason = "not a listener outcome (Play, Skip or Like)";

        } else {
            /*
             * The one rule (event_rule.h): exactly what the store script
             * accepts, plus the bound ahead of our clock.  A Like is not
             * stored: its time does not matter, its ids still must be ids.
             */
            verdict = sk_event_check((const char *) ev->user, ev->user_len,
                                     row.event.track_id,
                                     ngx_strlen(row.event.track_id),
                                     row.event.type == SK_EV_LIKE
                                         ? 0 : row.event.ts_ms,
                                     now_ms, (int64_t) max_skew, &field,
                                     why, sizeof(why));

            if (verdict != SK_EVENT_OK) {
                reason = why;
            }

            if (verdict == SK_EVENT_FUTURE) {
                errs.nfuture++;
            }
        }

        if (reason) {
            ngx_http_skip_events_bad(&errs, row.line, field, reason);
            continue;
        }

        ev->ts_ms = row.event.ts_ms;
        /* the hour the trainer counts the play under (labels.c) */
        ev->hour = sk_time_local_hour(row.event.ts_ms, row.event.tz_min);
        ev->user_id = row.event.user_id;
        ev->session_id = row.event.session_id;
        ev->line = row.line;
        ev->type = row.event.type;
        ngx_memcpy(ev->track, row.event.track_id, SK_ID_LEN + 1);

        if (ev->type == SK_EV_LIKE) {
            ctx->nlikes++;
        }

        ctx->nevents++;
    }

    /* skipped lines beyond the reader's kept messages: counted, unnamed */
    nskipped = sk_reader_stats(rd)->skipped_total - errs.nmsg;
    errs.nbad += nskipped;

    sk_reader_close(rd);

    if (errs.nbad == 0 && ctx->nevents > 0) {
        return NGX_OK;
    }

    /* the whole batch is refused: its lines dated too far ahead apart */
    ngx_http_skip_metrics_event(NGX_HTTP_SKIP_METRICS_FUTURE, errs.nfuture);
    nlines = ctx->nevents + errs.nbad - errs.nfuture;
    ngx_http_skip_metrics_event(NGX_HTTP_SKIP_METRICS_REJECTED,
                                (nlines || errs.nfuture) ? nlines : 1);

    len = 128 + NGX_HTTP_SKIP_EVENTS_MAX_ERRORS * 512;

    out->data = ngx_pnalloc(r->pool, len);
    if (out->data == NULL) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }

    p = out->data;
    last = p + len;

    if (errs.nbad == 0) {
        p = ngx_slprintf(p, last, "{\"error\":\"no events in the body\","
                         "\"rejected\":0,\"errors\":[]}\n");
        out->len = p - out->data;
        return NGX_HTTP_BAD_REQUEST;
    }

    p = ngx_slprintf(p, last, "{\"error\":\"bad events, none applied\","
                     "\"rejected\":%ui,\"errors\":[", errs.nbad);

    for (i = 0; i < ngx_min(errs.nbad, NGX_HTTP_SKIP_EVENTS_MAX_ERRORS); i++)
    {
        p = ngx_slprintf(p, last, "%s{\"line\":%l,\"field\":",
                         i ? "," : "", errs.bad[i].line);

        if (errs.bad[i].field) {
            p = ngx_http_skip_events_json_str(p, last, errs.bad[i].field);

        } else {
            p = ngx_slprintf(p, last, "null");
        }

        p = ngx_slprintf(p, last, ",\"reason\":");
        p = ngx_http_skip_events_json_str(p, last, errs.bad[i].reason);
        p = ngx_slprintf(p, last, "}");
    }

    p = ngx_slprintf(p, last, "]}\n");
    out->len = p - out->data;

    return NGX_HTTP_BAD_REQUEST;
}
