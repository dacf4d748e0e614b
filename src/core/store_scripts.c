/*
 * The feature store's Lua scripts (KEYS/ARGV documented in store_scripts.h,
 * the protocol in docs/feature-store.md) and a small SHA1 for EVALSHA.
 *
 * Both scripts that change counters share one Lua "apply" function, so a
 * live event and its replay into a new snapshot do exactly the same thing.
 * Counters are rewritten with HSET after checking in Lua that they parse:
 * HINCRBYFLOAT would raise an error half-way through a script on a value
 * an operator broke by hand, and Redis does not roll scripts back.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "session_live.h"
#include "store_scripts.h"

/*
 * The 50 user genres in index order (genres.c), "|"-separated: the taste
 * fields are named by index ("g<i>", taste_stored.h) while the track hash
 * lists genres by name.  t/unit/taste.c checks this against
 * sk_genre_name().
 */
#define SK_LUA_GENRES                                                       \
"adult standards|album rock|alternative metal|alternative rock|"            \
"argentine rock|art rock|blues rock|brill building pop|c-pop|classic rock|" \
"country rock|dance pop|europop|folk|folk rock|funk|hard rock|hoerspiel|"   \
"italian adult pop|j-pop|latin|latin alternative|latin pop|latin rock|"     \
"lounge|mandopop|mellow gold|metal|modern rock|motown|mpb|new romantic|"    \
"new wave|new wave pop|permanent wave|pop|pop rock|post-teen pop|"          \
"psychedelic rock|quiet storm|ranchera|regional mexican|rock|"              \
"rock en espanol|roots rock|singer-songwriter|soft rock|soul|tropical|"     \
"vocal jazz"

const char sk_script_genres[] = SK_LUA_GENRES;

