/*
 * skipctl features apply: the events journal of a Redis Cluster into a
 * snapshot's records (store_apply.c does the work; docs/cluster.md, "Live
 * events on a cluster", says why it exists).  One pass by default;
 * --follow keeps applying until SIGINT/SIGTERM, reconnecting after any
 * failure (a failover, a node restarting) and going on where the cursors
 * are: every key's mark makes a repeated entry count nothing.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "cmd_features.h"
#include "../store/store.h"

static volatile sig_atomic_t  apply_stop;

static void
on_signal(int sig)
{
    (void) sig;
    apply_stop = 1;
}

static void
help_apply(FILE *out)
{
    fprintf(out,
"usage: skipctl features apply --cluster [--follow] [--interval MS]\n"
"                              [--snapshot S] [--max N] [REDIS OPTIONS]\n"
"\n"
"Apply the live events a Redis Cluster has journaled to a snapshot's\n"
"records.  On a cluster, skip_events (and nothing else) writes each\n"
"counted play/skip to its listener's journal shard, acknowledging it once\n"
"a replica has it; the user, track and taste records live on other\n"
"slots, so they are updated here, afterwards: the counters lag the events\n"
"by this command's delay.  On one Redis server the events script updates\n"
"the records itself and there is nothing to apply.\n"
"\n"
"Each of the 32 journal shards is read in order from its cursor for the\n"
"snapshot (<prefix>:{<tag>}:cursor:<snap>).  An entry counts when it is\n"
"dated after the snapshot's as_of and both its user and its track have a\n"
"record (the rules of the single-server hand-over); its deltas go to the\n"
"user record, the track record and the listener's taste with the single-\n"
"server scripts' own Lua, by one script call per key and batch of 256\n"
"entries, which also stores the last entry id in that key (field\n"
"\"j:<shard>\", the taste's in {<taste key>}:j) and skips every entry at or\n"
"before it.  So a run stopped anywhere (crash, kill, lost node) is\n"
"repaired by running it again, and two runs at once count nothing twice.\n"
"The cursor moves after WAIT 1 on every primary, so a failover of a\n"
"record's node cannot lose a delta behind the cursor.\n"
"\n"
"A new snapshot has no cursors: its shards are read from the start.\n"
"`features load --cluster` and `features activate --cluster` run such a\n"
"pass for the snapshot before they switch to it; the follower, which\n"
"applies to the active snapshot, goes on from there.  Run one follower\n"
"(or one pass every few seconds from cron) per cluster and prefix.\n"
"\n"
"Options:\n"
"  --follow        keep applying, a pass every --interval while the journal\n"
"                  is idle, until SIGINT or SIGTERM (which end the pass\n"
"                  first); failures are reported on stderr and the\n"
"                  connection is made again after a second\n"
"  --interval MS   pause between passes that found nothing (default 200)\n"
"  --snapshot S    apply to S (default: the active snapshot, read again\n"
"                  at every pass with --follow)\n"
"  --max N         read at most about N entries, then stop (default 0: all;\n"
"                  a whole batch of 256 of a shard is read at once)\n"
"\n%s\n"
"Output: one line per pass that read entries, on stdout:\n"
"  \"SNAPSHOT: R read, A applied, B before as_of, M record missing,\n"
"  K key updates, D already applied, C script calls\" (a call per key\n"
"  a batch of a shard touches, with all its entries).\n"
"Exit status: 0 success, 1 Redis failed or the snapshot is not complete\n"
"(one pass), 2 usage.\n", feat_store_help);
}

static void
report(const char *snap, const sk_apply_result *r)
{
    printf("%s: %ld read, %ld applied, %ld before as_of, %ld record "
           "missing, %ld key updates, %ld already applied, %ld script "
           "calls", snap, r->read, r->applied, r->before, r->missing,
           r->keys, r->repeats, r->calls);
    if (r->malformed) {
        printf(", %ld malformed entries skipped", r->malformed);
    }
    printf("\n");
    fflush(stdout);
}

static void
sleep_ms(long ms)
{
    struct timespec ts;

    ts.tv_sec = ms / 1000;
    ts.tv_nsec = (ms % 1000) * 1000000L;
    nanosleep(&ts, NULL);
}

int
feat_apply(int argc, char **argv)
{
    sk_store_opts     so;
    sk_store          s;
    sk_apply_result   res;
    struct sigaction  sa;
    const char       *pos[1], *want = NULL, *interval = NULL, *max = NULL;
    char              snap[SK_SNAP_MAX + 1];
    long              pause = 200, most = 0;
    int               npos, rc, follow = 0, connected = 0;
    const feat_opt    opts[] = {
        { "--follow", NULL, &follow }, { "--interval", &interval, NULL },
        { "--snapshot", &want, NULL }, { "--max", &max, NULL },
        { NULL, NULL, NULL }
    };

    sk_store_opts_init(&so);
    rc = feat_parse("apply", argc, argv, &so, opts, pos, 0, &npos,
                    help_apply);
    if (rc != 0) {
        return rc < 0 ? SK_EXIT_OK : rc;
    }
    if (!so.cluster) {
        sk_errorf(FEAT_CMD, "apply: needs --cluster (on one Redis server "
                  "the events script updates the records itself)");
        return SK_EXIT_USAGE;
    }
    if ((interval && (pause = feat_count("apply", "--interval", interval))
                     < 0)
        || (max && (most = feat_count("apply", "--max", max)) < 0))
    {
        return SK_EXIT_USAGE;
    }
    if (interval && pause < 1) {
        sk_errorf(FEAT_CMD, "apply: --interval %s: at least 1 ms", interval);
        return SK_EXIT_USAGE;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    for ( ;; ) {
        if (!connected) {
            if (feat_connect(&s, &so) != 0) {
                if (!follow) {
                    return SK_EXIT_FAIL;
                }
                goto retry;
            }
            connected = 1;
        }
        if (feat_snapshot(&s, want, snap, sizeof(snap)) != 0) {
            if (!follow) {
                sk_store_close(&s);
                return SK_EXIT_FAIL;
            }
            goto reconnect;
        }
        if (sk_journal_apply(&s, snap, most, &res) != 0) {
            sk_errorf(FEAT_CMD, "apply to %s: %s", snap, s.err);
            if (!follow) {
                sk_store_close(&s);
                return SK_EXIT_FAIL;
            }
            goto reconnect;
        }
        if (res.read > 0 || !follow) {
            report(snap, &res);
        }
        if (!follow || apply_stop) {
            break;
        }
        if (res.read == 0) {
            sleep_ms(pause);
        }
        continue;

    reconnect:
        /* a failover or a resharding: a fresh slot map, fresh nodes */
        sk_store_close(&s);
        connected = 0;
    retry:
        if (apply_stop) {
            return SK_EXIT_FAIL;
        }
        sleep_ms(1000);
    }
    sk_store_close(&s);
    return SK_EXIT_OK;
}
