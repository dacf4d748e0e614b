/*
 * The streaming JSONL reader (see dataset.h): line splitting with a bounded
 * buffer, skip accounting, and the cJSON row parsers for every file kind.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "dataset_int.h"
#include "genres.h"
#include "timeparse.h"

#define READ_CHUNK  (256 * 1024)
#define MSG_LEN     256
#define MAX_FIELDS  SK_MAX_FIELDS   /* tracks have the most */

struct sk_reader {
    sk_file_kind    kind;
    char           *path;
    int             fd;             /* -1: memory source */
    char           *mem;            /* memory source (own copy) */
    size_t          mem_len, mem_pos;
    char           *buf;            /* cap + 1 bytes (room for a NUL) */
    size_t          cap, start, end;
    int             eof, discarding;
    long            line;
    sk_read_opts    opts;
    sk_read_stats   st;
    cJSON          *tree;           /* the row's strings live here */
    char          (*msgs)[MSG_LEN];
    int             n_msgs;
    char            error[512];

    /* Why the current line was skipped. */
    sk_skip_reason  why;
    char            why_text[160];
    int             defaulted;
    const cJSON   **fields;         /* the row being parsed, by position */
    int             n_dmsgs;        /* bad-value messages printed */
};

static const char *const file_names[SK_N_FILES] = {
    "artists.jsonl", "tracks.jsonl", "users.jsonl", "sessions.jsonl",
    "track_storage.jsonl", "truth.jsonl"
};

static const char *const event_names[SK_N_EVENTS] = {
    "Play", "Skip", "Like", "Advertisement", "BuyPremium"
};

static const char *const reason_names[SK_N_SKIP] = {
    "invalid JSON", "bad row shape", "null key field", "wrong type",
    "bad value", "line too long"
};

static const char *const storage_names[SK_N_STORE] = {
    "Slow", "Medium", "Fast"
};

const char *
sk_file_name(sk_file_kind kind)
{
    return (unsigned) kind < SK_N_FILES ? file_names[kind] : "?";
}

const char *
sk_event_name(sk_event_type t)
{
    return (unsigned) t < SK_N_EVENTS ? event_names[t] : "?";
}

const char *
sk_skip_reason_name(sk_skip_reason why)
{
    return (unsigned) why < SK_N_SKIP ? reason_names[why] : "?";
}

const char *
sk_ds_storage_name(sk_storage_class c)
{
    return (unsigned) c < SK_N_STORE ? storage_names[c] : "?";
}

/* Lower-case letters only: "Buy_Premium", "buy premium" -> "buypremium". */
static size_t
fold(const char *s, size_t len, char *out, size_t outsz)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];

        if (c == '_' || c == ' ' || c == '-') {
            continue;
        }
        if (c >= 'A' && c <= 'Z') {
            c = (unsigned char) (c - 'A' + 'a');
        }
        if (n + 1 >= outsz) {
            return 0;
        }
        out[n++] = (char) c;
    }
    out[n] = '\0';
    return n;
}

int
sk_event_parse(const char *s, size_t len)
{
    static const struct { const char *name; int type; } names[] = {
        { "play", SK_EV_PLAY }, { "skip", SK_EV_SKIP }, { "like", SK_EV_LIKE },
        { "advertisement", SK_EV_ADVERTISEMENT },
        { "advertisment", SK_EV_ADVERTISEMENT },     /* seen in exports */
        { "buypremium", SK_EV_BUYPREMIUM },
    };
    char    f[24];
    size_t  n;

    /* The common spellings first, without folding. */
    if (len == 4 && memcmp(s, "Play", 4) == 0) {
        return SK_EV_PLAY;
    }
    if (len == 4 && memcmp(s, "Skip", 4) == 0) {
        return SK_EV_SKIP;
    }
    if ((n = fold(s, len, f, sizeof(f))) == 0) {
        return -1;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(f, names[i].name) == 0) {
            return names[i].type;
        }
    }
    return -1;
}

