/*
 * Internals shared by the `skipctl features` subcommands
 * (cmd_features.c: dispatch, get, set, status, activate;
 *  cmd_features_load.c: load and gc; cmd_features_apply.c: apply).
 */
#ifndef SKIP_CMD_FEATURES_H
#define SKIP_CMD_FEATURES_H

#include <stdio.h>

#include "../store/store.h"

#define FEAT_CMD "features"

/* One subcommand option: a value option (str) or a flag (flag). */
typedef struct {
    const char   *name;        /* "--keep" */
    const char  **str;         /* receives the value, or NULL */
    int          *flag;        /* set to 1 for a flag, or NULL */
} feat_opt;

/*
 * Parse argv[1..] of a subcommand: the store options (store.h), the
 * subcommand's own options, "--help" (prints help, returns -1) and up to
 * maxpos positionals.  "--name=value" works too.  Returns 0, -1 after
 * --help, or SK_EXIT_USAGE after printing the problem and a hint.
 */
int feat_parse(const char *sub, int argc, char **argv, sk_store_opts *so,
    const feat_opt *opts, const char **pos, int maxpos, int *npos,
    void (*help)(FILE *));

/* Non-negative integer option value, or -1 (message printed). */
long feat_count(const char *sub, const char *opt, const char *v);

/* Connect with s->err printed on failure.  0 or -1. */
int feat_connect(sk_store *s, const sk_store_opts *so);

/* Snapshot to read: --snapshot S, else the active one.  0 or -1. */
int feat_snapshot(sk_store *s, const char *want, char *snap, size_t size);

/* The text of the store options, for every subcommand's --help. */
extern const char feat_store_help[];

int feat_load(int argc, char **argv);
int feat_gc(int argc, char **argv);

/* cmd_features_apply.c: the events journal of a cluster into records */
int feat_apply(int argc, char **argv);

/* gc with explicit settings (also run by `load --keep N`). */
int feat_gc_run(sk_store *s, long keep, long grace_s, long events_keep_s,
    int dry_run);

#endif
