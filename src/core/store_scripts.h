/*
 * The feature store's server-side Lua scripts, shared by skipctl and the
 * nginx module's events handler.  Plain C, no hiredis: only the script
 * texts, their SHA1 (for EVALSHA) and the argument layout.
 *
 * Call pattern: EVALSHA sha numkeys KEYS... ARGV...; on a NOSCRIPT error
 * reply send EVAL with the body once (Redis then caches it).  Keys follow
 * docs/feature-store.md; every id in ARGV must have passed sk_id_valid
 * (keys.h) first, because the scripts build record keys from them.
 *
 * The scripts also touch keys they derive from ARGV (record keys, open-play
 * markers), so they need a single Redis instance, not a cluster: a
 * snapshot's records are spread over all slots anyway.
 *
 * ---- SK_SCRIPT_EVENT: apply one live play/skip event -----------------
 *
 *   KEYS[1] <prefix>:active          KEYS[2] <prefix>:events
 *   ARGV[1] prefix     ARGV[2] user id     ARGV[3] track id
 *   ARGV[4] "play" | "skip"          ARGV[5] event time, ms since epoch
 *   ARGV[6] session id, or "" (then the event counts on its own)
 *   ARGV[7] open-play marker lifetime, seconds ("" = 7200)
 *   ARGV[8] stream cap: XADD MAXLEN ~ N ("" or "0" = no cap)
 *   ARGV[9] local hour of the event 0..23 ("" or absent = unknown)
 *
 *   Follows the dataset's labelling rule per (session, track): the first
 *   Play counts as a play; a Skip turns it into a skip (plays -1,
 *   skips +1); repeats change nothing.  The state lives in the marker
 *   <prefix>:open:<session>:<track> ("p" or "s", expiring).  The deltas are
 *   applied, atomically, to the active snapshot's records exactly as
 *   sk_history_add (history.c) counts a labelled play: user plays/skips
 *   and track plays/skips, plus user fav_plays/fav_skips and track
 *   fan_plays/fan_skips when the track's genres meet the user's
 *   favourites; and the listener's taste (<snap>:ut:<user>,
 *   taste_stored.h) as sk_taste_hist_add counts it: field g<i> of every
 *   user genre of the track, h<hh> of the event's local hour when known
 *   (the value rewritten in slot order, an entry back at 0:0 dropped, the
 *   key deleted when none is left; it appears with the listener's first
 *   counted play; a value that does not parse, or a key of another type,
 *   is left alone); and, with a session, the session's live context
 *   <prefix>:sess:<session> (session_live.h: p, s, l, k, r, e, the
 *   expectation e:<track> the module left moved into r and e; the TTL of
 *   the markers).  Only when BOTH records exist (the
 *   dataset drops plays of unknown users or tracks the same way); no
 *   record is ever created; a counter that does not parse is left alone.  Then journaled with
 *   XADD <prefix>:events * ts u t e dp ds [s] [h], applied or not.
 *
 *   Reply: array { active snapshot or "", dp, ds, applied, stream id or "" }
 *     dp, ds   the play/skip deltas (0, 0 for a repeat: nothing journaled)
 *     applied  1: counted in the active snapshot, 0: a record is missing
 *   Errors: "ERR skip: ..." for a bad id, type or time: the event rule of
 *   event_rule.h, which callers check first (so a refusal is a bug).
 *
 * ---- SK_SCRIPT_HANDOVER: catch a snapshot up, optionally activate it ---
 *
 *   KEYS[1] <prefix>:active   KEYS[2] <prefix>:events   KEYS[3] <snap>:meta
 *   ARGV[1] prefix   ARGV[2] snapshot id
 *   ARGV[3] most entries to read this call ("0" = no count limit)
 *   ARGV[4] "1" = activate after replaying everything, "0" = only replay
 *   ARGV[5] Redis time this call may take, microseconds ("" or "0" = no
 *           bound): it stops after the entry that used the budget up
 *           (checked with TIME after every entry; entries are read 32 at a
 *           time), so a call lasts the budget plus one entry
 *
 *   Replays the stream entries after meta.replayed_to whose event time is
 *   after meta.as_of into the snapshot's records (same deltas, same rules
 *   as SK_SCRIPT_EVENT), then stores the new cursor in meta.replayed_to.
 *   With activate, and only in the call that reached the end of the stream
 *   (more = 0): the snapshot must be complete; the previous active
 *   snapshot's replayed_to is set to the stream's last id (everything so
 *   far was applied to it live, so a later rollback to it replays only what
 *   came after), then SET <prefix>:active and meta.activated = now.
 *   Refuses (error reply) a snapshot whose state is not "complete".
 *
 *   Reply: array { entries read, entries applied, cursor, more (0/1),
 *                  previous active or "" }
 *
 * ---- SK_SCRIPT_FINISH: mark a loaded snapshot complete -----------------
 *
 *   KEYS[1] <snap>:meta   ARGV[1] users   ARGV[2] tracks
 *   Sets state=complete, users, tracks only if state is still "loading"
 *   (gc may have started deleting an abandoned load).  Reply: 1, or an
 *   error reply naming the state found.
 */