int
sk_ds_storage_parse(const char *s, size_t len)
{
    char f[16];

    if (fold(s, len, f, sizeof(f)) == 0) {
        return -1;
    }
    if (strcmp(f, "slow") == 0) {
        return SK_STORE_SLOW;
    }
    if (strcmp(f, "medium") == 0) {
        return SK_STORE_MEDIUM;
    }
    if (strcmp(f, "fast") == 0) {
        return SK_STORE_FAST;
    }
    return -1;
}

int
sk_ds_id_valid(const char *s, size_t len)
{
    if (len != SK_ID_LEN) {
        return 0;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];

        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z')
              || (c >= 'a' && c <= 'z')))
        {
            return 0;
        }
    }
    return 1;
}


/* ---- opening and closing ------------------------------------------- */

/* mem_len: the size of a memory source (its buffer needs no more), or 0. */
static sk_reader *
reader_new(const char *name, sk_file_kind kind, const sk_read_opts *opts,
    size_t mem_len)
{
    sk_reader *r = calloc(1, sizeof(*r));

    if (r == NULL) {
        return NULL;
    }
    r->kind = kind;
    r->fd = -1;
    if (opts) {
        r->opts = *opts;
    }
    if (r->opts.max_line == 0) {
        r->opts.max_line = SK_MAX_LINE;
    }
    if (r->opts.max_messages <= 0) {
        r->opts.max_messages = SK_MAX_MSGS;
    }
    r->cap = r->opts.max_line + READ_CHUNK;
    if (mem_len && mem_len < r->cap) {
        r->cap = mem_len;           /* holds it all: no line can outgrow it */
    }
    r->path = strdup(name);
    r->buf = malloc(r->cap + 1);
    r->msgs = calloc((size_t) r->opts.max_messages, MSG_LEN);
    if (r->path == NULL || r->buf == NULL || r->msgs == NULL) {
        sk_reader_close(r);
        return NULL;
    }
    return r;
}

