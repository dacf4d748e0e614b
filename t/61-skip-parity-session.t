#!/usr/bin/perl
# Online equals offline for a model that reads the session context
# (docs/taste-features.md, "Session context"): a taste+session model
# trained on `skipctl gen --process v2`; listening sessions played through
# the module (each track requested with X-Session-Id, then its Play, and
# for some a Skip, posted to skip_events); the events script keeps the
# session's hash <prefix>:sess:<session> with the trainer's rules and the
# expectation the module left for each track; the module reads the hash in
# the records' pipeline, and its score equals `skipctl predict` given the
# same session values (and the dataset with the same events appended) to
# 1e-9.  The player's counts (skip_session_counts) win, also in the race
# where the last Skip reaches the module before Redis.  An unknown session
# scores as predict without one; bad ids, junk counts and broken hashes
# never fail a request and are logged at their levels.
use strict;
use warnings;

use Test::More;

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $N = $ENV{SKIP_PARITY_SESSIONS} || 45;
my $sk = $t->skipctl;
my $dir = $t->dir;

$t->start_redis;
my $data = "$dir/data";
system($sk, 'gen', '--out', $data, '--scale', '0.01', '--seed', '7',
       '--process', 'v2', '--quiet') == 0 or die 'skipctl gen failed';
system("$sk train --data $data --name tsess --features taste+session "
       . "--model-dir $dir/models --quiet >/dev/null") == 0
    or die 'skipctl train --features taste+session failed';
my $model = "$dir/models/tsess.model";
my (undef, $users, $tracks) = SkipModule::load_dataset($t, model => $model);

my $conf = SkipModule::user() . <<'EOF';
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model tsess %%TESTDIR%%/models/tsess.model;
    skip_record_cache off;      # records over the wire, counted below

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location = /skip/events {
            skip_events;
        }

        # the session as the player's CMCD names it (skipctl replay sends
        # CMCD-Session: sid="<session_id>", the events' own id)
        location ~ ^/cmcd/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            skip_hour $arg_hour;
            skip_session $skip_cmcd_sid;
            skip_redis_timeout 1s;

            add_header X-Skip-Exact $skip_score_exact always;
            add_header X-Skip-Source $skip_source always;
            root %%TESTDIR%%;
            try_files /x =404;
        }

        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            skip_hour $arg_hour;
            skip_session $http_x_session_id;
            skip_session_counts $http_x_session_plays $http_x_session_skips
                                $http_x_session_prev;
            skip_redis_timeout 1s;    # parity, not speed: never time out

            add_header X-Skip-Exact $skip_score_exact always;
            add_header X-Skip-Decision $skip_decision always;
            add_header X-Skip-Source $skip_source always;
            root %%TESTDIR%%;
            try_files /x =404;
        }
    }
}
EOF
$t->write_conf($conf);
$t->write_file('x', "x\n");
$t->start_nginx;

# ---- helpers ---------------------------------------------------------------

my $clock = 0;
sub event {
    my ($u, $tr, $type, $sid) = @_;
    my $s = $clock++;
    my $ts = sprintf('2024-02-08 %02d:%02d:%02d.000 +02:00:00',
                     9 + int($s / 3600), int($s / 60) % 60, $s % 60);
    my $line = qq({"timestamp":"$ts","user_id":$u,"track_id":"$tr",)
             . qq("event_type":"$type","session_id":$sid}\n);
    my $res = $t->http_post('/skip/events', $line,
                            'Content-Type' => 'application/x-ndjson');
    die "event: $res->{status} $res->{body}" unless $res->{status} == 200;
    # the dataset the offline side reads holds the same events
    open my $fh, '>>', "$data/sessions.jsonl" or die $!;
    print $fh $line;
    close $fh;
}

sub ask {
    my ($u, $tr, %h) = @_;
    return SkipModule::skipvars($t->http_get("/tracks/$tr?hour=9",
                                             'X-User-Id' => $u, %h));
}

# skipctl predict's JSON: (score, decision, session_expect)
sub predict {
    my ($u, $tr, @sess) = @_;
    my $j = `$sk predict --model $model --data $data --hour 9 --json @sess $u $tr 2>&1`;
    my ($s) = $j =~ /"score":\s*([-0-9.e]+)/;
    my ($d) = $j =~ /"decision":\s*"(\w+)"/;
    my ($e) = $j =~ /"session_expect":\s*([-0-9.e]+)/;
    diag("predict: $j") unless defined $s;
    return ($s, $d, $e);
}

sub skey { "skip:sess:$_[0]" }

# the expectation the module left for a track (sent without waiting)
sub expectation {
    my ($sid, $tr) = @_;
    for (1 .. 100) {
        my $v = $t->redis('HGET', skey($sid), "e:$tr");
        return $v if defined $v;
        select(undef, undef, undef, 0.01);
    }
    return undef;
}

