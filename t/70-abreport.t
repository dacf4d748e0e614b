#!/usr/bin/perl
# skipctl abreport on a small hand-made access log and events file: the
# join (window, one listen per prediction, repeats), per-arm counts and
# rates, the two-proportion test, tolerance of bad lines, --json, --html
# and the exit codes.  No nginx needed: the log is written by hand in the
# format conf/nginx-skip.conf's log_format produces.
use strict;
use warnings;
use Test::More;
use SkipTest;

my $t = SkipTest->new;
my $skipctl = $t->skipctl;

my ($A, $B, $C) = ('A' x 22, 'B' x 22, 'C' x 22);
my $T0 = 1700000000;      # 2023-11-14T22:13:20Z

sub iso {                 # seconds after T0 -> ISO 8601 UTC with millis
    my ($s) = @_;
    my @g = gmtime($T0 + int $s);
    return sprintf('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', $g[5] + 1900,
                   $g[4] + 1, $g[3], $g[2], $g[1], $g[0],
                   int(($s - int $s) * 1000 + 0.5));
}

sub logline {
    my (%f) = @_;
    my $time = sprintf('%.3f', $T0 + delete $f{t});
    return '{"time":"' . $time . '",'
         . join(',', map { qq("$_":"$f{$_}") } sort keys %f) . "}\n";
}

my $log = '';
# arm full
$log .= logline(t => 0,  user => 101, track => $A, arm => 'full',
                decision => 'play', score => '0.81', source => 'redis',
                cache => 'MISS', status => 200);
$log .= logline(t => 10, user => 101, track => $B, arm => 'full',
                decision => 'skip', score => '0.20', source => 'redis',
                cache => 'BYPASS', status => 200);
$log .= logline(t => 20, user => 102, track => '', uri => "/tracks/$A",
                arm => 'full', decision => 'play', source => 'redis',
                cache => 'HIT', status => 200);
$log .= logline(t => 30, user => 102, track => $C, arm => 'full',
                decision => 'skip', source => 'fallback', status => 200);
# arm seed
$log .= logline(t => 0,  user => 103, track => $A, arm => 'seed',
                decision => 'play', source => 'redis', status => 200);
$log .= logline(t => 40, user => 103, track => $A, arm => 'seed',
                decision => 'play', source => 'redis', status => 200);
$log .= logline(t => 50, user => 103, track => $B, arm => 'seed',
                decision => 'skip', source => 'redis', status => 200);
# no arm: the model name stands in
$log .= logline(t => 60, user => 101, track => $C, arm => '',
                model => 'seed@3', decision => 'skip', source => 'redis',
                status => 200);
# lines that name no track: an events POST, a metrics scrape
$log .= logline(t => 61, user => '', track => '', uri => '/skip/events',
                decision => '', status => 204);
$log .= logline(t => 62, user => '', track => '', uri => '/metrics',
                decision => '', status => 200);
# unusable lines
my $good_log = $log;
$log .= "this is not json\n";
$log .= qq({"time":"yesterday","user":"101","track":"$A"}\n);
$t->write_file('access.jsonl', $log);
$t->write_file('good.jsonl', $good_log);

my $ev = '';
sub event {
    my ($s, $user, $track, $type, $session) = @_;
    return qq({"timestamp":") . iso($s) . qq(","user_id":$user,)
         . qq("track_id":"$track","event_type":"$type","session_id":$session}\n);
}
$ev .= event(0.5,  101, $A, 'Play', 1);    # full #1: play/play
$ev .= event(10.2, 101, $B, 'Play', 1);    # full #2: Play then Skip
$ev .= event(100,  101, $B, 'Skip', 1);    #          -> skipped
$ev .= event(20.3, 102, $A, 'skip', 2);    # full #3: one outcome event
$ev .= event(1,    103, $A, 'Play', 3);    # seed #5
$ev .= event(41,   103, $A, 'PLAY', 4);    # seed #6: the repeat
$ev .= event(2000, 103, $B, 'Play', 4);    # seed #7: beyond +900 s
$ev .= event(50,   101, $C, 'Like', 5);    # ignored
$ev .= qq(["2023-11-14 22:14:21.000 +00:00:00",101,"$C","Skip",5]\n);  # v1 row
$ev .= qq({"timestamp":"2023-11-14T22:14:21Z","user_id":null,"track_id":"$C","event_type":"Play","session_id":5}\n);
$t->write_file('events.jsonl', $ev);

my $dir = $t->dir;
sub run {
    my ($args) = @_;
    my $out = `$skipctl abreport $args 2>$dir/stderr`;
    return ($? >> 8, $out, $t->read_file('stderr'));
}

# --- help and usage -------------------------------------------------------
my ($rc, $out, $err) = run('--help');
is($rc, 0, '--help exits 0');
like($out, qr/THE JOIN.*EXIT STATUS/s, '--help documents the join and exit codes');
($rc, $out, $err) = run("--log $dir/access.jsonl");
is($rc, 2, 'missing --events is a usage error');
like($err, qr/--log and --events are required/, 'and says so');
($rc) = run("--log $dir/access.jsonl --events $dir/events.jsonl --window-after soon");
is($rc, 2, 'bad --window-after is a usage error');
($rc, $out, $err) = run("--log $dir/nope.jsonl --events $dir/events.jsonl");
is($rc, 1, 'missing log file: exit 1');
like($err, qr{nope\.jsonl: No such file}, 'names the file');

