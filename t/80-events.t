#!/usr/bin/perl
# skip_events: play/skip events from listeners into the feature store.
# Real nginx + real redis-server (a generated dataset loaded with skipctl
# features load), and a TCP proxy in front of Redis that can swallow
# commands ("drop": Redis never sees them) or replies ("noreply": Redis
# applied them, nginx never hears back) to inject faults.
#
# Checked: single event and batch -> 200 and the counters move exactly as
# sk_script_event defines; a bad line -> 400 naming line and field, nothing
# applied; GET -> 405; body over client_max_body_size and batch over
# skip_events_max -> 413; bearer token; Redis down / not answering -> 503
# with Retry-After within the deadline; retries after 503 are applied
# exactly once (acknowledged events == counter deltas == journal entries);
# client abort while pending -> no crash, nothing above warn.
use strict;
use warnings;

use Test::More;
use IO::Select;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);
use Time::HiRes qw(time sleep);

use SkipTest;
use SkipModule;

plan skip_all => 'module not built' unless -f SkipTest->new->module;
# ngx_skip_module.c provides the worker's Redis connection to the handler
plan skip_all => 'skip_events not wired into ngx_skip_module.c yet'
    unless `nm -D ${\ SkipTest->new->module} 2>/dev/null`
           =~ /T ngx_http_skip_worker_redis/;

my $DEADLINE = 400;                             # skip_events_timeout, ms
my $MARGIN = $ENV{SKIP_SANITIZE} ? 400 : 250;   # ms

my $t = SkipTest->new;
my $rport = $t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t, scale => 0.002);

my $modefile = $t->dir . '/proxy.mode';
set_mode('pass');
my $pport = $t->run_daemon(proxy($rport, $modefile));

$t->write_conf(SkipModule::user() . <<"EOF");
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:$pport;
    skip_redis_connect_timeout 200ms;

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location = /skip/events {
            skip_events;
            skip_events_timeout ${DEADLINE}ms;
            client_max_body_size 64k;
            client_body_buffer_size 1k;
            allow 127.0.0.1;
            deny all;
        }

        location = /small/events {
            skip_events;
            skip_events_max 10;
        }

        location = /strict/events {
            skip_events;
            skip_events_max_skew 1s;
        }

        location = /metrics {
            skip_metrics;
        }

        location = /secret/events {
            skip_events;
            skip_events_token s3cret-token;
        }
    }
}
EOF
$t->start_nginx;

my $snap = SkipModule::snap_prefix($t);
my $user = $users->[0];
my @tr = @$tracks[0 .. 59];
my $session = 5_000_000;

sub set_mode {
    open my $fh, '>', "$modefile.tmp" or die $!;
    print $fh $_[0];
    close $fh;
    rename "$modefile.tmp", $modefile or die $!;
}