/* Helpers shared by the event and hand-over scripts. */
#define SK_LUA_APPLY                                                        \
SK_LUA_VALID_ID                                                             \
"local function fmt(v)\n"                                                   \
"  if v == math.floor(v) and v < 9007199254740992 then\n"                   \
"    return string.format('%d', v)\n"                                       \
"  end\n"                                                                   \
"  return string.format('%.17g', v)\n"                                      \
"end\n"                                                                     \
"local function add(key, field, cur, delta)\n"                              \
"  if delta == 0 or not cur then return end\n"                              \
"  local v = tonumber(cur)\n"                                               \
"  if v == nil or v ~= v or v > 1e15 or v < 0 then return end\n"            \
"  v = v + delta\n"                                                         \
"  if v < 0 then v = 0 end\n"                                               \
"  redis.call('HSET', key, field, fmt(v))\n"                                \
"end\n"                                                                     \
"local function meets(fav, genres)\n"                                       \
"  local set = {}\n"                                                        \
"  for g in string.gmatch(fav, '[^,]+') do set[g] = true end\n"             \
"  for g in string.gmatch(genres, '[^,]+') do\n"                            \
"    if set[g] then return true end\n"                                      \
"  end\n"                                                                   \
"  return false\n"                                                          \
"end\n"                                                                     \
"local GENRE = {}\n"                                                        \
"do\n"                                                                      \
"  local i = 0\n"                                                           \
"  for g in string.gmatch('" SK_LUA_GENRES "', '[^|]+') do\n"               \
"    GENRE[g] = i; i = i + 1\n"                                              \
"  end\n"                                                                   \
"end\n"                                                                     \
"local SLOT = {}\n"                                                         \
"for i = 0, 49 do SLOT['g' .. i] = true end\n"                              \
"for h = 0, 23 do SLOT[string.format('h%02d', h)] = true end\n"             \
"local function taste(prefix, snap, user, genres, hour, dp, ds)\n"          \
"  local k = prefix .. ':' .. snap .. ':ut:' .. user\n"                     \
"  local f = {}\n"                                                          \
"  for g in string.gmatch(genres, '[^,]+') do\n"                            \
"    if GENRE[g] then f[#f + 1] = 'g' .. GENRE[g] end\n"                    \
"  end\n"                                                                   \
"  if hour then f[#f + 1] = string.format('h%02d', hour) end\n"             \
"  if #f == 0 then return end\n"                                            \
"  local cur = redis.pcall('GET', k)\n"                                     \
"  if type(cur) == 'table' then return end\n"                               \
"  local c = {}\n"                                                          \
"  if cur then\n"                                                           \
"    for e in string.gmatch(cur, '[^,]+') do\n"                             \
"      local nm, p, s = string.match(e, '^([gh]%d+)=(%d+):(%d+)$')\n"       \
"      if not nm or not SLOT[nm] or c[nm] or #p > 10 or #s > 10 then\n"    \
"        return\n"                                                          \
"      end\n"                                                               \
"      c[nm] = {tonumber(p), tonumber(s)}\n"                                \
"    end\n"                                                                 \
"  end\n"                                                                   \
"  for _, nm in ipairs(f) do\n"                                             \
"    local v = c[nm] or {0, 0}\n"                                           \
"    c[nm] = {math.max(v[1] + dp, 0), math.max(v[2] + ds, 0)}\n"            \
"  end\n"                                                                   \
"  local out = {}\n"                                                        \
"  local function put(nm)\n"                                                \
"    local v = c[nm]\n"                                                     \
"    if v and (v[1] > 0 or v[2] > 0) then\n"                                \
"      out[#out + 1] = string.format('%s=%d:%d', nm, v[1], v[2])\n"         \
"    end\n"                                                                 \
"  end\n"                                                                   \
"  for i = 0, 49 do put('g' .. i) end\n"                                    \
"  for h = 0, 23 do put(string.format('h%02d', h)) end\n"                   \
"  if #out == 0 then\n"                                                     \
"    redis.call('DEL', k)\n"                                                \
"  else\n"                                                                  \
"    redis.call('SET', k, table.concat(out, ','))\n"                        \
"  end\n"                                                                   \
"end\n"                                                                     \
"local function hour_of(h)\n"                                               \
"  local v = tonumber(h or '')\n"                                           \
"  if v and v >= 0 and v <= 23 and v == math.floor(v) then return v end\n"  \
"  return nil\n"                                                            \
"end\n"                                                                     \
"local function apply(prefix, snap, user, track, dp, ds, hour)\n"           \
"  local uk = prefix .. ':' .. snap .. ':u:' .. user\n"                     \
"  local tk = prefix .. ':' .. snap .. ':t:' .. track\n"                    \
"  local u = redis.call('HMGET', uk, 'fav', 'plays', 'skips',\n"            \
"                       'fav_plays', 'fav_skips')\n"                        \
"  if not u[1] then return 0 end\n"                                         \
"  local t = redis.call('HMGET', tk, 'genres', 'plays', 'skips',\n"         \
"                       'fan_plays', 'fan_skips')\n"                        \
"  if not t[1] then return 0 end\n"                                         \
"  add(uk, 'plays', u[2], dp)\n"                                            \
"  add(uk, 'skips', u[3], ds)\n"                                            \
"  add(tk, 'plays', t[2], dp)\n"                                            \
"  add(tk, 'skips', t[3], ds)\n"                                            \
"  if meets(u[1], t[1]) then\n"                                             \
"    add(uk, 'fav_plays', u[4], dp)\n"                                      \
"    add(uk, 'fav_skips', u[5], ds)\n"                                      \
"    add(tk, 'fan_plays', t[4], dp)\n"                                      \
"    add(tk, 'fan_skips', t[5], ds)\n"                                      \
"  end\n"                                                                   \
"  taste(prefix, snap, user, t[1], hour, dp, ds)\n"                         \
"  return 1\n"                                                              \
"end\n"

