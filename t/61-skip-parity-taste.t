#!/usr/bin/perl
# Online equals offline for a model that reads the listener's taste
# (docs/taste-features.md): `skipctl features load` writes each listener's
# genre and hour counts as <snap>:ut:<user>, the module fetches that value
# with GET in the same pipelined round trip as the two records, and
# its score equals `skipctl predict` (which counts the same plays of the
# dataset) to 1e-9 on many (user, track, hour, position) cases.  Then what
# must never fail a request: a missing and a malformed taste; then live
# events.
use strict;
use warnings;

use POSIX qw(:sys_wait_h);
use Test::More;

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $N = $ENV{SKIP_PARITY_PAIRS} || 200;
my $sk = $t->skipctl;
my $dir = $t->dir;

$t->start_redis;
my $data = "$dir/data";
system($sk, 'gen', '--out', $data, '--scale', '0.01', '--seed', '7',
       '--quiet') == 0 or die 'skipctl gen failed';
system("$sk train --data $data --name taste --features taste "
       . "--model-dir $dir/models --quiet >/dev/null") == 0
    or die 'skipctl train --features taste failed';
my $model = "$dir/models/taste.model";
my (undef, $users, $tracks) = SkipModule::load_dataset($t, model => $model);

my $pfx = SkipModule::snap_prefix($t);
my $keys = $t->redis('KEYS', "$pfx:ut:*");
my @ut = ref $keys ? @$keys : ();
ok(@ut > 0 && @ut <= @$users,
   scalar(@ut) . ' taste keys for ' . scalar(@$users) . ' users');
