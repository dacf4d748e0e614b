/*
 * skipctl replay's two command files: cmd_replay.c (usage, options, the
 * order of the steps) and cmd_replay_plays.c (which plays to replay).  The
 * run itself is src/replay/replay_run.h.
 */
#ifndef SKIP_CMD_REPLAY_H
#define SKIP_CMD_REPLAY_H

#include "../replay/replay_run.h"

/*
 * The plays of rp->data_dir to replay, grouped in sessions (or, with
 * --write-train, the training window's events written out).  0, or -1
 * after printing why.
 */
int sk_replay_load_plays(replay_t *rp);

#endif