/*
 * The session's live context (session_live.h), with the trainer's rules
 * (session_ctx.c): a track counts once, when its first event labels it
 * (no marker before it: plays or skips + 1, it becomes the last track, and its
 * expectation e:<track>, left by the module when it served the track,
 * moves into r and e); a Skip that turns a play into a skip moves the
 * count (p - 1, s + 1, r + 1) and the last outcome if it is still the
 * last track.  A missing or broken expectation makes r "unknown" for the
 * rest of the session, and e for this track.  A hash of another type, or
 * counts broken by hand, are left alone, as records are.
 */
#define SK_LUA_SESSION                                                      \
"local function sess(prefix, session, track, dp, ds, st, ttl)\n"           \
"  local k = prefix .. ':sess:' .. session\n"                              \
"  local h = redis.pcall('HMGET', k, 'p', 's', 'r', 'k')\n"                \
"  if h.err then return end\n"                                             \
"  local p, s = tonumber(h[1] or '0'), tonumber(h[2] or '0')\n"            \
"  if not p or not s or p < 0 or s < 0 then return end\n"                  \
"  local r = tonumber(h[3] or '0')\n"                                      \
"  if r and r ~= r then r = nil end\n"                                     \
"  if not st then\n"                                                       \
"    local ef = 'e:' .. track\n"                                           \
"    local e = redis.call('HGET', k, ef)\n"                                \
"    local ev = tonumber(e or '')\n"                                       \
"    if not ev or ev ~= ev or ev < 0 or ev > 1 then ev = nil end\n"        \
"    if r and ev then r = r + ds - ev else r = nil end\n"                  \
"    redis.call('HDEL', k, ef)\n"                                          \
"    redis.call('HSET', k, 'p', fmt(p + dp), 's', fmt(s + ds),\n"          \
"               'l', dp == 1 and '1' or '0', 'k', track,\n"               \
"               'r', r and fmt(r) or '" SK_SESS_UNKNOWN "',\n"            \
"               'e', ev and e or '" SK_SESS_UNKNOWN "')\n"                \
"  else\n"                                                                 \
"    if r then r = r + 1 end\n"                                            \
"    redis.call('HSET', k, 'p', fmt(math.max(p - 1, 0)), 's', fmt(s + 1),\n" \
"               'r', r and fmt(r) or '" SK_SESS_UNKNOWN "')\n"            \
"    if h[4] == track then redis.call('HSET', k, 'l', '0') end\n"          \
"  end\n"                                                                  \
"  redis.call('EXPIRE', k, ttl)\n"                                         \
"end\n"

const char sk_script_event[] =
"-- ngx_skip: apply one live play/skip event (store_scripts.h)\n"
SK_LUA_APPLY
SK_LUA_LABEL
SK_LUA_SESSION
"local prefix, user, track = ARGV[1], ARGV[2], ARGV[3]\n"
"local kind, ts, session = ARGV[4], ARGV[5], ARGV[6] or ''\n"
"if not (valid_id(prefix) and valid_id(user) and valid_id(track)) then\n"
"  return redis.error_reply('ERR skip: bad prefix, user or track id')\n"
"end\n"
"local problem = event_problem(kind, ts, session)\n"
"if problem then return problem end\n"
"local ttl = tonumber(ARGV[7] or '')\n"
"if not ttl or ttl <= 0 then ttl = 7200 end\n"
"local cap = tonumber(ARGV[8] or '') or 0\n"
"local hour = hour_of(ARGV[9])\n"
"local dp, ds, st = 0, 0, nil\n"
"if session == '' then\n"
"  if kind == 'play' then dp = 1 else ds = 1 end\n"
"else\n"
"  dp, ds, st = label(prefix .. ':open:' .. session .. ':' .. track, kind,\n"
"                     ttl)\n"
"end\n"
"local snap = redis.call('GET', KEYS[1])\n"
"if not valid_id(snap) then snap = '' end\n"
"if dp == 0 and ds == 0 then return {snap, 0, 0, 0, ''} end\n"
"local applied = 0\n"
"if snap ~= '' then\n"
"  applied = apply(prefix, snap, user, track, dp, ds, hour)\n"
"end\n"
"if applied == 1 and session ~= '' then\n"
"  sess(prefix, session, track, dp, ds, st, ttl)\n"
"end\n"
"local x = {'XADD', KEYS[2]}\n"
"if cap > 0 then\n"
"  x[#x + 1] = 'MAXLEN'; x[#x + 1] = '~'; x[#x + 1] = tostring(cap)\n"
"end\n"
"for _, v in ipairs({'*', 'ts', ts, 'u', user, 't', track, 'e', kind,\n"
"                    'dp', tostring(dp), 'ds', tostring(ds)}) do\n"
"  x[#x + 1] = v\n"
"end\n"
"if session ~= '' then x[#x + 1] = 's'; x[#x + 1] = session end\n"
"if hour then x[#x + 1] = 'h'; x[#x + 1] = tostring(hour) end\n"
"local id = redis.call(unpack(x))\n"
"return {snap, dp, ds, applied, id}\n";

