/*
 * A tiny TAP producer for the C unit tests: prove reads what they print.
 * Header-only so that each test is one .c file with no extra objects.
 */
#ifndef SKIP_TAP_H
#define SKIP_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

static void
tap_vok(int cond, const char *fmt, va_list ap)
{
    tap_n++;
    if (!cond) {
        tap_failed++;
    }
    printf("%sok %d - ", cond ? "" : "not ", tap_n);
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
}

static int __attribute__((format(printf, 2, 3), unused))
ok(int cond, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    tap_vok(cond, fmt, ap);
    va_end(ap);
    return cond;
}

#define is_int(got, want, ...)                                              \
    do {                                                                    \
        long long g_ = (long long) (got), w_ = (long long) (want);          \
        if (!ok(g_ == w_, __VA_ARGS__))                                     \
            printf("#   got %lld, want %lld\n", g_, w_);                    \
    } while (0)

#define is_str(got, want, ...)                                              \
    do {                                                                    \
        const char *g_ = (got), *w_ = (want);                               \
        if (!ok(g_ && w_ && strcmp(g_, w_) == 0, __VA_ARGS__))              \
            printf("#   got \"%s\", want \"%s\"\n", g_ ? g_ : "(null)",     \
                   w_ ? w_ : "(null)");                                     \
    } while (0)

#define is_near(got, want, eps, ...)                                        \
    do {                                                                    \
        double g_ = (got), w_ = (want);                                     \
        if (!ok(fabs(g_ - w_) <= (eps), __VA_ARGS__))                       \
            printf("#   got %.12g, want %.12g\n", g_, w_);                  \
    } while (0)

static void __attribute__((unused))
diag(const char *fmt, ...)
{
    va_list ap;

    printf("# ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
}

/* Print the plan at the end ("done_testing") and exit non-zero on failure. */
static int __attribute__((unused))
done_testing(void)
{
    printf("1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}

#endif