#ifndef SKIP_STORE_SCRIPTS_H
#define SKIP_STORE_SCRIPTS_H

#include <stddef.h>

extern const char sk_script_event[];
extern const char sk_script_handover[];
extern const char sk_script_finish[];

/* The Lua helpers the event and hand-over scripts share (valid_id, fmt,
 * add, meets, taste, hour_of, apply), for store_scripts_cluster.c. */
extern const char sk_script_lua_apply[];

/* The genre names the scripts map to taste fields, "|"-separated in
 * index order (for the unit test that checks them against genres.c). */
extern const char sk_script_genres[];

#define SK_SCRIPT_EVENT_NKEYS     2
#define SK_SCRIPT_HANDOVER_NKEYS  3
#define SK_SCRIPT_FINISH_NKEYS    1

#define SK_OPEN_PLAY_TTL   7200    /* s: longer than any track */

/* Lower-case hex SHA1 of a script body, as SCRIPT LOAD returns it. */
void sk_script_sha1(const char *body, char hex[41]);

/* SHA1 of s[0..len), lower-case hex (exposed for the unit test). */
void sk_sha1_hex(const void *s, size_t len, char hex[41]);


/*
 * Lua shared by the single-server event script (sk_script_event) and the
 * cluster's journal script (sk_script_journal), so that both check an
 * event and label a (session, track) the same way:
 *
 *   valid_id(s)                   an id of [A-Za-z0-9_.-]{1,64}
 *   event_problem(kind, ts, session)
 *                                 nil, or the error reply for an event
 *                                 the event rule refuses
 *   label(mk, kind, ttl)          dp, ds, st: the play and skip deltas of
 *                                 this event for its (session, track),
 *                                 whose state is kept in key mk ("p" after
 *                                 the first Play, "s" once skipped; st the
 *                                 state before), expiring after ttl s
 */
#define SK_LUA_VALID_ID                                                     \
"local function valid_id(s)\n"                                              \
"  return type(s) == 'string' and #s >= 1 and #s <= 64\n"                   \
"         and string.match(s, '^[%w_.-]+$') ~= nil\n"                       \
"end\n"

/*
 * These checks are the event rule of event_rule.h (1-3), which the module
 * and skipctl apply before sending: ids of [A-Za-z0-9_.-]{1,64}, a session
 * id that is "" or such an id, and the time as 1..15 decimal digits of ms
 * since the epoch (no sign: nothing before 1970).  Change both together.
 * The bound ahead of the clock (rule 4) is not here on purpose: Redis' clock
 * is another clock, and a resent batch must not fail for ever on it.
 */
#define SK_LUA_LABEL                                                        \
"local function event_problem(kind, ts, session)\n"                         \
"  if kind ~= 'play' and kind ~= 'skip' then\n"                             \
"    return redis.error_reply('ERR skip: event type must be play or skip')\n" \
"  end\n"                                                                   \
"  if not string.match(ts or '', '^%d+$') or #ts > 15 then\n"               \
"    return redis.error_reply('ERR skip: event time must be ms since the '\n" \
"                             .. 'epoch')\n"                                \
"  end\n"                                                                   \
"  if session ~= '' and not valid_id(session) then\n"                       \
"    return redis.error_reply('ERR skip: bad session id')\n"                \
"  end\n"                                                                   \
"  return nil\n"                                                            \
"end\n"                                                                     \
"local function label(mk, kind, ttl)\n"                                     \
"  local dp, ds = 0, 0\n"                                                   \
"  local st = redis.call('GET', mk)\n"                                      \
"  if kind == 'play' then\n"                                                \
"    if not st then\n"                                                      \
"      dp = 1\n"                                                            \
"      redis.call('SET', mk, 'p', 'EX', ttl)\n"                             \
"    end\n"                                                                 \
"  elseif st ~= 's' then\n"                                                 \
"    ds = 1\n"                                                              \
"    if st == 'p' then dp = -1 end\n"                                       \
"    redis.call('SET', mk, 's', 'EX', ttl)\n"                               \
"  end\n"                                                                   \
"  return dp, ds, st\n"                                                     \
"end\n"

#endif