const char sk_script_handover[] =
"-- ngx_skip: replay events into a snapshot, then activate it\n"
SK_LUA_APPLY
"local prefix, snap = ARGV[1], ARGV[2]\n"
"local limit = tonumber(ARGV[3] or '') or 0\n"
"local activate = ARGV[4] == '1'\n"
"local budget = tonumber(ARGV[5] or '') or 0\n"
"if not (valid_id(prefix) and valid_id(snap)) then\n"
"  return redis.error_reply('ERR skip: bad prefix or snapshot id')\n"
"end\n"
"local meta = KEYS[3]\n"
"local m = redis.call('HMGET', meta, 'state', 'as_of', 'replayed_to')\n"
"if m[1] ~= 'complete' then\n"
"  return redis.error_reply('ERR skip: snapshot ' .. snap .. ' is ' ..\n"
"                           (m[1] or 'missing') .. ', not complete')\n"
"end\n"
"local as_of = tonumber(m[2]) or 0\n"
"local cursor = m[3] or '0-0'\n"
"local prev = redis.call('GET', KEYS[1])\n"
"if not valid_id(prev) then prev = '' end\n"
"if prev == snap then return {0, 0, cursor, 0, prev} end\n"
"local function now_us()\n"
"  local t = redis.call('TIME')\n"
"  return tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
"end\n"
"local t0 = 0\n"
"if budget > 0 then t0 = now_us() end\n"
"local read, applied, more = 0, 0, 0\n"
"local stop = false\n"
"while not stop do\n"
"  local n = 1000\n"
"  if budget > 0 then n = 32 end\n"
"  if limit > 0 and limit - read < n then n = limit - read end\n"
"  if n <= 0 then break end\n"
"  local es = redis.call('XRANGE', KEYS[2], '(' .. cursor, '+', 'COUNT', n)\n"
"  for _, e in ipairs(es) do\n"
"    cursor = e[1]\n"
"    read = read + 1\n"
"    local f, kv = {}, e[2]\n"
"    for i = 1, #kv, 2 do f[kv[i]] = kv[i + 1] end\n"
"    local t = tonumber(f.ts)\n"
"    if t and t > as_of and valid_id(f.u) and valid_id(f.t) then\n"
"      local dp, ds = tonumber(f.dp) or 0, tonumber(f.ds) or 0\n"
"      if apply(prefix, snap, f.u, f.t, dp, ds, hour_of(f.h)) > 0 then\n"
"        applied = applied + 1\n"
"      end\n"
"    end\n"
"    if budget > 0 and now_us() - t0 >= budget then\n"
"      stop = true\n"
"      break\n"
"    end\n"
"  end\n"
"  if #es < n then break end\n"
"end\n"
"if #redis.call('XRANGE', KEYS[2], '(' .. cursor, '+', 'COUNT', 1) > 0\n"
"then\n"
"  more = 1\n"
"end\n"
"redis.call('HSET', meta, 'replayed_to', cursor)\n"
"if activate and more == 0 then\n"
"  if prev ~= '' then\n"
"    local pm = prefix .. ':' .. prev .. ':meta'\n"
"    if redis.call('EXISTS', pm) == 1 then\n"
"      local last = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', 1)\n"
"      local lid = '0-0'\n"
"      if #last > 0 then lid = last[1][1] end\n"
"      redis.call('HSET', pm, 'replayed_to', lid)\n"
"    end\n"
"  end\n"
"  redis.call('SET', KEYS[1], snap)\n"
"  redis.call('HSET', meta, 'activated', redis.call('TIME')[1])\n"
"end\n"
"return {read, applied, cursor, more, prev}\n";

