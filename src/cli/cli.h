/*
 * Conventions shared by the skipctl subcommands (src/cmd_*.c).
 *
 * Exit codes mean something: 0 success, 1 the work failed (bad data, Redis
 * unreachable, ...), 2 the command line was wrong.  Results go to stdout (or
 * files), progress and diagnostics to stderr, prefixed with the command.
 */
#ifndef SKIP_CLI_H
#define SKIP_CLI_H

#define SK_EXIT_OK     0
#define SK_EXIT_FAIL   1
#define SK_EXIT_USAGE  2

typedef struct {
    const char  *name;
    int        (*run)(int argc, char **argv);
    const char  *summary;
} sk_command;

int cmd_gen(int argc, char **argv);
int cmd_stats(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_predict(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_features(int argc, char **argv);
int cmd_abreport(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_simulate(int argc, char **argv);
int cmd_admit_train(int argc, char **argv);

/* Print "skipctl CMD: message" to stderr (printf format). */
void sk_errorf(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The number option OPT of command CMD: all of s must be a number in
 * [lo, hi].  0 with *out set, or -1 after an error naming the option, the
 * range and the value.
 */
int sk_opt_number(const char *cmd, const char *opt, const char *s, double lo,
    double hi, double *out);

/*
 * A size in nginx's syntax: a whole number of bytes with an optional k, m
 * or g suffix (powers of 1024).  0 with *out set, or -1 after an error
 * naming the option and the value.
 */
int sk_opt_size(const char *cmd, const char *opt, const char *s,
    unsigned long long *out);

#endif