sub counters {
    my ($key) = @_;
    return (($t->redis('HGET', $key, 'plays') // 0) + 0,
            ($t->redis('HGET', $key, 'skips') // 0) + 0);
}

sub xlen { $t->redis('XLEN', 'skip:events') + 0 }

sub ev {
    my ($u, $track, $type, $s) = @_;
    return qq({"timestamp":"2024-02-08 09:52:40.925 +02:00:00","user_id":$u,)
         . qq("track_id":"$track","event_type":"$type","session_id":$s}\n);
}

sub post {
    my ($body, %h) = @_;
    my $path = delete $h{path} // '/skip/events';
    return $t->http_post($path, $body,
                         'Content-Type' => 'application/x-ndjson', %h);
}

# ---- one event, then a batch ----------------------------------------------

my @u0 = counters("$snap:u:$user");
my @t0 = counters("$snap:t:$tr[0]");
my $x0 = xlen();

my $res = post(ev($user, $tr[0], 'Play', ++$session));
is($res->{status}, 200, 'single Play: 200');
like($res->{body}, qr/"accepted":1,"applied":1,"ignored":0/, 'single Play: body');
is_deeply([counters("$snap:u:$user")], [$u0[0] + 1, $u0[1]], 'user plays +1');
is_deeply([counters("$snap:t:$tr[0]")], [$t0[0] + 1, $t0[1]], 'track plays +1');

# the same listen skipped later: the play becomes a skip (script rule)
$res = post(ev($user, $tr[0], 'skip', $session));
is($res->{status}, 200, 'Skip after Play: 200');
is_deeply([counters("$snap:u:$user")], [$u0[0], $u0[1] + 1],
          'Skip after Play: plays -1, skips +1');
# and a repeat changes nothing (not even the journal)
$res = post(ev($user, $tr[0], 'Skip', $session));
like($res->{body}, qr/"accepted":1,"applied":0/, 'repeat: accepted, not applied');
is_deeply([counters("$snap:u:$user")], [$u0[0], $u0[1] + 1], 'repeat: no change');
is(xlen(), $x0 + 2, 'journal: two entries');

@u0 = counters("$snap:u:$user");
$x0 = xlen();
my $batch = '';
my ($np, $ns) = (0, 0);
for my $i (1 .. 10) {
    my $type = $i % 3 ? 'Play' : 'Skip';
    $type eq 'Play' ? $np++ : $ns++;
    $batch .= ev($user, $tr[$i], $type, ++$session);
}
$batch .= ev($user, $tr[11], 'Like', ++$session);
$res = post($batch);
is($res->{status}, 200, 'batch: 200');
like($res->{body}, qr/"accepted":11,"applied":10,"ignored":1/, 'batch: body');
is_deeply([counters("$snap:u:$user")], [$u0[0] + $np, $u0[1] + $ns],
          "batch: user plays +$np, skips +$ns");
is(xlen(), $x0 + 10, 'batch: 10 journal entries (Like not stored)');

# an unknown user: accepted and journaled, no record created
$res = post(ev(987654321, $tr[0], 'Play', ++$session));
like($res->{body}, qr/"accepted":1,"applied":0/, 'unknown user: journaled only');
is($t->redis('EXISTS', "$snap:u:987654321"), 0, 'unknown user: no record');

# ---- bad lines: 400, nothing applied ------------------------------------------

@u0 = counters("$snap:u:$user");
$x0 = xlen();
$batch = ev($user, $tr[20], 'Play', ++$session)
       . ev($user, $tr[21], 'Play', ++$session)
       . qq({"timestamp":"2024-02-08 09:52:40","user_id":null,"track_id":"$tr[22]","event_type":"Play","session_id":1}\n)
       . ev($user, $tr[23], 'Advertisement', ++$session)
       . "not json\n";
$res = post($batch);
is($res->{status}, 400, 'bad lines: 400');
like($res->{headers}{'content-type'}, qr{application/json}, 'bad lines: JSON');
like($res->{body}, qr/"rejected":3/, 'bad lines: 3 rejected');
like($res->{body}, qr/\{"line":3,"field":"user_id","reason":"null key field user_id"\}/,
     'bad lines: line 3 user_id named');
like($res->{body}, qr/\{"line":4,"field":"event_type"/, 'bad lines: line 4 event_type');
like($res->{body}, qr/\{"line":5,"field":null,"reason":"invalid JSON/, 'bad lines: line 5 JSON');
is_deeply([counters("$snap:u:$user")], \@u0, 'bad batch: nothing applied');
is(xlen(), $x0, 'bad batch: nothing journaled');

# ---- poison and future-dated events ------------------------------------------
#
# The one event rule (src/core/event_rule.h) decides up front what the store
# script would refuse: an event before 1970 (a device with an unset clock at
# UTC+2) used to pass here, be refused by the script after the batch's valid
# events were stored, and get 503 "send again" forever.  Now: 400 naming the
# line and field, nothing of the batch written, the same answer every time.

sub ev_at {
    my ($u, $track, $type, $s, $stamp) = @_;
    return qq({"timestamp":"$stamp","user_id":$u,)
         . qq("track_id":"$track","event_type":"$type","session_id":$s}\n);
}

sub stamp {                     # unix seconds -> the dataset's literal, UTC
    my @g = gmtime($_[0]);
    return sprintf('%04d-%02d-%02d %02d:%02d:%02d.000 +00:00:00',
                   $g[5] + 1900, $g[4] + 1, @g[3, 2, 1, 0]);
}

sub events_metric {
    my ($result) = @_;
    my $m = $t->http_get('/metrics')->{body} // '';
    return $m =~ /^skip_events_total\{result="\Q$result\E"\} (\d+)$/m ? $1 : -1;
}

@u0 = counters("$snap:u:$user");
$x0 = xlen();
$batch = ev($user, $tr[24], 'Play', ++$session)
       . ev_at($user, $tr[25], 'Play', ++$session,
               '1970-01-01 00:00:00.000 +02:00:00')
       . ev($user, $tr[26], 'Skip', ++$session);
for my $try (1 .. 3) {
    $res = post($batch);
    is($res->{status}, 400, "event before 1970: 400, not 503 (try $try)");
}
like($res->{body}, qr/\{"line":2,"field":"timestamp","reason":"[^"]*before 1970/,
     'before 1970: line 2, field timestamp named');
is_deeply([counters("$snap:u:$user")], \@u0, 'before 1970: nothing of the batch applied');
is(xlen(), $x0, 'before 1970: nothing journaled');

# one hour ahead of the server clock: beyond skip_events_max_skew (10m)
my $rej0 = events_metric('future');
$batch = ev($user, $tr[27], 'Play', ++$session)
       . ev_at($user, $tr[28], 'Play', ++$session, stamp(time + 3600));
$res = post($batch);
is($res->{status}, 400, 'an hour in the future: 400');
like($res->{body}, qr/\{"line":2,"field":"timestamp","reason":"[^"]*ahead of the server clock/,
     'future: line 2, field timestamp, says ahead of the clock');
is(events_metric('future'), $rej0 + 1, 'future: counted in skip_events_total{result="future"}');
$res = post(ev_at($user, $tr[28], 'Play', ++$session,
                  '9999-12-31 23:59:59.999 +00:00:00'));
is($res->{status}, 400, 'year 9999: 400');
is_deeply([counters("$snap:u:$user")], \@u0, 'future: nothing applied');
is(xlen(), $x0, 'future: nothing journaled');

# within the skew (a fast device clock): accepted
$res = post(ev_at($user, $tr[29], 'Play', ++$session, stamp(time + 60)));
is($res->{status}, 200, 'a minute ahead: within the skew, 200');
$res = post(ev_at($user, $tr[29], 'Play', ++$session, stamp(time + 60)),
            path => '/strict/events');
is($res->{status}, 400, 'skip_events_max_skew 1s: a minute ahead is refused');
@u0 = counters("$snap:u:$user");
$x0 = xlen();

$res = post(ev($user, 'short', 'Play', 1));
like($res->{body}, qr/"field":"track_id"/, 'bad track id: field named');
$res = post(qq({"timestamp":"yesterday","user_id":1,"track_id":"$tr[0]","event_type":"Play","session_id":1}));
like($res->{body}, qr/"line":1,"field":"timestamp"/, 'bad timestamp: field named');
$res = post('');
is($res->{status}, 400, 'empty body: 400');

# ---- method, size, token ---------------------------------------------------------

$res = $t->http_get('/skip/events');
is($res->{status}, 405, 'GET: 405');
is($res->{headers}{allow}, 'POST', 'GET: Allow: POST');

$res = post(ev($user, $tr[0], 'Play', 1) x 1000);          # ~150 kB
is($res->{status}, 413, 'body over client_max_body_size: 413');

$batch = join '', map { ev($user, $tr[$_], 'Play', ++$session) } 1 .. 11;
$res = post($batch, path => '/small/events');
is($res->{status}, 413, 'batch over skip_events_max: 413');
like($res->{body}, qr/"max":10/, '413 names the limit');
is_deeply([counters("$snap:u:$user")], \@u0, 'over the limit: nothing applied');
$res = post(join('', map { ev($user, $tr[$_], 'Like', ++$session) } 1 .. 10),
            path => '/small/events');
is($res->{status}, 200, 'exactly skip_events_max: 200');

# a body over client_body_buffer_size (1k) goes through a temp file
@u0 = counters("$snap:u:$user");
$batch = join '', map { ev($user, $tr[$_], 'Play', ++$session) } 30 .. 49;
$res = post($batch);
like($res->{body}, qr/"accepted":20,"applied":20/, 'body from a temp file: 20 applied');
is_deeply([counters("$snap:u:$user")], [$u0[0] + 20, $u0[1]], 'temp file body: plays +20');

$res = post(ev($user, $tr[0], 'Like', 1), path => '/secret/events');
is($res->{status}, 401, 'token: none -> 401');
like($res->{headers}{'www-authenticate'} // '', qr/^Bearer/, 'token: WWW-Authenticate');
$res = post(ev($user, $tr[0], 'Like', 1), path => '/secret/events',
            Authorization => 'Bearer s3cret-tokeN');
is($res->{status}, 401, 'token: wrong -> 401');
$res = post(ev($user, $tr[0], 'Like', 1), path => '/secret/events',
            Authorization => 'Bearer s3cret-token');
is($res->{status}, 200, 'token: right -> 200');

# ---- Redis trouble: 503 + Retry-After within the deadline --------------------------

for my $mode (qw(drop noreply)) {
    set_mode($mode);
    my $t0 = time;
    $res = post(ev($user, $tr[0], 'Like', 1) . ev($user, $tr[50], 'Play', ++$session));
    my $ms = (time - $t0) * 1000;
    is($res->{status}, 503, "$mode: 503");
    is($res->{headers}{'retry-after'}, '1', "$mode: Retry-After: 1");
    ok($ms < $DEADLINE + $MARGIN, sprintf("$mode: answered in %.0f ms", $ms));
    set_mode('pass');
    sleep 0.5;
    ok(retry(ev($user, $tr[50], 'Play', $session)), "$mode: retry accepted");
}

# ---- no acknowledged event lost, none counted twice ------------------------------
#
# 30 batches of 5 Plays/Skips on fresh sessions while the proxy flips between
# pass, drop and noreply; the client retries each batch until it gets 200.
# Every event is acknowledged once, and the counters and the journal moved
# by exactly the acknowledged events.

@u0 = counters("$snap:u:$user");
$x0 = xlen();
my ($acked_p, $acked_s, $n503, $lost) = (0, 0, 0, 0);
my @modes = qw(pass pass drop pass noreply pass);
for my $b (1 .. 30) {
    my ($body, $p, $s) = ('', 0, 0);
    for my $i (1 .. 5) {
        my $type = ($b + $i) % 4 ? 'Play' : 'Skip';
        $type eq 'Play' ? $p++ : $s++;
        $body .= ev($user, $tr[$b + $i], $type, ++$session);
    }
    set_mode($modes[$b % @modes]);
    my $r = post($body);
    if ($r->{status} == 503) {
        $n503++;
        set_mode('pass');
        sleep 0.3;
        $r = retry($body) ? { status => 200 } : { status => 0 };
    }
    if ($r->{status} == 200) {
        $acked_p += $p;
        $acked_s += $s;
    } else {
        $lost++;
    }
}
set_mode('pass');
ok($n503 >= 8, "faults: $n503 batches got 503 first");
is($lost, 0, 'faults: every batch acknowledged in the end');
is_deeply([counters("$snap:u:$user")], [$u0[0] + $acked_p, $u0[1] + $acked_s],
          "faults: counters moved by exactly the acknowledged events "
          . "(+$acked_p plays, +$acked_s skips)");
is(xlen(), $x0 + $acked_p + $acked_s, 'faults: one journal entry per event');

# ---- NOSCRIPT: Redis lost its script cache -----------------------------------------

$t->redis('SCRIPT', 'FLUSH');
my $evals = SkipModule::calls($t, 'eval');
@u0 = counters("$snap:u:$user");
$batch = join '', map { ev($user, $tr[$_], 'Play', ++$session) } 1 .. 5;
$res = post($batch);
like($res->{body}, qr/"accepted":5,"applied":5/, 'after SCRIPT FLUSH: EVAL fallback');
is_deeply([counters("$snap:u:$user")], [$u0[0] + 5, $u0[1]], 'NOSCRIPT: each event once');
is(SkipModule::calls($t, 'eval') - $evals, 1, 'NOSCRIPT: one EVAL, the rest EVALSHA');

# ---- client abort while pending ------------------------------------------------------

set_mode('drop');
for my $rst (0, 1) {
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port(8080))
        or die;
    my $body = ev($user, $tr[1], 'Play', ++$session);
    print $s "POST /skip/events HTTP/1.1\r\nHost: x\r\nContent-Length: "
           . length($body) . "\r\n\r\n$body";
    sleep 0.1;
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0)) if $rst;
    close $s;
}
sleep(($DEADLINE + 200) / 1000);
set_mode('pass');
sleep 0.5;
ok(retry(ev($user, $tr[2], 'Like', 1)), 'after client aborts: still serving');

# ---- Redis not running at all -------------------------------------------------------

$t->stop_daemons;                       # the proxy: connection refused now
sleep 0.3;
my $t1 = time;
$res = post(ev($user, $tr[3], 'Play', ++$session));
is($res->{status}, 503, 'Redis down: 503');
like($res->{body}, qr/"error":"Redis/, 'Redis down: JSON body says why');
ok((time - $t1) * 1000 < $MARGIN, 'Redis down: answered at once');

$t->stop_nginx;
# (nginx's own 413 message for the oversized body is expected)
my @e = grep { /\[(error|crit|alert|emerg)\]/ && !/too large body/ }
        split /\n/, $t->read_file('error.log');
ok(!@e, 'nothing above warn in error.log') or diag(join "\n", @e[0 .. 4]);
is(join("\n", $t->log_problems), '', 'no crash, alert or sanitizer report');

done_testing;

# POST until 200 (the replay client's loop, without Retry-After's full second).
sub retry {
    my ($body) = @_;
    for (1 .. 40) {
        my $r = post($body);
        return 1 if $r->{status} == 200;
        return 0 unless $r->{status} == 503;
        sleep 0.25;
    }
    return 0;
}

# A TCP proxy to Redis; the mode file says what passes: "pass" everything,
# "drop" swallows commands (Redis never runs them), "noreply" swallows the
# replies (Redis ran them; the client never hears).
sub proxy {
    my ($upstream, $file) = @_;
    return sub {
        my ($ls) = @_;
        my $sel = IO::Select->new($ls);
        my %peer;
        for (;;) {
            for my $s ($sel->can_read(1)) {
                if ($s == $ls) {
                    my $c = $ls->accept or next;
                    my $r = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$upstream");
                    if (!$r) { close $c; next }
                    $peer{$c} = [$r, 'cmd'];
                    $peer{$r} = [$c, 'reply'];
                    $sel->add($c, $r);
                    next;
                }
                my $p = $peer{$s} or next;
                my ($o, $dir) = @$p;
                my $n = sysread($s, my $buf, 65536);
                if (!$n) {
                    $sel->remove($s, $o);
                    delete @peer{$s, $o};
                    close $s;
                    close $o;
                    next;
                }
                open my $fh, '<', $file;
                my $mode = <$fh> // 'pass';
                close $fh;
                next if $mode eq 'drop' && $dir eq 'cmd';
                next if $mode eq 'noreply' && $dir eq 'reply';
                syswrite($o, $buf);
            }
        }
    };
}