sk_reader *
sk_reader_open(const char *path, sk_file_kind kind, const sk_read_opts *opts,
    char *err, size_t errlen)
{
    sk_reader *r;
    int        fd;

    if ((unsigned) kind >= SK_N_FILES) {
        snprintf(err, errlen, "%s: unknown file kind %d", path, (int) kind);
        return NULL;
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    r = reader_new(path, kind, opts, 0);
    if (r == NULL) {
        close(fd);
        snprintf(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    r->fd = fd;
    return r;
}

sk_reader *
sk_reader_open_dir(const char *dir, sk_file_kind kind,
    const sk_read_opts *opts, char *err, size_t errlen)
{
    char path[4096];

    snprintf(path, sizeof(path), "%s/%s", dir, sk_file_name(kind));
    return sk_reader_open(path, kind, opts, err, errlen);
}

sk_reader *
sk_reader_open_mem(const void *buf, size_t len, const char *name,
    sk_file_kind kind, const sk_read_opts *opts)
{
    sk_reader *r;

    if ((unsigned) kind >= SK_N_FILES) {
        return NULL;
    }
    r = reader_new(name, kind, opts, len);
    if (r == NULL) {
        return NULL;
    }
    r->mem = malloc(len ? len : 1);
    if (r->mem == NULL) {
        sk_reader_close(r);
        return NULL;
    }
    if (len) {
        memcpy(r->mem, buf, len);
    }
    r->mem_len = len;
    return r;
}

void
sk_reader_close(sk_reader *r)
{
    if (r == NULL) {
        return;
    }
    if (r->fd >= 0) {
        close(r->fd);
    }
    cJSON_Delete(r->tree);
    free(r->mem);
    free(r->buf);
    free(r->msgs);
    free(r->path);
    free(r);
}

const char *
sk_reader_error(const sk_reader *r)
{
    return r->error;
}

const sk_read_stats *
sk_reader_stats(const sk_reader *r)
{
    return &r->st;
}

const char *
sk_reader_path(const sk_reader *r)
{
    return r->path;
}

int
sk_reader_n_messages(const sk_reader *r)
{
    return r->n_msgs;
}

const char *
sk_reader_message(const sk_reader *r, int i)
{
    return i >= 0 && i < r->n_msgs ? r->msgs[i] : NULL;
}

void
sk_reader_summary(const sk_reader *r, FILE *out)
{
    int first = 1;

    fprintf(out, "%s: %ld rows, %ld skipped", r->path, r->st.rows,
            r->st.skipped_total);
    for (int i = 0; i < SK_N_SKIP; i++) {
        if (r->st.skipped[i]) {
            fprintf(out, "%s%s: %ld", first ? " (" : ", ", reason_names[i],
                    r->st.skipped[i]);
            first = 0;
        }
    }
    fprintf(out, "%s, %ld defaulted\n", first ? "" : ")", r->st.defaulted);
}


/* ---- lines --------------------------------------------------------- */

/* Read more bytes after r->end: >0 read, 0 end of input, -1 error. */
static ssize_t
fill(sk_reader *r)
{
    size_t  room = r->cap - r->end;
    ssize_t n;

    if (r->fd < 0) {
        n = (ssize_t) (r->mem_len - r->mem_pos < room ? r->mem_len - r->mem_pos
                                                      : room);
        memcpy(r->buf + r->end, r->mem + r->mem_pos, (size_t) n);
        r->mem_pos += (size_t) n;
    } else {
        do {
            n = read(r->fd, r->buf + r->end, room);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            snprintf(r->error, sizeof(r->error), "%s: %s", r->path,
                     strerror(errno));
            return -1;
        }
    }
    r->end += (size_t) n;
    r->st.bytes += (uint64_t) n;
    return n;
}

/*
 * The next line (without its newline, NUL-terminated in place):
 * 1 a line, 2 an overlong line (consumed, nothing returned), 0 end, -1 error.
 */
static int
next_line(sk_reader *r, char **line, size_t *len)
{
    for ( ;; ) {
        char   *s = r->buf + r->start;
        char   *nl = memchr(s, '\n', r->end - r->start);
        ssize_t n;

        if (nl) {
            *line = s;
            *len = (size_t) (nl - s);
            *nl = '\0';
            r->start = (size_t) (nl + 1 - r->buf);
            r->line++;
            if (r->discarding) {
                r->discarding = 0;
                return 2;
            }
            return *len > r->opts.max_line ? 2 : 1;
        }
        if (r->end - r->start > r->opts.max_line) {
            /* Drop what we have of it and keep dropping up to the newline. */
            r->discarding = 1;
            r->start = r->end = 0;
        } else if (r->start > 0) {
            memmove(r->buf, s, r->end - r->start);
            r->end -= r->start;
            r->start = 0;
        }
        if (r->eof) {
            if (r->end > r->start || r->discarding) {
                /* A last line without a newline. */
                *line = r->buf + r->start;
                *len = r->end - r->start;
                (*line)[*len] = '\0';
                r->start = r->end;
                r->line++;
                if (r->discarding) {
                    r->discarding = 0;
                    return 2;
                }
                return 1;
            }
            return 0;
        }
        if ((n = fill(r)) < 0) {
            return -1;
        }
        if (n == 0) {
            r->eof = 1;
        }
    }
}


/* ---- row parsing with cJSON ---------------------------------------- */

static int
skip_row(sk_reader *r, sk_skip_reason why, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record why this line is skipped; returns -1 for the parsers to pass on. */
static int
skip_row(sk_reader *r, sk_skip_reason why, const char *fmt, ...)
{
    va_list ap;

    r->why = why;
    va_start(ap, fmt);
    vsnprintf(r->why_text, sizeof(r->why_text), fmt, ap);
    va_end(ap);
    return -1;
}

typedef struct {
    const char *name;
    const char *alt;               /* another export's name, or NULL */
} field_name;

static const field_name artist_fields[] = {
    { "id", "artist_id" }, { "name", NULL }, { "genres", NULL }
};

static const field_name track_fields[] = {
    { "id", "track_id" }, { "artist_id", "id_artist" }, { "name", NULL },
    { "popularity", NULL }, { "duration_ms", NULL }, { "explicit", NULL },
    { "release_date", NULL }, { "danceability", NULL }, { "energy", NULL },
    { "key", NULL }, { "mode", NULL }, { "loudness", NULL },
    { "speechiness", NULL }, { "acousticness", NULL },
    { "instrumentalness", NULL }, { "liveness", NULL }, { "valence", NULL },
    { "tempo", NULL }, { "time_signature", NULL }
};

static const field_name user_fields[] = {
    { "user_id", "id" }, { "name", NULL }, { "city", NULL },
    { "street", NULL }, { "favourite_genres", "favorite_genres" },
    { "premium_user", "premium" }
};

static const field_name event_fields[] = {
    { "timestamp", NULL }, { "user_id", NULL }, { "track_id", NULL },
    { "event_type", NULL }, { "session_id", NULL }
};

static const field_name storage_fields[] = {
    { "track_id", "id" }, { "storage_class", NULL }, { "daily_cost", NULL }
};

static const field_name truth_fields[] = {
    { "session_id", NULL }, { "track_id", NULL }, { "timestamp", NULL },
    { "p_skip", NULL }
};

static const struct {
    const field_name *f;
    int               n;
    int               min_array;   /* fewest items a v1 array row may have */
} kinds[SK_N_FILES] = {
    { artist_fields, 3, 3 },
    { track_fields, 19, 17 },      /* 17: no mode/time_signature; 18: no mode */
    { user_fields, 6, 6 },
    { event_fields, 5, 5 },
    { storage_fields, 3, 3 },
    { truth_fields, 4, 4 },
};

enum { T_ID = 0, T_ARTIST, T_NAME, T_POP, T_DUR, T_EXPL, T_REL, T_DANCE,
       T_ENERGY, T_KEY, T_MODE, T_LOUD, T_SPEECH, T_ACOUSTIC, T_INSTR,
       T_LIVE, T_VALENCE, T_TEMPO, T_TSIG };

/* Gather the fields of a row (object or v1 array) by their v2 position. */
static int
gather(sk_reader *r, const cJSON *root, const cJSON **f)
{
    const field_name *names = kinds[r->kind].f;
    int               n = kinds[r->kind].n;
    const cJSON      *it;

    memset(f, 0, sizeof(*f) * MAX_FIELDS);
    if (cJSON_IsArray(root)) {
        int i = 0, size = cJSON_GetArraySize(root);

        if (size < kinds[r->kind].min_array) {
            return skip_row(r, SK_SKIP_BAD_SHAPE,
                            "array row has %d items, want %d", size, n);
        }
        for (it = root->child; it && i < n; it = it->next, i++) {
            int pos = i;

            if (r->kind == SK_FILE_TRACKS && size < 19 && i >= T_MODE) {
                /* Shorter track arrays lack mode (and time_signature). */
                pos = i + 1;
                if (size == 17 && pos == T_TSIG) {
                    break;
                }
            }
            f[pos] = it;
        }
        return 0;
    }
    if (!cJSON_IsObject(root)) {
        return skip_row(r, SK_SKIP_BAD_SHAPE, "row is not an object or array");
    }
    for (it = root->child; it; it = it->next) {
        if (it->string == NULL) {
            continue;
        }
        for (int i = 0; i < n; i++) {
            /* The first occurrence of a key wins, as in cJSON lookups. */
            if (f[i] == NULL
                && (strcmp(it->string, names[i].name) == 0
                    || (names[i].alt && strcmp(it->string, names[i].alt) == 0)))
            {
                f[i] = it;
                break;
            }
        }
    }
    return 0;
}

static const char *
fname(sk_reader *r, int i)
{
    return kinds[r->kind].f[i].name;
}

const char *
sk_field_name(sk_file_kind kind, int i)
{
    return (unsigned) kind < SK_N_FILES && i >= 0 && i < kinds[kind].n
           ? kinds[kind].f[i].name : NULL;
}

/*
 * A non-key field with a bad value: the row stays, the value becomes
 * "missing" (which the records then count as 0 or the mean).  Counted per
 * field, and the first few reported as "file:line: field "F": ...".
 */
static void
bad_value(sk_reader *r, const cJSON *f)
{
    int i;

    r->defaulted = 1;
    for (i = 0; r->fields && i < kinds[r->kind].n; i++) {
        if (r->fields[i] == f) {
            break;
        }
    }
    if (r->fields == NULL || i == kinds[r->kind].n) {
        return;
    }
    r->st.bad_fields[i]++;
    if (r->opts.log && r->n_dmsgs < r->opts.max_messages) {
        r->n_dmsgs++;
        fprintf(r->opts.log, "%s:%ld: field \"%s\": bad value, taken as "
                "missing\n", r->path, r->line, fname(r, i));
    }
}

/* A key string: present, not null, a string. */
static int
key_str(sk_reader *r, const cJSON **f, int i, const char **s, size_t *len)
{
    if (f[i] == NULL || cJSON_IsNull(f[i])) {
        return skip_row(r, SK_SKIP_NULL_KEY, "null key field %s", fname(r, i));
    }
    if (!cJSON_IsString(f[i]) || f[i]->valuestring == NULL) {
        return skip_row(r, SK_SKIP_BAD_TYPE, "%s is not a string",
                        fname(r, i));
    }
    *s = f[i]->valuestring;
    *len = strlen(*s);
    return 0;
}

static int
key_id(sk_reader *r, const cJSON **f, int i, char *out)
{
    const char *s;
    size_t      len;

    if (key_str(r, f, i, &s, &len) < 0) {
        return -1;
    }
    if (len == 0) {
        return skip_row(r, SK_SKIP_NULL_KEY, "empty key field %s",
                        fname(r, i));
    }
    if (!sk_ds_id_valid(s, len)) {
        return skip_row(r, SK_SKIP_BAD_VALUE, "%s is not a 22-character id",
                        fname(r, i));
    }
    sk_id_copy(out, s);
    return 0;
}

/* Integral and exact in a double: |v| < 2^53. */
static int
is_integral(double v)
{
    return v == v && fabs(v) < 9007199254740992.0 && v == floor(v);
}

static int
key_int(sk_reader *r, const cJSON **f, int i, int64_t *v)
{
    if (f[i] == NULL || cJSON_IsNull(f[i])) {
        return skip_row(r, SK_SKIP_NULL_KEY, "null key field %s", fname(r, i));
    }
    if (!cJSON_IsNumber(f[i])) {
        return skip_row(r, SK_SKIP_BAD_TYPE, "%s is not a number",
                        fname(r, i));
    }
    if (!is_integral(f[i]->valuedouble) || f[i]->valuedouble < 0
        || f[i]->valuedouble > 9007199254740992.0)      /* 2^53 */
    {
        return skip_row(r, SK_SKIP_BAD_VALUE,
                        "%s is not a non-negative integer", fname(r, i));
    }
    *v = (int64_t) f[i]->valuedouble;
    return 0;
}

static int
key_time(sk_reader *r, const cJSON **f, int i, int64_t *ms, int *tz,
    int *has_tz)
{
    const char *s;
    size_t      len;

    if (key_str(r, f, i, &s, &len) < 0) {
        return -1;
    }
    if (sk_time_parse(s, len, ms, tz, has_tz) != 0) {
        return skip_row(r, SK_SKIP_BAD_VALUE, "bad timestamp \"%.40s\"", s);
    }
    return 0;
}

/* Non-key fields: null/absent -> missing; wrong type -> missing, counted. */
static const char *
opt_str(sk_reader *r, const cJSON *f)
{
    if (f == NULL || cJSON_IsNull(f)) {
        return "";
    }
    if (!cJSON_IsString(f) || f->valuestring == NULL) {
        bad_value(r, f);
        return "";
    }
    return f->valuestring;
}

static double
opt_num(sk_reader *r, const cJSON *f)
{
    if (f == NULL || cJSON_IsNull(f)) {
        return NAN;
    }
    if (!cJSON_IsNumber(f)) {
        bad_value(r, f);
        return NAN;
    }
    return f->valuedouble;
}

static int64_t
opt_int(sk_reader *r, const cJSON *f)
{
    if (f == NULL || cJSON_IsNull(f)) {
        return SK_MISSING;
    }
    if (cJSON_IsBool(f)) {
        return cJSON_IsTrue(f);           /* explicit/premium as bool */
    }
    if (!cJSON_IsNumber(f) || !is_integral(f->valuedouble)
        || fabs(f->valuedouble) > 2147483647.0)
    {
        bad_value(r, f);
        return SK_MISSING;
    }
    return (int64_t) f->valuedouble;
}

/* Genre list -> names (up to max kept), count of all, mask of user genres. */
static void
opt_genres(sk_reader *r, const cJSON *f, const char **names, int max,
    int *n, uint64_t *mask)
{
    const cJSON *it;

    *n = 0;
    *mask = 0;
    if (f == NULL || cJSON_IsNull(f)) {
        return;
    }
    if (!cJSON_IsArray(f)) {
        bad_value(r, f);
        return;
    }
    cJSON_ArrayForEach(it, f) {
        int g;

        if (!cJSON_IsString(it) || it->valuestring == NULL) {
            bad_value(r, f);
            continue;
        }
        if ((g = sk_genre_index(it->valuestring, strlen(it->valuestring)))
            >= 0)
        {
            *mask |= (uint64_t) 1 << g;
        }
        if (names && *n < max) {
            names[*n] = it->valuestring;
        }
        (*n)++;
    }
}

static int
parse_artist(sk_reader *r, const cJSON **f, sk_artist_row *a)
{
    if (key_id(r, f, 0, a->id) < 0) {
        return -1;
    }
    a->name = opt_str(r, f[1]);
    opt_genres(r, f[2], a->genres, SK_MAX_GENRES, &a->n_genres,
               &a->genre_mask);
    return 0;
}

static int
parse_track(sk_reader *r, const cJSON **f, sk_track_row *t)
{
    int64_t v;

    if (key_id(r, f, T_ID, t->id) < 0 || key_id(r, f, T_ARTIST, t->artist_id) < 0)
    {
        return -1;
    }
    t->name = opt_str(r, f[T_NAME]);
    t->popularity = (int) opt_int(r, f[T_POP]);
    v = opt_int(r, f[T_DUR]);
    if (v == SK_MISSING && f[T_DUR] && cJSON_IsNumber(f[T_DUR])
        && f[T_DUR]->valuedouble >= 0 && f[T_DUR]->valuedouble < 1e15)
    {
        /* Larger than int32 but still a duration; anything beyond 1e15 ms
         * is nonsense and casting it would be undefined behaviour. */
        v = (int64_t) f[T_DUR]->valuedouble;
    }
    t->duration_ms = v;
    t->explicit_ = (int) opt_int(r, f[T_EXPL]);
    t->release_year = SK_MISSING;
    t->release_date = "";
    if (f[T_REL] && cJSON_IsNumber(f[T_REL])) {
        t->release_year = (int) opt_int(r, f[T_REL]);
    } else {
        const char *s = opt_str(r, f[T_REL]);

        t->release_date = s;
        if (s[0] >= '0' && s[0] <= '9' && s[1] >= '0' && s[1] <= '9'
            && s[2] >= '0' && s[2] <= '9' && s[3] >= '0' && s[3] <= '9')
        {
            t->release_year = (s[0] - '0') * 1000 + (s[1] - '0') * 100
                              + (s[2] - '0') * 10 + (s[3] - '0');
        }
    }
    t->danceability = opt_num(r, f[T_DANCE]);
    t->energy = opt_num(r, f[T_ENERGY]);
    t->key = (int) opt_int(r, f[T_KEY]);
    t->mode = (int) opt_int(r, f[T_MODE]);
    t->loudness = opt_num(r, f[T_LOUD]);
    t->speechiness = opt_num(r, f[T_SPEECH]);
    t->acousticness = opt_num(r, f[T_ACOUSTIC]);
    t->instrumentalness = opt_num(r, f[T_INSTR]);
    t->liveness = opt_num(r, f[T_LIVE]);
    t->valence = opt_num(r, f[T_VALENCE]);
    t->tempo = opt_num(r, f[T_TEMPO]);
    t->time_signature = (int) opt_int(r, f[T_TSIG]);
    return 0;
}

static int
parse_user(sk_reader *r, const cJSON **f, sk_user_row *u)
{
    if (key_int(r, f, 0, &u->user_id) < 0) {
        return -1;
    }
    u->name = opt_str(r, f[1]);
    u->city = opt_str(r, f[2]);
    u->street = opt_str(r, f[3]);
    opt_genres(r, f[4], NULL, 0, &u->n_favourite, &u->favourite_mask);
    u->premium = (int) opt_int(r, f[5]);
    if (u->premium != SK_MISSING && u->premium != 0 && u->premium != 1) {
        bad_value(r, f[5]);
        u->premium = SK_MISSING;
    }
    return 0;
}

static int
parse_event(sk_reader *r, const cJSON **f, sk_event_row *e)
{
    const char *s;
    size_t      len;
    int         type;

    if (key_time(r, f, 0, &e->ts_ms, &e->tz_min, &e->has_tz) < 0
        || key_int(r, f, 1, &e->user_id) < 0)
    {
        return -1;
    }
    /* event_type before track_id: whether track_id is a key depends on it. */
    if (key_str(r, f, 3, &s, &len) < 0) {
        return -1;
    }
    if ((type = sk_event_parse(s, len)) < 0) {
        return skip_row(r, SK_SKIP_BAD_VALUE, "unknown event_type \"%.40s\"",
                        s);
    }
    e->type = (sk_event_type) type;
    if (type == SK_EV_ADVERTISEMENT || type == SK_EV_BUYPREMIUM) {
        /* Not a key here: "", null or an id; anything else is dropped. */
        e->track_id[0] = '\0';
        if (f[2] && cJSON_IsString(f[2]) && f[2]->valuestring) {
            len = strlen(f[2]->valuestring);
            if (sk_ds_id_valid(f[2]->valuestring, len)) {
                sk_id_copy(e->track_id, f[2]->valuestring);
            } else if (len) {
                bad_value(r, f[2]);
            }
        } else if (f[2] && !cJSON_IsNull(f[2])) {
            bad_value(r, f[2]);
        }
    } else if (key_id(r, f, 2, e->track_id) < 0) {
        return -1;
    }
    return key_int(r, f, 4, &e->session_id);
}

static int
parse_storage(sk_reader *r, const cJSON **f, sk_storage_row *st)
{
    const char *s;
    size_t      len;
    int         c;

    if (key_id(r, f, 0, st->track_id) < 0 || key_str(r, f, 1, &s, &len) < 0) {
        return -1;
    }
    if ((c = sk_ds_storage_parse(s, len)) < 0) {
        return skip_row(r, SK_SKIP_BAD_VALUE,
                        "unknown storage_class \"%.40s\"", s);
    }
    st->storage_class = (sk_storage_class) c;
    st->daily_cost = opt_num(r, f[2]);
    return 0;
}

static int
parse_truth(sk_reader *r, const cJSON **f, sk_truth_row *t)
{
    if (key_int(r, f, 0, &t->session_id) < 0 || key_id(r, f, 1, t->track_id) < 0
        || key_time(r, f, 2, &t->ts_ms, &t->tz_min, NULL) < 0)
    {
        return -1;
    }
    if (f[3] == NULL || cJSON_IsNull(f[3])) {
        return skip_row(r, SK_SKIP_NULL_KEY, "null key field p_skip");
    }
    if (!cJSON_IsNumber(f[3])) {
        return skip_row(r, SK_SKIP_BAD_TYPE, "p_skip is not a number");
    }
    t->p_skip = f[3]->valuedouble;
    if (!(t->p_skip >= 0 && t->p_skip <= 1)) {
        return skip_row(r, SK_SKIP_BAD_VALUE, "p_skip outside 0..1");
    }
    return 0;
}

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parse one line: 0 row, -1 skipped (r->why set). */
static int
parse_line(sk_reader *r, const char *line, size_t len, sk_row *row)
{
    const cJSON *f[MAX_FIELDS];
    const char  *end = NULL;

    if (r->kind == SK_FILE_SESSIONS && !r->opts.no_fast_path
        && sk_fast_event(line, len, &row->event))
    {
        r->st.fast++;
        return 0;
    }
    if (r->kind == SK_FILE_TRUTH && !r->opts.no_fast_path
        && sk_fast_truth(line, len, &row->truth))
    {
        r->st.fast++;
        return 0;
    }
    memset(&row->artist, 0, sizeof(*row) - offsetof(sk_row, artist));
    if (memchr(line, '\0', len) != NULL) {
        return skip_row(r, SK_SKIP_BAD_JSON, "NUL byte in line");
    }
    r->tree = cJSON_ParseWithOpts(line, &end, 0);
    if (r->tree == NULL) {
        end = cJSON_GetErrorPtr();
        return skip_row(r, SK_SKIP_BAD_JSON, "invalid JSON near byte %ld",
                        end && end >= line && end <= line + len
                            ? (long) (end - line) + 1 : 0L);
    }
    while (end && end < line + len && is_space(*end)) {
        end++;
    }
    if (end != line + len) {
        return skip_row(r, SK_SKIP_BAD_JSON, "text after the JSON value");
    }
    if (gather(r, r->tree, f) < 0) {
        return -1;
    }
    r->fields = f;                  /* for bad_value(); this call only */
    switch (r->kind) {
    case SK_FILE_ARTISTS:
        return parse_artist(r, f, &row->artist);
    case SK_FILE_TRACKS:
        return parse_track(r, f, &row->track);
    case SK_FILE_USERS:
        return parse_user(r, f, &row->user);
    case SK_FILE_SESSIONS:
        return parse_event(r, f, &row->event);
    case SK_FILE_STORAGE:
        return parse_storage(r, f, &row->storage);
    default:
        return parse_truth(r, f, &row->truth);
    }
}

/* Count a skipped line; keep/print its message; fatal in strict mode. */
static int
count_skip(sk_reader *r)
{
    char msg[MSG_LEN];

    r->st.skipped[r->why]++;
    r->st.skipped_total++;
    snprintf(msg, sizeof(msg), "%s:%ld: %s", r->path, r->line, r->why_text);
    if (r->n_msgs < r->opts.max_messages) {
        memcpy(r->msgs[r->n_msgs++], msg, MSG_LEN);
        if (r->opts.log) {
            fprintf(r->opts.log, "%s\n", msg);
        }
    }
    if (r->opts.strict) {
        snprintf(r->error, sizeof(r->error), "%s (strict)", msg);
        return -1;
    }
    return 0;
}

int
sk_read_next(sk_reader *r, sk_row *row)
{
    char   *line;
    size_t  len;
    int     rc;

    if (r->error[0]) {
        return -1;                  /* sticky after an error */
    }
    for ( ;; ) {
        cJSON_Delete(r->tree);
        r->tree = NULL;
        rc = next_line(r, &line, &len);
        if (rc <= 0) {
            return rc;
        }
        r->st.lines++;
        if (rc == 2) {
            skip_row(r, SK_SKIP_TOO_LONG, "line longer than %zu bytes",
                     r->opts.max_line);
            if (count_skip(r) < 0) {
                return -1;
            }
            continue;
        }
        while (len > 0 && is_space(line[len - 1])) {
            line[--len] = '\0';
        }
        if (len == 0) {
            continue;               /* blank lines carry nothing */
        }
        row->kind = r->kind;
        row->line = r->line;
        r->defaulted = 0;
        if (parse_line(r, line, len, row) < 0) {
            if (count_skip(r) < 0) {
                return -1;
            }
            continue;
        }
        r->st.rows++;
        if (r->defaulted) {
            r->st.defaulted++;
        }
        return 1;
    }
}
