/*
 * The feature store's Lua scripts for a Redis Cluster (KEYS/ARGV in
 * store_scripts_cluster.h).  The journal script repeats the single-server
 * event script's checks and labelling, without the records; the apply
 * script reuses the single-server Lua (sk_script_lua_apply) for the
 * counters and the taste, so the two can never count differently.
 */
#include <stdlib.h>
#include <string.h>

#include "store_scripts.h"
#include "store_scripts_cluster.h"

const char sk_script_journal[] =
"-- ngx_skip: label and journal one event on a cluster shard\n"
"local function valid_id(s)\n"
"  return type(s) == 'string' and #s >= 1 and #s <= 64\n"
"         and string.match(s, '^[%w_.-]+$') ~= nil\n"
"end\n"
"local user, track, kind, ts = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
"local session = ARGV[5] or ''\n"
"if not (valid_id(user) and valid_id(track)) then\n"
"  return redis.error_reply('ERR skip: bad user or track id')\n"
"end\n"
"if kind ~= 'play' and kind ~= 'skip' then\n"
"  return redis.error_reply('ERR skip: event type must be play or skip')\n"
"end\n"
/* the event rule (event_rule.h), as in sk_script_event */
"if not string.match(ts or '', '^%d+$') or #ts > 15 then\n"
"  return redis.error_reply('ERR skip: event time must be ms since the "
"epoch')\n"
"end\n"
"if session ~= '' and not valid_id(session) then\n"
"  return redis.error_reply('ERR skip: bad session id')\n"
"end\n"
"local ttl = tonumber(ARGV[6] or '')\n"
"if not ttl or ttl <= 0 then ttl = 7200 end\n"
"local h = tonumber(ARGV[7] or '')\n"
"if not (h and h >= 0 and h <= 23 and h == math.floor(h)) then h = nil end\n"
"local dp, ds = 0, 0\n"
"if session == '' then\n"
"  if kind == 'play' then dp = 1 else ds = 1 end\n"
"else\n"
"  local st = redis.call('GET', KEYS[2])\n"
"  if kind == 'play' then\n"
"    if not st then\n"
"      dp = 1\n"
"      redis.call('SET', KEYS[2], 'p', 'EX', ttl)\n"
"    end\n"
"  elseif st ~= 's' then\n"
"    ds = 1\n"
"    if st == 'p' then dp = -1 end\n"
"    redis.call('SET', KEYS[2], 's', 'EX', ttl)\n"
"  end\n"
"end\n"
"if dp == 0 and ds == 0 then return {0, 0, ''} end\n"
"local x = {'XADD', KEYS[1], '*', 'ts', ts, 'u', user, 't', track,\n"
"           'e', kind, 'dp', tostring(dp), 'ds', tostring(ds)}\n"
"if session ~= '' then x[#x + 1] = 's'; x[#x + 1] = session end\n"
"if h then x[#x + 1] = 'h'; x[#x + 1] = tostring(h) end\n"
"return {dp, ds, redis.call(unpack(x))}\n";

static const char apply_tail[] =
"local function after(a, b)\n"
"  local b1, b2 = string.match(b or '', '^(%d+)%-(%d+)$')\n"
"  if not b1 then return true end\n"
"  local a1, a2 = string.match(a, '^(%d+)%-(%d+)$')\n"
"  a1, a2, b1, b2 = tonumber(a1), tonumber(a2), tonumber(b1), tonumber(b2)\n"
"  return a1 > b1 or (a1 == b1 and a2 > b2)\n"
"end\n"
"local what, field, id = ARGV[1], ARGV[2], ARGV[3]\n"
"if not string.match(id or '', '^%d+%-%d+$')\n"
"   or not string.match(field or '', '^j:%d+$') then\n"
"  return redis.error_reply('ERR skip: bad journal entry id or mark')\n"
"end\n"
"local dp, ds = tonumber(ARGV[4]) or 0, tonumber(ARGV[5]) or 0\n"
"local mark = redis.call('HGET', KEYS[2], field)\n"
"if mark and not after(id, mark) then return 0 end\n"
"if what == 'u' or what == 't' then\n"
"  local a, b, s = 'fav_plays', 'fav_skips', 'fav'\n"
"  if what == 't' then a, b, s = 'fan_plays', 'fan_skips', 'genres' end\n"
"  local v = redis.call('HMGET', KEYS[1], 'plays', 'skips', a, b, s)\n"
"  if not v[5] then return -1 end\n"
"  add(KEYS[1], 'plays', v[1], dp)\n"
"  add(KEYS[1], 'skips', v[2], ds)\n"
"  if ARGV[6] == '1' then\n"
"    add(KEYS[1], a, v[3], dp)\n"
"    add(KEYS[1], b, v[4], ds)\n"
"  end\n"
"elseif what == 'taste' then\n"
"  local prefix, snap, user = ARGV[8], ARGV[9], ARGV[10]\n"
"  if not (valid_id(prefix) and valid_id(snap) and valid_id(user))\n"
"     or prefix .. ':' .. snap .. ':ut:' .. user ~= KEYS[1] then\n"
"    return redis.error_reply('ERR skip: the taste key does not match')\n"
"  end\n"
"  taste(prefix, snap, user, ARGV[6] or '', hour_of(ARGV[7]), dp, ds)\n"
"else\n"
"  return redis.error_reply('ERR skip: apply what: u, t or taste')\n"
"end\n"
"redis.call('HSET', KEYS[2], field, id)\n"
"return 1\n";

const char *
sk_script_apply_cluster(void)
{
    static char  *body;
    static const char head[] = "-- ngx_skip: apply one journal entry to "
                               "one key (cluster)\n";
    size_t        a, b, c;

    if (body == NULL) {
        a = sizeof(head) - 1;
        b = strlen(sk_script_lua_apply);
        c = sizeof(apply_tail);
        body = malloc(a + b + c);
        if (body != NULL) {
            memcpy(body, head, a);
            memcpy(body + a, sk_script_lua_apply, b);
            memcpy(body + a + b, apply_tail, c);
        }
    }
    return body;
}
