/* Session context of labelled plays (see session_ctx.h). */
#include <stdlib.h>
#include <string.h>

#include "session_ctx.h"

static uint16_t
sat16(unsigned v)
{
    return (uint16_t) (v < UINT16_MAX ? v : UINT16_MAX);
}

sk_sess_row *
sk_session_ctx_build(const sk_labelled *rows, size_t n, const float *expect)
{
    sk_sess_row *out = calloc(n ? n : 1, sizeof(*out));
    size_t      *order = NULL, cap = 0, i, j, k;

    if (out == NULL) {
        return NULL;
    }
    for (i = 0; i < n; i = j) {
        unsigned plays = 0, skips = 0;
        int      prev = -1, ok = 1;
        double   resid = 0, prev_e = 0;

        for (j = i + 1; j < n && rows[j].session_id == rows[i].session_id;
             j++)
        {
            /* the session's rows */
        }
        if (j - i > cap) {
            size_t *p = realloc(order, (j - i) * 2 * sizeof(*order));

            if (p == NULL) {
                free(order);
                free(out);
                return NULL;
            }
            order = p;
            cap = (j - i) * 2;
        }
        /* Rows by request order: position is 0 .. L-1, each once (it
         * saturates in sessions longer than 65535 plays: then unknown). */
        for (k = 0; k < j - i; k++) {
            order[k] = SIZE_MAX;
        }
        for (k = i; k < j && ok; k++) {
            size_t pos = rows[k].position;

            if (pos >= j - i || order[pos] != SIZE_MAX) {
                ok = 0;
            } else {
                order[pos] = k;
            }
        }
        for (k = 0; k < j - i; k++) {
            sk_sess_row *o;

            if (!ok) {
                out[i + k].prev = -2;
                continue;
            }
            o = &out[order[k]];
            o->plays = sat16(plays);
            o->skips = sat16(skips);
            o->prev = (int8_t) prev;
            o->resid = (float) resid;
            o->prev_expect = (float) prev_e;
            prev = rows[order[k]].label ? 1 : 0;
            prev_e = expect ? expect[order[k]] : 0.0;
            resid += (prev ? 0.0 : 1.0) - prev_e;
            plays += prev;
            skips += !prev;
        }
    }
    free(order);
    return out;
}

void
sk_session_of(const sk_sess_row *s, sk_session *out)
{
    if (s == NULL || s->prev == -2) {
        out->plays = out->skips = -1;
        out->prev = -1;
        out->resid = 0;
        out->prev_expect = 0;
        return;
    }
    out->plays = s->plays;
    out->skips = s->skips;
    out->prev = s->prev;
    out->resid = s->resid;
    out->prev_expect = s->prev_expect;
}
