/*
 * The live session context (core/session_live.h): the hash's fields as
 * the events script writes them decode to the trainer's sk_session, what
 * does not parse is refused naming the field, the player's counts and
 * previous outcome parse strictly, the merge of the player's counts over
 * a hash that a Skip in flight left stale, and sk_session_expect equal
 * to the trainer's expectation (the two logit features added, less the
 * global one).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/featurize.h"
#include "core/keys.h"
#include "core/records.h"
#include "core/session_live.h"
#include "core/store_scripts.h"
#include "tap.h"

static int
decode5(sk_session *s, const char *p, const char *sk, const char *l,
    const char *r, const char *e, char *err, size_t errlen)
{
    const char *vals[SK_SESS_NFETCH] = { p, sk, l, r, e };
    size_t      lens[SK_SESS_NFETCH];
    int         i;

    for (i = 0; i < SK_SESS_NFETCH; i++) {
        lens[i] = vals[i] ? strlen(vals[i]) : 0;
    }
    err[0] = '\0';
    return sk_session_decode(s, vals, lens, err, errlen);
}

static void
test_decode(void)
{
    sk_session s;
    char       err[256];

    is_str(sk_session_fields[0], "p", "fields p s l r e, in HMGET order");
    is_str(sk_session_fields[4], "e", "... e last");

    is_int(decode5(&s, NULL, NULL, NULL, NULL, NULL, err, sizeof(err)),
           SK_REC_OK, "no field: a session without a labelled track");
    ok(s.plays == 0 && s.skips == 0 && s.prev == -1 && s.resid == 0
       && s.prev_expect == 0, "... the trainer's first play (0, 0, none)");

    is_int(decode5(&s, "3", "2", "0", "0.59999999999999987",
                   "0.31415926535897931", err, sizeof(err)),
           SK_REC_OK, "a full hash decodes");
    ok(s.plays == 3 && s.skips == 2 && s.prev == 0
       && s.resid == 0.59999999999999987
       && s.prev_expect == 0.31415926535897931,
       "... to the same doubles (%%.17g round trip)");

    is_int(decode5(&s, "1", "0", "1", "unknown", "unknown", err,
                   sizeof(err)), SK_REC_OK, "r and e may be unknown");
    ok(s.plays == 1 && isnan(s.resid) && isnan(s.prev_expect),
       "... then NaN (the features read 0)");

    is_int(decode5(&s, "1", "x", "1", "0", "0.5", err, sizeof(err)),
           SK_REC_MALFORMED, "a count that is no count");
    ok(strstr(err, "field s \"x\"") != NULL, "... names the field: %s", err);
    ok(s.plays == -1 && s.skips == -1, "... and the session is unknown");

    is_int(decode5(&s, "1", "0", "2", "0", "0.5", err, sizeof(err)),
           SK_REC_MALFORMED, "l is 0 or 1");
    is_int(decode5(&s, "1", "0", "1", "nan", "0.5", err, sizeof(err)),
           SK_REC_MALFORMED, "r: no words (nan) but \"unknown\"");
    is_int(decode5(&s, "1", "0", "1", " 1", "0.5", err, sizeof(err)),
           SK_REC_MALFORMED, "r: no spaces");
    is_int(decode5(&s, "1", "0", "1", "0", "1.5", err, sizeof(err)),
           SK_REC_MALFORMED, "e: a probability");
    is_int(decode5(&s, "1", "0", "1", "0", "0x1p-1", err, sizeof(err)),
           SK_REC_MALFORMED, "e: no hex");
    is_int(decode5(&s, "1", "0", NULL, "0", "0.5", err, sizeof(err)),
           SK_REC_MALFORMED, "a missing field beside others");
    ok(strstr(err, "field l is missing") != NULL, "... named: %s", err);
    is_int(decode5(&s, "0", "0", "1", "0", "0.5", err, sizeof(err)),
           SK_REC_MALFORMED, "a last track but no count");
    is_int(decode5(&s, "1234567890", "0", "1", "0", "0.5", err, sizeof(err)),
           SK_REC_MALFORMED, "counts of at most 9 digits");
    is_int(decode5(&s, "1", "0", "1", "0", "0\x01", err, sizeof(err)),
           SK_REC_MALFORMED, "a control byte");
    ok(strstr(err, "\"0?\"") != NULL, "... shown as '?': %s", err);
}

static void
test_player(void)
{
    double v;

    is_int(sk_session_count("0", 1), 0, "count 0");
    is_int(sk_session_count("999999999", 9), 999999999, "count 9 digits");
    is_int(sk_session_count("1000000000", 10), -1, "10 digits: no");
    is_int(sk_session_count("-1", 2), -1, "no sign");
    is_int(sk_session_count("+1", 2), -1, "no plus");
    is_int(sk_session_count("1 ", 2), -1, "no space");
    is_int(sk_session_count("", 0), -1, "empty: no");
    is_int(sk_session_prev("play", 4), 1, "prev play");
    is_int(sk_session_prev("skip", 4), 0, "prev skip");
    is_int(sk_session_prev("none", 4), -1, "prev none");
    is_int(sk_session_prev("1", 1), -2, "prev 1: junk");
    is_int(sk_session_prev("PLAY", 4), -2, "prev is case-sensitive");
    ok(sk_session_counts_ok(0, 0, -1) && sk_session_counts_ok(2, 1, 0)
       && sk_session_counts_ok(1, 0, 1), "counts and outcome that fit");
    ok(!sk_session_counts_ok(0, 0, 1) && !sk_session_counts_ok(0, 0, 0),
       "a previous track but nothing counted: no");
    ok(!sk_session_counts_ok(3, 0, -1), "tracks counted but none before: no");
    ok(!sk_session_counts_ok(-1, 0, -1) && !sk_session_counts_ok(0, 0, -2),
       "unparsed parts: no");
    ok(sk_session_real("-1.25e-3", 8, &v) == 0 && v == -1.25e-3,
       "a real with sign and exponent");
    ok(sk_session_real("1e999", 5, &v) != 0, "not an infinite one");
    ok(sk_session_real("inf", 3, &v) != 0, "not a word");
    ok(sk_session_real("123456789012345678901234567890123", 33, &v) != 0,
       "at most 32 characters");
}

static void
test_merge(void)
{
    sk_session h = { .plays = 3, .skips = 2, .prev = 1, .resid = 0.75,
                     .prev_expect = 0.5 }, o;

    sk_session_merge(&o, &h, 3, 2, 1);
    ok(o.plays == 3 && o.skips == 2 && o.prev == 1 && o.resid == 0.75
       && o.prev_expect == 0.5, "player and hash agree: the hash's resid");

    /* the last track's Skip reached the module before Redis */
    sk_session_merge(&o, &h, 2, 3, 0);
    ok(o.plays == 2 && o.skips == 3 && o.prev == 0 && o.resid == 1.75
       && o.prev_expect == 0.5,
       "a Skip in flight: the player's counts, resid + 1, same e");

    sk_session_merge(&o, &h, 4, 2, 1);
    ok(o.plays == 4 && isnan(o.resid) && isnan(o.prev_expect),
       "the player counts a track the hash has not: resid unknown");

    sk_session_merge(&o, NULL, 0, 0, -1);
    ok(o.plays == 0 && o.prev == -1 && o.resid == 0 && o.prev_expect == 0,
       "a first track without a hash: nothing unknown");

    sk_session_merge(&o, NULL, 1, 1, 0);
    ok(o.plays == 1 && o.skips == 1 && isnan(o.resid),
       "counts without a hash: resid unknown");
}