# --- text report ----------------------------------------------------------
($rc, $out, $err) = run("--log $dir/access.jsonl --events $dir/events.jsonl");
is($rc, 0, 'report exits 0') or diag($err);
like($err, qr{access\.jsonl:\d+: invalid JSON}, 'bad JSON line reported with file:line');
like($err, qr{access\.jsonl:12: field 'time': not a timestamp}, 'bad time names the field');
like($out, qr/^full\s+4\s+4\s+3\s+1\s+0\.6667 \[/m, 'full: 4 requests, 4 predicted, 3 joined, 1 hit, accuracy 2/3');
like($out, qr/^seed\s+4\s+4\s+3\s+0\s+1\.0000 \[/m, 'seed: 4/4/3 (model name as arm), accuracy 3/3');
like($out, qr/^full\s+play\s+0\.5000 \[0\.0945, 0\.9055\] 1\.0000 \[0\.2065, 1\.0000\]\s+1$/m,
     'full: precision/recall of play with Wilson CIs');
like($out, qr/^full\s+skip\s+1\.0000 \[0\.2065, 1\.0000\] 0\.5000 \[0\.0945, 0\.9055\]\s+2$/m,
     'full: precision/recall of skip');
like($out, qr/^full - seed: -0\.3333 .*p = 0\.273/m, 'two-proportion test of the accuracy difference');
like($out, qr/2 of 3 Play\/Skip|listens/, 'events summary line');

# --- JSON ------------------------------------------------------------------
($rc, $out) = run("--log $dir/access.jsonl --events $dir/events.jsonl --json --quiet");
is($rc, 0, '--json exits 0');
like($out, qr/^\{.*\}\s*$/s, 'one JSON object');
like($out, qr/"arm":"full","requests":4,"predicted":4,"joined":3,"unjoined":1,"cache_hits":1,"fallback":1/,
     'full arm counts in JSON');
like($out, qr/"confusion":\{"play_play":1,"play_skip":1,"skip_play":0,"skip_skip":1\}/,
     'full confusion matrix');
like($out, qr/"arm":"seed".*"confusion":\{"play_play":2,"play_skip":0,"skip_play":0,"skip_skip":1\}/,
     'seed confusion: the repeat play joined its own listen, the late one not');
like($out, qr/"join":\{"before_s":60,"after_s":900,"predictions":8,"joined":6\}/, 'join totals');
like($out, qr/"a":"full","b":"seed","metric":"accuracy","diff":-0\.333333,.*"p_value":0\.2733/,
     'test in JSON');
if (eval { require JSON::PP; 1 }) {
    my $j = eval { JSON::PP::decode_json($out) };
    ok($j, 'JSON parses') or diag($@);
    is($j->{arms}[1]{accuracy}{n}, 3, 'seed accuracy n = 3') if $j;
}

# --- window and source filter ---------------------------------------------
($rc, $out) = run("--log $dir/access.jsonl --events $dir/events.jsonl --json --quiet --window-after 3000");
like($out, qr/"arm":"seed".*"confusion":\{"play_play":2,"play_skip":0,"skip_play":1,"skip_skip":1\}/,
     'a wider window joins the late listen (skip predicted, played)');
($rc, $out) = run("--log $dir/access.jsonl --events $dir/events.jsonl --json --quiet --source redis");
like($out, qr/"arm":"full","requests":4,"predicted":3,"joined":3/, '--source redis drops the fallback decision');
($rc, $out) = run("--log $dir/access.jsonl --events $dir/events.jsonl --json --quiet --window-before 0 --window-after 0.1");
like($out, qr/"joined":0\b/, 'a tiny window joins nothing...');
is($rc, 1, '... and that is exit 1');

# --- strict ----------------------------------------------------------------
($rc, $out, $err) = run("--log $dir/access.jsonl --events $dir/events.jsonl --strict");
is($rc, 1, '--strict: a bad log line is fatal');
like($err, qr{access\.jsonl:11: invalid JSON}, 'names file and line');
($rc, $out, $err) = run("--log $dir/good.jsonl --events $dir/events.jsonl --strict");
is($rc, 1, '--strict: the event with a null user_id is fatal');
like($err, qr{events\.jsonl:10}, 'names the events line');

# --- HTML --------------------------------------------------------------------
($rc) = run("--log $dir/access.jsonl --events $dir/events.jsonl --html $dir/ab.html --quiet");
is($rc, 0, '--html exits 0');
my $html = $t->read_file('ab.html');
like($html, qr/<svg[^>]*>.*<\/svg>/s, 'inline SVG chart');
like($html, qr/<rect [^>]*><title>full accuracy: 0\.6667 \[0\.2077, 0\.9385\], 2\/3<\/title>/,
     'bar with its CI in a tooltip');
like($html, qr/<path d="M[\d.]+ [\d.]+V/, 'CI whiskers drawn');
unlike($html, qr/(?:src|href)="https?:/, 'no network resources');
($rc, $out, $err) = run("--log $dir/access.jsonl --events $dir/events.jsonl --html /nonexistent/x.html --quiet");
is($rc, 1, 'unwritable --html: exit 1');

# --- stdin ------------------------------------------------------------------
$out = `$skipctl abreport --log - --events $dir/events.jsonl --quiet < $dir/good.jsonl 2>/dev/null`;
is($? >> 8, 0, '--log - reads stdin');
like($out, qr/^full\s+4\s+4\s+3/m, 'same figures from stdin');

done_testing;
