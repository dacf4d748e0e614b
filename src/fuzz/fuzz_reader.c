/*
 * libFuzzer target for the dataset line parser (dataset_reader.c and the
 * sessions and truth fast paths in dataset_fast.c), run briefly by t/30-fuzz-reader.t.
 *
 * Input: byte 0 picks the file kind (low 3 bits) and the options (bit 3:
 * strict, bit 4: a 64-byte line limit); the rest is the file's content.
 * Every input is read twice, with the sessions fast path and with cJSON for
 * every line; both must return the same rows and the same skip counts, so
 * the fast path can only ever take lines on which it agrees with cJSON.
 * Timestamps and the fast path are also fed the raw bytes directly.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc src/fuzz_reader.c \
 *       src/dataset_reader.c src/dataset_fast.c src/timeparse.c src/genres.c \
 *       -lcjson -lm -o fuzz_reader
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../core/dataset_int.h"
#include "../core/timeparse.h"

static int
same_event(const sk_event_row *a, const sk_event_row *b)
{
    return a->ts_ms == b->ts_ms && a->tz_min == b->tz_min
           && a->has_tz == b->has_tz && a->user_id == b->user_id
           && strcmp(a->track_id, b->track_id) == 0 && a->type == b->type
           && a->session_id == b->session_id;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sk_read_opts  fast = { 0 }, slow;
    sk_reader    *a, *b;
    sk_row        ra, rb;
    sk_file_kind  kind;
    int64_t       ms;
    sk_event_row  ev;
    int           na, nb;

    if (size < 1) {
        return 0;
    }
    kind = (sk_file_kind) ((data[0] & 7) % SK_N_FILES);
    fast.strict = (data[0] >> 3) & 1;
    fast.max_line = (data[0] >> 4) & 1 ? 64 : 0;
    fast.max_messages = 2;
    slow = fast;
    slow.no_fast_path = 1;
    data++;
    size--;

    (void) sk_time_parse((const char *) data, size, &ms, NULL, NULL);
    (void) sk_fast_event((const char *) data, size, &ev);
    {
        sk_truth_row tr;

        (void) sk_fast_truth((const char *) data, size, &tr);
    }

    a = sk_reader_open_mem(data, size, "fuzz", kind, &fast);
    b = sk_reader_open_mem(data, size, "fuzz", kind, &slow);
    if (a == NULL || b == NULL) {
        abort();
    }
    do {
        na = sk_read_next(a, &ra);
        nb = sk_read_next(b, &rb);
        if (na != nb) {
            abort();
        }
        if (na == 1) {
            if (ra.line != rb.line) {
                abort();
            }
            if (kind == SK_FILE_SESSIONS && !same_event(&ra.event, &rb.event)) {
                abort();
            }
            if (kind == SK_FILE_TRUTH
                && (ra.truth.session_id != rb.truth.session_id
                    || strcmp(ra.truth.track_id, rb.truth.track_id) != 0
                    || ra.truth.ts_ms != rb.truth.ts_ms
                    || ra.truth.tz_min != rb.truth.tz_min
                    || memcmp(&ra.truth.p_skip, &rb.truth.p_skip,
                              sizeof(double)) != 0))
            {
                abort();
            }
            /* Touch the strings the rows point to (ASan checks them). */
            if (kind == SK_FILE_ARTISTS) {
                size_t n = strlen(ra.artist.name);

                for (int i = 0; i < ra.artist.n_genres && i < SK_MAX_GENRES;
                     i++)
                {
                    n += strlen(ra.artist.genres[i]);
                }
                (void) n;
            } else if (kind == SK_FILE_TRACKS) {
                (void) (strlen(ra.track.name) + strlen(ra.track.release_date));
            } else if (kind == SK_FILE_USERS) {
                (void) (strlen(ra.user.name) + strlen(ra.user.city)
                        + strlen(ra.user.street));
            }
        }
    } while (na == 1);
    if (memcmp(sk_reader_stats(a)->skipped, sk_reader_stats(b)->skipped,
               sizeof(sk_reader_stats(a)->skipped)) != 0
        || sk_reader_stats(a)->rows != sk_reader_stats(b)->rows
        || sk_reader_stats(a)->defaulted != sk_reader_stats(b)->defaulted)
    {
        abort();
    }
    sk_reader_close(a);
    sk_reader_close(b);
    return 0;
}
