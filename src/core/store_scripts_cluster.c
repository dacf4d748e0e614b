/*
 * The feature store's Lua scripts for a Redis Cluster (KEYS/ARGV in
 * store_scripts_cluster.h).  The journal script shares the single-server
 * event script's checks and labelling (SK_LUA_LABEL), without the records; the apply
 * script reuses the single-server Lua (sk_script_lua_apply) for the
 * counters and the taste, so the two can never count differently.
 */
#include <stdlib.h>
#include <string.h>

#include "store_scripts.h"
#include "store_scripts_cluster.h"

const char sk_script_journal[] =
"-- ngx_skip: label and journal one event on a cluster shard\n"
SK_LUA_VALID_ID
SK_LUA_LABEL
"local user, track, kind, ts = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
"local session = ARGV[5] or ''\n"
"if not (valid_id(user) and valid_id(track)) then\n"
"  return redis.error_reply('ERR skip: bad user or track id')\n"
"end\n"
"local problem = event_problem(kind, ts, session)\n"
"if problem then return problem end\n"
"local ttl = tonumber(ARGV[6] or '')\n"
"if not ttl or ttl <= 0 then ttl = 7200 end\n"
"local h = tonumber(ARGV[7] or '')\n"
"if not (h and h >= 0 and h <= 23 and h == math.floor(h)) then h = nil end\n"
"local dp, ds = 0, 0\n"
"if session == '' then\n"
"  if kind == 'play' then dp = 1 else ds = 1 end\n"
"else\n"
"  dp, ds = label(KEYS[2], kind, ttl)\n"
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
"local what, field = ARGV[1], ARGV[2]\n"
"local prefix, snap, user = ARGV[3], ARGV[4], ARGV[5]\n"
"if not string.match(field or '', '^j:%d+$') then\n"
"  return redis.error_reply('ERR skip: bad mark field')\n"
"end\n"
"if what == 'taste' then\n"
"  if not (valid_id(prefix) and valid_id(snap) and valid_id(user))\n"
"     or prefix .. ':' .. snap .. ':ut:' .. user ~= KEYS[1] then\n"
"    return redis.error_reply('ERR skip: the taste key does not match')\n"
"  end\n"
"elseif what ~= 'u' and what ~= 't' then\n"
"  return redis.error_reply('ERR skip: apply what: u, t or taste')\n"
"end\n"
"local a, b, s = 'fav_plays', 'fav_skips', 'fav'\n"
"if what == 't' then a, b, s = 'fan_plays', 'fan_skips', 'genres' end\n"
"local mark = redis.call('HGET', KEYS[2], field)\n"
"local done, seen = 0, 0\n"
"for i = 6, #ARGV - 4, 5 do\n"
"  local id = ARGV[i]\n"
"  local dp, ds = tonumber(ARGV[i + 1]) or 0, tonumber(ARGV[i + 2]) or 0\n"
"  if not string.match(id, '^%d+%-%d+$') then\n"
"    return redis.error_reply('ERR skip: bad journal entry id')\n"
"  end\n"
"  if mark and not after(id, mark) then\n"
"    seen = seen + 1\n"
"  elseif what == 'taste' then\n"
"    taste(prefix, snap, user, ARGV[i + 3], hour_of(ARGV[i + 4]), dp, ds)\n"
"    mark = id\n"
"    done = done + 1\n"
"  else\n"
"    local v = redis.call('HMGET', KEYS[1], 'plays', 'skips', a, b, s)\n"
"    if not v[5] then break end\n"
"    add(KEYS[1], 'plays', v[1], dp)\n"
"    add(KEYS[1], 'skips', v[2], ds)\n"
"    if ARGV[i + 3] == '1' then\n"
"      add(KEYS[1], a, v[3], dp)\n"
"      add(KEYS[1], b, v[4], ds)\n"
"    end\n"
"    mark = id\n"
"    done = done + 1\n"
"  end\n"
"end\n"
"if done > 0 then redis.call('HSET', KEYS[2], field, mark) end\n"
"return {done, seen}\n";

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
