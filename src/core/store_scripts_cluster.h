/*
 * The feature store's Lua scripts for a Redis Cluster (docs/cluster.md,
 * "Live events on a cluster"; keys in journal.h).  Each touches the keys
 * of one slot only, which is all a cluster runs.
 *
 * ---- SK_SCRIPT_JOURNAL: label and journal one event (the 2xx point) ----
 *
 *   KEYS[1] <prefix>:{<tag>}:journal     (shard sk_journal_shard(user))
 *   KEYS[2] <prefix>:{<tag>}:open:<session>:<track>  (KEYS[1] again when
 *           there is no session)
 *   ARGV[1] user   ARGV[2] track   ARGV[3] "play" | "skip"
 *   ARGV[4] event time, ms since the epoch   ARGV[5] session id or ""
 *   ARGV[6] marker lifetime, s ("" = 7200)   ARGV[7] local hour or ""
 *
 *   The labelling of SK_SCRIPT_EVENT (store_scripts.h), checks included:
 *   the first Play of a (session, track) +1 play, a later Skip -1 play
 *   +1 skip, repeats nothing; without a session every event counts.
 *   A counted event is XADDed to the journal with the same fields as
 *   <prefix>:events (ts u t e dp ds [s] [h]).  Nothing else is read or
 *   written: the records are the applier's.
 *   Reply: array { dp, ds, entry id or "" (a repeat: nothing journaled) }.
 *
 * ---- the apply script (sk_script_apply_cluster()): entries, one key ----
 *
 *   KEYS[1] the record: <snap>:u:<user> or <snap>:t:<track> (a hash), or
 *           the taste <snap>:ut:<user> (a string)
 *   KEYS[2] where the mark is kept: KEYS[1] for a record, the taste's
 *           mark hash {<snap>:ut:<user>}:j for the taste
 *   ARGV[1] "u" | "t" | "taste"   ARGV[2] mark field "j:<shard>"
 *   ARGV[3] prefix   ARGV[4] snapshot   ARGV[5] taste: the user ("" for
 *           records); the taste key is built from them, as the single-
 *           server script builds it, and must equal KEYS[1]
 *   then 5 per journal entry of this key, in shard order:
 *           entry id, dp, ds, records: "1" when the track's genres meet
 *           the user's favourites else "0" / taste: the track's genres,
 *           local hour or ""
 *
 *   Skips each entry at or before the mark (applied already: a re-run
 *   after a crash counts nothing twice); adds the others' deltas with the
 *   single-server scripts' own Lua (add / taste: same clamping, same
 *   parse checks, so the counters equal sk_history_add's) and sets the
 *   mark to the last, in one script: counters and mark are never apart.
 *   A record that does not exist is left alone (no mark).
 *   Reply: array { entries applied, entries found applied before }.
 */
#ifndef SKIP_STORE_SCRIPTS_CLUSTER_H
#define SKIP_STORE_SCRIPTS_CLUSTER_H

extern const char sk_script_journal[];

#define SK_SCRIPT_JOURNAL_NKEYS  2
#define SK_SCRIPT_JOURNAL_NARGS  7
#define SK_SCRIPT_APPLY_NKEYS    2

/* The apply script's body (built once from the shared Lua; NULL: no
 * memory).  Used by skipctl only. */
const char *sk_script_apply_cluster(void);

#endif