const char sk_script_finish[] =
"-- ngx_skip: mark a loaded snapshot complete\n"
"local st = redis.call('HGET', KEYS[1], 'state')\n"
"if st ~= 'loading' then\n"
"  return redis.error_reply('ERR skip: snapshot state is ' ..\n"
"                           (st or 'missing') .. ', not loading')\n"
"end\n"
"redis.call('HSET', KEYS[1], 'state', 'complete', 'users', ARGV[1],\n"
"           'tracks', ARGV[2])\n"
"return 1\n";


/* ---- SHA1 (FIPS 180-1), enough for EVALSHA ---------------------------- */

#define ROL(v, n)  (((v) << (n)) | ((v) >> (32 - (n))))

static void
sha1_block(uint32_t h[5], const unsigned char *p)
{
    uint32_t w[80], a, b, c, d, e, f, k, tmp;
    int      i;

    for (i = 0; i < 16; i++) {
        w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16
               | (uint32_t) p[4 * i + 2] << 8 | (uint32_t) p[4 * i + 3];
    }
    for (i = 16; i < 80; i++) {
        w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
    }
    a = h[0]; b = h[1]; c = h[2]; d = h[3]; e = h[4];
    for (i = 0; i < 80; i++) {
        if (i < 20) {
            f = (b & c) | (~b & d);
            k = 0x5A827999;
        } else if (i < 40) {
            f = b ^ c ^ d;
            k = 0x6ED9EBA1;
        } else if (i < 60) {
            f = (b & c) | (b & d) | (c & d);
            k = 0x8F1BBCDC;
        } else {
            f = b ^ c ^ d;
            k = 0xCA62C1D6;
        }
        tmp = ROL(a, 5) + f + e + k + w[i];
        e = d; d = c; c = ROL(b, 30); b = a; a = tmp;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e;
}

void
sk_sha1_hex(const void *s, size_t len, char hex[41])
{
    static const char    digits[] = "0123456789abcdef";
    const unsigned char *p = s;
    unsigned char        tail[128];
    uint32_t             h[5] = { 0x67452301, 0xEFCDAB89, 0x98BADCFE,
                                  0x10325476, 0xC3D2E1F0 };
    uint64_t             bits = (uint64_t) len * 8;
    size_t               i, rest, tlen;

    for (i = 0; i + 64 <= len; i += 64) {
        sha1_block(h, p + i);
    }
    rest = len - i;
    memset(tail, 0, sizeof(tail));
    memcpy(tail, p + i, rest);
    tail[rest] = 0x80;
    tlen = rest + 1 + 8 <= 64 ? 64 : 128;
    for (i = 0; i < 8; i++) {
        tail[tlen - 1 - i] = (unsigned char) (bits >> (8 * i));
    }
    sha1_block(h, tail);
    if (tlen == 128) {
        sha1_block(h, tail + 64);
    }
    for (i = 0; i < 20; i++) {
        unsigned char byte = (unsigned char) (h[i / 4] >> (24 - 8 * (i % 4)));

        hex[2 * i] = digits[byte >> 4];
        hex[2 * i + 1] = digits[byte & 15];
    }
    hex[40] = '\0';
}

void
sk_script_sha1(const char *body, char hex[41])
{
    sk_sha1_hex(body, strlen(body), hex);
}

/* The shared Lua helpers alone, for the cluster applier's script
 * (store_scripts_cluster.c): the same add/meets/taste code. */
const char sk_script_lua_apply[] = SK_LUA_APPLY;