sub hash {
    my ($sid) = @_;
    my $h = $t->redis('HMGET', skey($sid), qw(p s l r e));
    return @$h;
}

# predict's --session-* of the hash's fields (none yet: a first track)
sub sess_args {
    my ($p, $s, $l, $r, $e) = @_;
    return ('--session-plays', 0, '--session-skips', 0) unless defined $p;
    return ('--session-plays', $p, '--session-skips', $s, '--session-prev',
            $l ? 'play' : 'skip', '--session-resid', $r,
            '--session-prev-expect', $e);
}

# ---- sessions played through the module --------------------------------
# mode 0: the hash alone; 1: the player's counts too, agreeing; 2: the race
# (the last track's Skip reaches Redis after the next request, whose
# player counts say "skip")

srand(1717);
my ($same, $bad, $expect_ok, $hash_ok, $moved, $won, %modes) =
    (0, 0, 0, 0, 0, 0);
for my $i (0 .. $N - 1) {
    my $sid = 880000000 + $i;
    my $u = $users->[rand @$users];
    my $k = int(rand 5);
    my $mode = $i % 3;
    $k = 1 if $mode == 2 && $k == 0;
    my %seen;
    my @trs = grep { !$seen{$_}++ } map { $tracks->[rand @$tracks] } 0 .. $k;
    $k = $#trs;
    my $tc = pop @trs;

    # Perl's twin of the events script: p, s, l, r as the trainer counts
    my ($p, $s, $l, $r, $e, $fine) = (0, 0, undef, 0, undef, 1);
    my $pending_skip;
    for my $j (0 .. $#trs) {
        my $tr = $trs[$j];
        my %a = ask($u, $tr, 'X-Session-Id' => $sid);
        my $ej = expectation($sid, $tr);
        $fine = 0 unless defined $ej && ($a{source} // '') eq 'redis';
        event($u, $tr, 'Play', $sid);
        ($p, $l, $e) = ($p + 1, 1, $ej);
        $r = ($r + 0) - ($ej // 0);
        my $skip = ($mode == 2 && $j == $#trs) || rand() < 0.4;
        next unless $skip;
        if ($mode == 2 && $j == $#trs) {
            $pending_skip = $tr;
            next;
        }
        event($u, $tr, 'Skip', $sid);
        ($p, $s, $l, $r) = ($p - 1, $s + 1, 0, $r + 1);
    }

    my @h = hash($sid);
    if ($k > 0) {
        # (Perl's sum in the script's order: equal to a rounding at most)
        my $rok = defined $h[3] && abs($h[3] - $r) < 1e-12;
        $hash_ok++ if $fine && $h[0] == $p && $h[1] == $s && $h[2] == $l
                      && $rok && $h[4] eq $e;
        diag("session $sid: hash @{[map { $_ // '-' } @h]}, want $p $s $l "
             . sprintf('%.17g', $r) . " $e") unless $rok;
    } else {
        $hash_ok++ unless defined $h[0];
    }

    my (%hdr, @want);
    if ($mode == 0) {
        @want = sess_args($k ? @h : ());
    } elsif ($mode == 1) {
        %hdr = ('X-Session-Plays' => $h[0] // 0, 'X-Session-Skips' => $h[1] // 0,
                'X-Session-Prev' => !defined $h[2] ? 'none'
                                    : $h[2] ? 'play' : 'skip');
        @want = sess_args($k ? @h : ());
    } else {
        # the player knows the last track was skipped; Redis does not yet
        %hdr = ('X-Session-Plays' => $h[0] - 1, 'X-Session-Skips' => $h[1] + 1,
                'X-Session-Prev' => 'skip');
        @want = sess_args($h[0] - 1, $h[1] + 1, 0,
                          sprintf('%.17g', $h[3] + 1), $h[4]);
    }
    my %got = ask($u, $tc, 'X-Session-Id' => $sid, %hdr);
    my ($ws, $wd, $we) = predict($u, $tc, @want);
    # the context must matter: not the score of an unknown session, and
    # in the race not the score of the stale hash
    my ($wu) = predict($u, $tc);
    $moved++ if defined $got{exact} && abs($got{exact} - $wu) > 1e-6;
    if ($mode == 2) {
        my ($wst) = predict($u, $tc, sess_args(@h));
        $won++ if defined $got{exact} && abs($got{exact} - $wst) > 1e-6;
    }
    my $ec = expectation($sid, $tc);
    $expect_ok++ if defined $ec && defined $we && $ec eq $we;
    $modes{$mode}++;
    if (defined $ws && defined $got{exact} && abs($got{exact} - $ws) < 1e-9
        && $got{decision} eq $wd && $got{source} eq 'redis')
    {
        $same++;
    } elsif ($bad++ < 5) {
        diag("session $sid mode $mode track $tc: module "
             . ($got{exact} // '-') . " ($got{source}), skipctl "
             . ($ws // '-') . " with @want");
    }
    if ($pending_skip) {
        # the Skip arrives now: one more skip, one play fewer, resid + 1
        event($u, $pending_skip, 'Skip', $sid);
        my @after = hash($sid);
        # (the final track becomes the last one only with its own Play)
        $hash_ok++ if $after[0] == $h[0] - 1 && $after[1] == $h[1] + 1
                      && $after[2] == 0 && abs($after[3] - $h[3] - 1) < 1e-12;
    }
}
is($same, $N, "$N sessions (hash alone $modes{0}, player counts $modes{1}, "
   . "race $modes{2}): module score and decision equal skipctl predict");
ok($moved > $N * 0.8, "the session moved the score in $moved of $N "
   . '(a first track too: its session is known, "nothing before")');
is($won, $modes{2}, "the race: the player's counts won over the stale hash "
   . "in all $won");
is($expect_ok, $N, "the expectation the module leaves (e:<track>) is "
   . "predict's session_expect, digit for digit");
is($hash_ok, $N + $modes{2}, 'the events script keeps p, s, l, r, e as the '
   . "trainer counts them, with the module's expectations");

# ---- the session named by CMCD sid: the same hash, the same score --------
{
    my ($sid, $u, $tr) = (880000001, $users->[11], $tracks->[110]);
    my %x = ask($u, $tr, 'X-Session-Id' => $sid);
    my %c = SkipModule::skipvars($t->http_get("/cmcd/$tr?hour=9",
                                 'X-User-Id' => $u,
                                 'CMCD-Session' => qq(sid="$sid")));
    ok(defined $x{exact} && ($c{exact} // '') eq $x{exact}
       && $c{source} eq 'redis', 'skip_session $skip_cmcd_sid: the same '
       . "session, the same score ($x{exact})");
}

# ---- one request: what it asks Redis --------------------------------------
{
    my $sid = 880000998;
    my ($u, $tr, $tr2) = ($users->[3], $tracks->[30], $tracks->[31]);
    my @c0 = map { SkipModule::calls($t, $_) } qw(hmget hset expire);
    my %a = ask($u, $tr, 'X-Session-Id' => $sid);
    expectation($sid, $tr);
    my @c1 = map { SkipModule::calls($t, $_) } qw(hmget hset expire);
    is($c1[0] - $c0[0], 3, 'a session request: 3 HMGETs (user, track, '
       . 'session) in one pipeline');
    is(($c1[1] - $c0[1]) . ' ' . ($c1[2] - $c0[2]), '1 1', '... then the '
       . 'expectation, HSET + EXPIRE (a new session), not waited for');
    my $ttl = $t->redis('TTL', skey($sid));
    ok($ttl > 7000 && $ttl <= 7200, "... the hash expires like the open-play "
       . "markers: $ttl s");
    event($u, $tr, 'Play', $sid);
    $t->redis('EXPIRE', skey($sid), 5000);
    my @c2 = map { SkipModule::calls($t, $_) } qw(hset expire);
    ask($u, $tr2, 'X-Session-Id' => $sid);
    expectation($sid, $tr2);
    my @c3 = map { SkipModule::calls($t, $_) } qw(hset expire);
    $ttl = $t->redis('TTL', skey($sid));
    is(($c3[0] - $c2[0]) . ' ' . ($c3[1] - $c2[1]) . ' ' . ($ttl <= 5000 ? 'kept' : $ttl),
       '1 0 kept', 'a session with a labelled track: the HSET alone (the '
       . "events script keeps the TTL)");

    # what an operator sees: skipctl features get --session
    my %m = ask($u, $tr2, 'X-Session-Id' => $sid);
    my $out = `$sk features get --redis 127.0.0.1:$t->{redis_port} --model $model --hour 9 --session $sid $u $tr2`;
    like($out, qr/^session skip:sess:$sid\n  p\s+1\n  s\s+0\n  l\s+1\n.*status\s+ok: 1 played, 0 skipped, previous played/ms,
         'features get --session prints the hash as the module reads it');
    my ($fs) = $out =~ /^score (\S+)/m;
    is($fs, sprintf('%.4f', $m{exact}), "... and scores with it as the module "
       . "did ($fs)");
}

# ---- unknown sessions: as predict without one -------------------------
my ($uu, $tu) = ($users->[5], $tracks->[50]);
my ($wu) = predict($uu, $tu);
my %none = ask($uu, $tu);
ok(abs(($none{exact} // -1) - $wu) < 1e-9, "no session: predict without "
   . "--session-* ($wu)");
my $h0 = SkipModule::calls($t, 'hmget');
my %long = ask($uu, $tu, 'X-Session-Id' => 'x' x 65);
my %junk = ask($uu, $tu, 'X-Session-Id' => 'a b/c');
is("$long{source} $long{exact} $junk{source} $junk{exact}",
   "redis $none{exact} redis $none{exact}",
   'a session id too long, one with bad bytes: unknown, scored');
is(SkipModule::calls($t, 'hmget') - $h0, 4, '... and not looked up');
my $log = $t->read_file('error.log');
like($log, qr/\[info\].*skip_session: invalid session id "x{20,}.*" of 65 bytes/,
     '... logged at info (a client error), with its length');
like($log, qr/\[info\].*skip_session: invalid session id "a b\/c"/,
     '... and the junk');

# the player's counts without a session id: resid unknown (reads 0)
{
    my ($w) = predict($uu, $tu, qw(--session-plays 2 --session-skips 1
                                   --session-prev skip --session-resid unknown
                                   --session-prev-expect unknown));
    my %a = ask($uu, $tu, 'X-Session-Plays' => 2, 'X-Session-Skips' => 1,
                'X-Session-Prev' => 'skip');
    ok(abs(($a{exact} // -1) - $w) < 1e-9, 'player counts alone: predict '
       . 'with the residual unknown');
}

# junk counts: ignored, the hash alone (here a session with one play)
{
    my $sid = 880000999;
    my ($u, $tr1, $tr2) = ($users->[7], $tracks->[70], $tracks->[71]);
    ask($u, $tr1, 'X-Session-Id' => $sid);
    expectation($sid, $tr1);
    event($u, $tr1, 'Play', $sid);
    my @h = hash($sid);
    my ($w) = predict($u, $tr2, sess_args(@h));
    my %a = ask($u, $tr2, 'X-Session-Id' => $sid, 'X-Session-Plays' => 'three',
                'X-Session-Skips' => 0, 'X-Session-Prev' => 'play');
    ok(abs(($a{exact} // -1) - $w) < 1e-9, 'junk player counts: ignored, '
       . 'the hash alone');
    like($t->read_file('error.log'),
         qr/\[info\].*skip_session_counts: "three" "0" "play" are not plays/,
         '... logged at info');

    # a hash broken by hand: unknown, scored, a warning names it
    my ($wn) = predict($u, $tr2);
    $t->redis('HSET', skey($sid), 'p', 'x');
    my %m = ask($u, $tr2, 'X-Session-Id' => $sid);
    is("$m{source} " . (abs(($m{exact} // -1) - $wn) < 1e-9 ? 'unknown' : $m{exact}),
       'redis unknown', 'a malformed hash: scored with the session unknown');
    like($t->read_file('error.log'),
         qr/\[warn\].*malformed session skip:sess:$sid: field p "x" does not parse/,
         '... a warning names the key and the field');
    event($u, $tr2, 'Play', $sid);      # dies unless 200
    is($t->redis('HGET', skey($sid), 'p'), 'x', '... an event of that '
       . 'session still counts, and leaves the hash alone');
    ($wn) = predict($u, $tr2);          # the event moved the records

    $t->redis('DEL', skey($sid));
    $t->redis('SET', skey($sid), 'not a hash');
    select(undef, undef, undef, 1.1);     # lookup warnings: one a second
    my %w = ask($u, $tr2, 'X-Session-Id' => $sid);
    ok($w{source} eq 'redis' && abs(($w{exact} // -1) - $wn) < 1e-9,
       'a key of another type: scored with the session unknown');
    like($t->read_file('error.log'),
         qr/\[warn\].*Redis error to HMGET of the session: WRONGTYPE/,
         '... and a warning says so');
}

# ---- with the record cache: the session's HMGET goes alone ----------------
# (the records of a cached user and track need no round trip; the session's
# hash changes with every event and is never cached)
{
    $conf =~ s/skip_record_cache off;[^\n]*/skip_record_cache 4096 60s;/ or die;
    $t->write_conf($conf);
    $t->reload_nginx;
    select(undef, undef, undef, 0.5);
    my ($sid, $u, $tr) = (880000997, $users->[13], $tracks->[130]);
    ask($u, $tr, 'X-Session-Id' => 880000996);   # caches both records
    my $h0 = SkipModule::calls($t, 'hmget');
    my %c = ask($u, $tr, 'X-Session-Id' => $sid);
    my ($w) = predict($u, $tr, sess_args());
    is(SkipModule::calls($t, 'hmget') - $h0, 1, 'record cache: a cached '
       . "request sends the session's HMGET alone");
    ok($c{source} eq 'cache' && abs(($c{exact} // -1) - $w) < 1e-9,
       "... scores the cached records with it ($c{source}), equal to predict");
    ok(defined expectation($sid, $tr), '... and leaves the expectation');
}

my @problems = $t->log_problems;
is(scalar @problems, 0, 'no alerts or crashes') or diag(join "\n", @problems);

$t->stop;
done_testing();