sub taste_of { map { split /=/ } split /,/, ($t->redis('GET', $_[0]) // '') }
my %h = taste_of($ut[0]);
ok(%h && !(grep { !/^(g[1-9]?\d|h(?:[01]\d|2[0-3]))$/ } keys %h)
   && !(grep { !/^\d+:\d+$/ || $_ eq '0:0' } values %h),
   'entries g<i> / h<hh> = plays:skips, only where there is history: '
   . join(' ', map { "$_=$h{$_}" } (sort keys %h)[0 .. 3]));

my $out = `$sk features get --redis 127.0.0.1:$t->{redis_port} --model $model --hour 9 $users->[0] $tracks->[0]`;
like($out, qr/^taste \Q$pfx\E:ut:\Q$users->[0]\E\n  (\d+ entries: |\(none: no history\))/m,
     'features get shows the taste');
like($out, qr/^\s+\d+\s+taste_genre_delta\s/m,
     '... and the taste features of the model');

my $conf = SkipModule::user() . <<'EOF';
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model taste %%TESTDIR%%/models/taste.model;
    skip_record_cache off;      # every case over the wire, counted below

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location = /skip/events {
            skip_events;
        }

        location = /recommend {
            skip_api;
        }

        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            skip_hour $arg_hour;
            skip_position $arg_pos;
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

srand(17);
my @pairs = map {
    [ $users->[rand @$users], $tracks->[rand @$tracks],
      rand() < 0.1 ? -1 : int(rand 24), rand() < 0.2 ? -1 : int(rand 60) ]
} 1 .. $N;

# skipctl predict, 2 at a time (the machine is shared)
my @queue = (0 .. $#pairs);
my %running;
while (@queue || %running) {
    while (@queue && keys %running < 2) {
        my $i = shift @queue;
        my ($u, $tr, $h, $p) = @{ $pairs[$i] };
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            exec "$sk predict --model $model --data $data --hour $h "
               . ($p < 0 ? '' : "--position $p ")
               . "--json $u $tr > $dir/p$i.json 2>&1";
        }
        $running{$pid} = $i;
    }
    my $pid = waitpid(-1, 0);
    delete $running{$pid};
}

sub ask {
    my ($u, $tr, $h, $p) = @_;
    my $q = ($h < 0 ? '' : "hour=$h") . ($p < 0 ? '' : "&pos=$p");
    return SkipModule::skipvars($t->http_get("/tracks/$tr?$q",
                                             'X-User-Id' => $u));
}

my $get0 = SkipModule::calls($t, 'get');
my ($same, $bad, %sources) = (0, 0);
for my $i (0 .. $#pairs) {
    my ($u, $tr, $h, $p) = @{ $pairs[$i] };
    my $j = $t->read_file("p$i.json");
    my ($ws) = $j =~ /"score":\s*([-0-9.e]+)/;
    my ($wd) = $j =~ /"decision":\s*"(\w+)"/;
    my %s = ask($u, $tr, $h, $p);
    $sources{ $s{source} // '-' }++;
    if (defined $ws && defined $s{exact} && abs($s{exact} - $ws) < 1e-9
        && $s{decision} eq $wd)
    {
        $same++;
    } elsif ($bad++ < 5) {
        diag("user $u track $tr hour $h position $p: module "
             . ($s{exact} // '-') . ' (' . ($s{source} // '-')
             . '), skipctl ' . ($ws // $j));
    }
}
is($same, $N, "$N cases: module score and decision equal skipctl predict");
is($sources{redis} // 0, $N, 'every case scored from Redis: '
   . join(', ', map { "$_ $sources{$_}" } sort keys %sources));
# (GET also polls <prefix>:active, a few times a second at most)
my $gets = SkipModule::calls($t, 'get') - $get0;
ok($gets >= $N && $gets <= $N + 20,
   "one GET of the taste per request, in the records' pipeline: $gets");

# the prediction API: one batch, one GET of the taste, every score equal
{
    my $bu = $pairs[1][0];
    my @ids = @$tracks[10 .. 19];
    my %want;
    for my $id (@ids) {
        my $j = `$sk predict --model $model --data $data --hour 14 --json $bu $id`;
        ($want{$id}) = $j =~ /"score":\s*([-0-9.e]+)/;
    }
    my $h0 = SkipModule::calls($t, 'hmget');
    my $list = join ',', map { qq("$_") } @ids;
    my $r = $t->http_post('/recommend',
                          qq({"user_id": $bu, "hour": 14, "track_ids": [$list]}),
                          'Content-Type' => 'application/json');
    my %got = $r->{body} =~ /"track_id":"(\w+)"[^}]*?"score":([-0-9.e]+)/g;
    my @eq = grep { defined $got{$_} && defined $want{$_}
                    && abs($got{$_} - $want{$_}) < 1e-9 } @ids;
    is(scalar @eq, 10, 'skip_api batch of 10: every score equals skipctl '
       . 'predict') or diag($r->{body});
    is(SkipModule::calls($t, 'hmget') - $h0, 11,
       '... 11 HMGETs (the user, 10 tracks) and the GET, one pipeline');
}

# a listener with history: without the value the taste features abstain
my ($u) = grep { my $k = $_; grep { $_ eq "$pfx:ut:$k" } @ut } @$users;
my $tr = $tracks->[1];
my %before = ask($u, $tr, 12, 3);
my $saved = $t->redis('GET', "$pfx:ut:$u");
$t->redis('DEL', "$pfx:ut:$u");
my %gone = ask($u, $tr, 12, 3);
is($gone{source}, 'redis', 'taste missing: still scored');
isnt($gone{exact}, $before{exact}, '... with the taste features abstaining');

$t->redis('SET', "$pfx:ut:$u", 'g1=1:0,g7=many:few');
my %bad = ask($u, $tr, 12, 3);
is("$bad{source} $bad{exact}", "redis $gone{exact}",
   'malformed taste: scored as without it');
like($t->read_file('error.log'),
     qr/\[warn\].*malformed taste \Q$pfx\E:ut:\Q$u\E: taste entry 2 "g7=many:few"/,
     '... and a warning names the key, the field and the value');
$t->redis('DEL', "$pfx:ut:$u");
$t->redis('HSET', "$pfx:ut:$u", 'g7', '1:1');
select(undef, undef, undef, 1.1);     # lookup warnings: one a second
my %wrong = ask($u, $tr, 12, 3);
is("$wrong{source} $wrong{exact}", "redis $gone{exact}",
   'a key of another type (WRONGTYPE): scored as without it');
like($t->read_file('error.log'), qr/\[warn\].*Redis error to GET of the taste: WRONGTYPE/,
     '... and a warning says so');
$t->redis('DEL', "$pfx:ut:$u");
$t->redis('SET', "$pfx:ut:$u", $saved);
my %back = ask($u, $tr, 12, 3);
is($back{exact}, $before{exact}, 'restored: the same score again');

# ---- live events: the same counting rules as the loader and the trainer ----
# A Play then a Skip of one track in one session, posted to skip_events:
# the events script moves exactly the track's genre entries and the local
# hour's entry of the listener's taste, as sk_taste_hist_add counts the
# labelled play; then the module still equals skipctl predict on the
# dataset with those two events appended.

my @gnames;
my ($glist) = do {
    open my $fh, '<', $t->root . '/src/core/genres.c' or die $!;
    local $/;
    <$fh> =~ /genre_names\[SK_N_GENRES\] = \{(.*?)\};/s;
};
@gnames = $glist =~ /"([^"]+)"/g;
my %gidx = map { $gnames[$_] => $_ } 0 .. $#gnames;
is(scalar @gnames, 50, 'the 50 genre names of genres.c');

my ($te) = grep { ($t->redis('HGET', "$pfx:t:$_", 'genres') // '') ne '' }
           @$tracks;
my @want = ((map { 'g' . $gidx{$_} }
             split /,/, $t->redis('HGET', "$pfx:t:$te", 'genres')), 'h09');
my %t0 = taste_of("$pfx:ut:$u");
my $sid = 987654321;
sub ev {
    my ($type) = @_;
    return qq({"timestamp":"2024-02-08 09:52:40.925 +02:00:00","user_id":$u,)
         . qq("track_id":"$te","event_type":"$type","session_id":$sid}\n);
}
sub changed {
    my ($from, $dp, $ds) = @_;
    my %now = taste_of("$pfx:ut:$u");
    my @bad;
    for my $f (sort(keys %now), grep { !exists $now{$_} } keys %$from) {
        my ($p0, $s0) = split /:/, $from->{$f} // '0:0';
        my $in = grep { $_ eq $f } @want;
        my $w = $in ? ($p0 + $dp) . ':' . ($s0 + $ds) : "$p0:$s0";
        push @bad, "$f=" . ($now{$f} // '-') . " (want $w)"
            if ($now{$f} // '0:0') ne $w;
    }
    return join(', ', @bad);
}
my $res = $t->http_post('/skip/events', ev('Play'),
                        'Content-Type' => 'application/x-ndjson');
is($res->{status}, 200, 'a Play event');
is(changed(\%t0, 1, 0), '', "... counts a play under @want, nothing else");
$res = $t->http_post('/skip/events', ev('Skip'),
                     'Content-Type' => 'application/x-ndjson');
is($res->{status}, 200, 'a Skip of the same track in the session');
is(changed(\%t0, 0, 1), '', '... turns it into a skip there');
my $x = $t->redis('XREVRANGE', 'skip:events', '+', '-', 'COUNT', 1);
my %xe = @{ $x->[0][1] };
is($xe{h}, 9, 'the journal entry carries the local hour (hand-over replay)');

open my $fh, '>>', "$data/sessions.jsonl" or die $!;
print $fh ev('Play'), ev('Skip');
close $fh;
my ($tr2) = $tracks->[2];
my $j = `$sk predict --model $model --data $data --hour 10 --json $u $tr2`;
my ($ws) = $j =~ /"score":\s*([-0-9.e]+)/;
my %after = ask($u, $tr2, 10, -1);
ok(defined $ws && defined $after{exact} && abs($after{exact} - $ws) < 1e-9,
   "after the events: module $after{exact} = skipctl predict "
   . ($ws // $j));

# the hand-over: a new snapshot of the same dataset (which now holds the
# two events) has the same taste as the live one
my %live = taste_of("$pfx:ut:$u");
system("$sk features load --redis 127.0.0.1:$t->{redis_port} --data $data "
       . "--model $model --quiet >/dev/null 2>&1") == 0
    or die 'second load failed';
my $pfx2 = SkipModule::snap_prefix($t);
my %reload = taste_of("$pfx2:ut:$u");
is(join(' ', map { "$_=$reload{$_}" } sort keys %reload),
   join(' ', map { "$_=$live{$_}" } sort keys %live),
   'a reload counts the same taste as the live events did');

# with the record cache: the taste is cached with its user entry (the
# worker caches tastes because a skip_model reads them), so a second
# request needs no round trip at all and scores the cached taste, as
# records are served up to their ttl old
$conf =~ s/skip_record_cache off;[^\n]*/skip_record_cache 4096 60s;/ or die;
$t->write_conf($conf);
$t->reload_nginx;
my $tv = $t->redis('GET', "$pfx2:ut:$u");
my %c1 = ask($u, $tr2, 15, 4);
$t->redis('SET', "$pfx2:ut:$u", 'g0=1000:0,h15=0:1000');
my $m1 = SkipModule::calls($t, 'hmget');
my %c2 = ask($u, $tr2, 15, 4);
is("$c1{source} $c2{source}", 'redis cache', 'record cache: the second '
   . 'request has both records cached');
is($c2{exact}, $c1{exact}, '... and the taste: the same score although '
   . 'Redis changed');
is(SkipModule::calls($t, 'hmget') - $m1, 0, '... no HMGET');
$t->redis('SET', "$pfx2:ut:$u", $tv);

my @problems = $t->log_problems;
is(scalar @problems, 0, 'no alerts or crashes') or diag(join "\n", @problems);

$t->stop;
done_testing();
