/*
 * Reading nginx's JSON access log of skip decisions (skipctl abreport).
 *
 * One JSON object per line, as written by
 *
 *   log_format skip_json escape=json '{"time":"$msec","user":"$http_x_user_id",'
 *       '"track":"$track_id","arm":"$skip_arm","model":"$skip_model",'
 *       '"decision":"$skip_decision","score":"$skip_score",'
 *       '"source":"$skip_source","status":"$status",'
 *       '"cache":"$upstream_cache_status","uri":"$uri"}';
 *
 * ($track_id: the named capture of the tracks location; $skip_arm: the
 * split_clients arm; see conf/nginx-skip.conf).  Every value may be a JSON string or a number:
 * with escape=json nginx writes what the format says, and quoting every
 * variable keeps a line valid JSON when a variable is empty.
 *
 *   time      required.  Seconds since the epoch with a fraction ($msec),
 *             or any timestamp sk_time_parse() accepts ($time_iso8601).
 *             Alias: msec.
 *   user      the listener (integer user id).  Alias: user_id.
 *   track     the track id.  Alias: track_id.  When absent or empty, the
 *             segment after "/tracks/" in "uri" (or "request_uri").
 *   arm       the A/B arm ($skip_arm from split_clients).  When empty, the
 *             model name in "model" up to '@' stands in.
 *   decision  "play" or "skip" (any case); empty: no prediction made.
 *   score     P(play), optional.
 *   source    $skip_source (redis, fallback, timeout, ...), optional.
 *   status    HTTP status, optional.   cache  cache status, optional
 *             (aliases: cache_status, upstream_cache_status).
 * Unknown keys are ignored.  A line that is not a JSON object or has no
 * usable time is skipped and counted; the first few are kept as
 * "file:line: reason" (field named).  A missing or malformed optional field
 * leaves the entry's default (empty string, -1, NAN).
 */
#ifndef SKIP_ACCESSLOG_H
#define SKIP_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SK_ALOG_STR     64
#define SK_ALOG_MSGS    8

enum { SK_DECIDE_NONE = -1, SK_DECIDE_SKIP = 0, SK_DECIDE_PLAY = 1 };

typedef struct {
    long     line;                     /* 1-based */
    int64_t  time_ms;                  /* UTC ms since the epoch */
    int64_t  user_id;                  /* -1: absent or not an integer */
    char     track[SK_ALOG_STR + 1];   /* "" when absent or invalid */
    char     arm[SK_ALOG_STR + 1];     /* "" when absent */
    char     model[SK_ALOG_STR + 1];
    int      decision;                 /* SK_DECIDE_* */
    double   score;                    /* NAN when absent */
    char     source[SK_ALOG_STR + 1];
    int      status;                   /* -1 when absent */
    char     cache[SK_ALOG_STR + 1];
} sk_alog_entry;

typedef struct {
    long     lines;                    /* blank lines included */
    long     entries;                  /* returned */
    long     skipped;                  /* unusable lines */
} sk_alog_stats;

typedef struct sk_alog sk_alog;

/* Open path ("-" = stdin).  strict: the first unusable line is fatal.
 * NULL with "PATH: reason" in err on failure. */
sk_alog *sk_alog_open(const char *path, int strict, char *err, size_t errlen);

/* 1 = an entry, 0 = end of file, -1 = I/O error or (strict) a bad line;
 * sk_alog_error() says what, naming file, line and field. */
int sk_alog_next(sk_alog *a, sk_alog_entry *e);

/* Parse one line (no newline needed) into e; 0, or -1 with a reason
 * ("field 'time': not a timestamp") in why.  Exposed for the tests. */
int sk_alog_parse_line(const char *line, size_t len, sk_alog_entry *e,
    char *why, size_t whylen);

const char *sk_alog_error(const sk_alog *a);
const sk_alog_stats *sk_alog_get_stats(const sk_alog *a);
int sk_alog_n_messages(const sk_alog *a);
const char *sk_alog_message(const sk_alog *a, int i);
void sk_alog_close(sk_alog *a);

#endif