static void
test_expect_and_features(void)
{
    static const char *const two[] = { "user_skip_logit",
                                       "track_skip_logit" };
    static const char *const sess_names[] = {
        "session_prev_resid", "session_resid_s", "session_skip_delta"
    };
    sk_feature_plan plan;
    sk_user_rec     u;
    sk_track_rec    t;
    sk_context      c;
    sk_session      s;
    char            err[128];
    double          raw[3], g, want;

    memset(&u, 0, sizeof(u));
    memset(&t, 0, sizeof(t));
    u.plays = 30; u.skips = 12;
    t.plays = 7; t.skips = 9;
    c.hour = 10; c.position = 3; c.admit = NULL;

    ok(sk_feature_plan_init(&plan, two, 2, err, sizeof(err)) == 0,
       "the trainer's two logits");
    plan.priors.global_skip_rate = g = 0.37;
    plan.priors.user_weight = 20;
    plan.priors.track_weight = 10;
    sk_features_raw(&plan, &u, &t, &c, raw);
    want = 1.0 / (1.0 + exp(-(raw[0] + raw[1] - log(g / (1 - g)))));
    ok(sk_session_expect(&plan.priors, &u, &t) == want,
       "sk_session_expect is the trainer's expectation, bit for bit");

    ok(sk_feature_plan_init(&plan, sess_names, 3, err, sizeof(err)) == 0,
       "the session set");
    /* an abstaining feature takes its training mean: 7 here */
    plan.mean[0] = plan.mean[1] = plan.mean[2] = 7;
    sk_features_raw_ext(&plan, &u, &t, &c, NULL, NULL, raw);
    ok(raw[0] == 7 && raw[1] == 7 && raw[2] == 7,
       "no session: every session feature abstains (its mean)");
    sk_session_unknown(&s);
    sk_features_raw_ext(&plan, &u, &t, &c, NULL, &s, raw);
    ok(raw[0] == 7 && raw[1] == 7 && raw[2] == 7,
       "an unknown session abstains too");
    s.plays = 2; s.skips = 1; s.prev = 0; s.resid = NAN;
    s.prev_expect = NAN;
    sk_features_raw_ext(&plan, &u, &t, &c, NULL, &s, raw);
    ok(raw[0] == 0 && raw[1] == 0 && isfinite(raw[2]),
       "unknown resid and expectation read 0, the counts still count");
}

static void
test_key(void)
{
    char buf[64];

    is_int((long) sk_key_session(buf, sizeof(buf), "skip", "880000001x", 9),
           19, "session key: its length, idlen bytes of the id");
    is_str(buf, "skip:sess:880000001", "session key layout (no snapshot)");
    is_int((long) sk_key_session(buf, 19, "skip", "880000001", 9), 0,
           "one byte short (no room for the NUL): refused");
}

static void
test_script(void)
{
    ok(strstr(sk_script_event, "':sess:'") != NULL
       && strstr(sk_script_event, "'" SK_SESS_UNKNOWN "'") != NULL,
       "the events script keeps <prefix>:sess:<session>, with the same "
       "\"unknown\"");
}

int
main(void)
{
    test_decode();
    test_player();
    test_merge();
    test_expect_and_features();
    test_key();
    test_script();
    return done_testing();
}
