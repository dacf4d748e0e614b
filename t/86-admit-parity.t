#!/usr/bin/perl
# Learned cache admission, online equals offline: `skipctl admit-train`
# trains an admission model on a generated dataset, `skipctl simulate
# --admit-dump` writes the decision of every slice request of the first
# held-out listens, and the same requests, in the same order, through one
# nginx worker with skip_admit_zone / skip_admit_model give the same
# $skip_admit and the same score (the sketch is deterministic given the
# order; the records come from Redis as `skipctl features load` put them).
# Also: failing open, the skip_admit_total metric, and the configuration
# errors of the admission directives.
use strict;
use warnings;

use Test::More;

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $model = $t->root . '/models/default.model';
plan skip_all => 'no models/default.model yet' unless -f $model;

my $LISTENS = $ENV{SKIP_ADMIT_LISTENS} || 300;

$t->start_redis;
my $sk = $t->skipctl;
my $dir = $t->dir;
my $data = "$dir/data";

# The feature store holds the training window's records only, as the
# simulation scores the held-out listens with (scripts/demo.sh does the
# same split).
system("$sk gen --out $data --scale 0.01 --seed 7 --quiet") == 0
    or BAIL_OUT('skipctl gen failed');
mkdir "$dir/train";
for my $f (qw(artists tracks users track_storage)) {
    symlink("$data/$f.jsonl", "$dir/train/$f.jsonl") if -e "$data/$f.jsonl";
}
system("$sk replay --data $data --test-split 0.2 --write-train "
       . "$dir/train/sessions.jsonl > /dev/null 2>&1") == 0
    or BAIL_OUT('skipctl replay --write-train failed');
system("$sk features load --redis 127.0.0.1:$t->{redis_port} --data "
       . "$dir/train --model $model > /dev/null 2>&1") == 0
    or BAIL_OUT('skipctl features load failed');

# train on the training window, dump the decisions on the held-out one
system("$sk admit-train --data $data --model $model --cache-size 5% "
       . "--sketch 1m --out $dir/admit.model --quiet > $dir/train.json "
       . "2> $dir/train.err") == 0
    or BAIL_OUT('skipctl admit-train failed: '
                . $t->read_file("$dir/train.err"));
ok(-s "$dir/admit.model" && -s "$dir/admit.json", 'admission model written');
like($t->read_file("$dir/admit.json"), qr/"target":\s*"admission"/,
     'its manifest says it is an admission model');

# usage errors name the option and the value
for my $case (
    [ '',                                   qr/--data DIR is required/ ],
    [ "--data $data --model $model --out x.model --cache-size 5",
      qr/--cache-size 5: expected a percentage/ ],
    [ "--data $data --model $model --out x.model --label nope",
      qr/--label nope: expected relaxed, belady or reuse:K/ ],
    [ "--data $data --model $model --out x.model --sketch 1k",
      qr/--sketch 1k: too small/ ],
    [ "--data $data --model $model --out x.model --features admit_nope",
      qr/unknown feature "admit_nope"/ ],
) {
    my $out = `$sk admit-train $case->[0] 2>&1`;
    is($? >> 8, 2, "admit-train $case->[0]: usage error");
    like($out, $case->[1], '... saying why');
}
my $help = `$sk admit-train --help`;
like($help, qr/relaxed Belady/, 'admit-train --help explains the label');
my $usage = `$sk admit-train --data $data --model $dir/admit.model --out x.model 2>&1`;
like($usage, qr/an admission model; give the skip model/,
     'an admission model as --model is refused');

system("$sk simulate --data $data --model $model --cache-objects slices "
       . "--cache-size 5% --admit-model $dir/admit.model --limit $LISTENS "
       . "--admit-dump $dir/dump.tsv --quiet > $dir/sim.txt 2> $dir/sim.err")
    == 0 or BAIL_OUT('skipctl simulate failed: '
                     . $t->read_file("$dir/sim.err"));
my @reqs = map { chomp; [ split /\t/ ] } grep { !/^#/ }
           SkipModule::lines_of("$dir/dump.tsv");
cmp_ok(scalar @reqs, '>', $LISTENS, scalar(@reqs) . " slice requests of "
       . "$LISTENS listens dumped");
my $admitted = grep { $_->[8] } @reqs;
ok($admitted > 0 && $admitted < @reqs,
   "the model admits some ($admitted) and refuses others");
like($t->read_file("$dir/sim.txt"), qr/^learned\s/m,
     'simulate reports the learned policy');

$t->write_conf(SkipModule::user() . <<'EOF');
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model default %%ROOT%%/models/default.model;
    skip_admit_zone admit 1m;
    skip_admit_model %%TESTDIR%%/admit.model;

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            skip_hour $arg_hour;
            skip_position $arg_pos;
            skip_redis_timeout 1s;    # parity, not speed: never time out

            skip_admit on;
            skip_admit_range $arg_range;
            skip_admit_time $arg_t;

            add_header X-Skip-Admit $skip_admit always;
            add_header X-Skip-No-Admit $skip_no_admit always;
            add_header X-Skip-Score $skip_admit_score always;
            add_header X-Skip-Exact $skip_score_exact always;
            root %%TESTDIR%%;
            try_files /x =404;
        }

        location = /metrics {
            skip_metrics;
        }
    }
}
EOF
$t->write_file('x', "x\n");
$t->start_nginx;

my ($same, $bad, $slice_bytes) = (0, 0, 1048576);
for my $q (@reqs) {
    my ($u, $tr, $slice, $ts, $h, $pos, $pp, $score, $admit) = @$q;
    my $range = 'bytes=' . ($slice * $slice_bytes) . '-';
    my $res = $t->http_get("/tracks/$tr?hour=$h&pos=$pos&t=$ts&range=$range",
                           'X-User-Id' => $u);
    my %s = SkipModule::skipvars($res);
    my $got = ($s{admit} // '') eq '1' ? 1 : 0;
    if ($got == $admit && defined $s{score} && $s{score} ne ''
        && abs($s{score} - $score) < 1e-9
        && ($s{'no-admit'} // '') eq ($admit ? '' : '1'))
    {
        $same++;
    } elsif ($bad++ < 5) {
        diag("user $u track $tr slice $slice t $ts: nginx admit "
             . ($s{admit} // '-') . ' score ' . ($s{score} // '-')
             . ' P(play) ' . ($s{exact} // '-') . "; skipctl $admit $score "
             . "P(play) $pp");
    }
}
is($same, scalar @reqs, scalar(@reqs) . ' slice requests: the same '
   . 'admission decision and score in nginx as in skipctl simulate');

my $m = $t->http_get('/metrics')->{body} // '';
my ($yes) = $m =~ /^skip_admit_total\{result="admit"\} (\d+)/m;
my ($no) = $m =~ /^skip_admit_total\{result="refuse"\} (\d+)/m;
is(($yes // 0) + ($no // 0), scalar @reqs,
   'skip_admit_total counts every decision once');
is($yes, $admitted, '... and the admitted ones');

# fail open: a track Redis does not know is admitted, and counted so
my $res = $t->http_get('/tracks/0000000000000000000000?t=1&range=bytes=0-',
                       'X-User-Id' => '424242');
my %s = SkipModule::skipvars($res);
is($s{admit}, '1', 'no records: admitted (fail open)');
is($res->{status}, 200, '... and the request is served');
$m = $t->http_get('/metrics')->{body} // '';
like($m, qr/^skip_admit_total\{result="failopen"\} [1-9]/m,
     '... counted as failopen');

# with nginx's slice module: one decision per slice subrequest, and
# proxy_no_cache $skip_no_admit stores exactly the admitted slices
$t->stop_nginx;
my ($u0, $tr0) = @{ $reqs[0] };
mkdir "$dir/origin";
mkdir "$dir/origin/tracks";
$t->write_file("origin/tracks/$tr0", 'x' x (2 * 1048576 + 500000));
$t->write_conf(SkipModule::user() . <<'EOF');
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model default %%ROOT%%/models/default.model;
    skip_admit_zone admit 1m;
    skip_admit_model %%TESTDIR%%/admit.model;

    proxy_cache_path %%TESTDIR%%/cache levels=1:2 keys_zone=tracks:1m;
    log_format adm '$uri|$slice_range|$skip_admit|$skip_admit_score';
    log_format origin '$uri|$http_range';

    server {
        listen 127.0.0.1:%%PORT_8080%%;

        location ~ ^/tracks/(?<trk>[^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $trk;
            skip_hour 12;
            skip_redis_timeout 1s;

            slice 1m;
            proxy_cache tracks;
            proxy_cache_key $uri$slice_range;
            proxy_set_header Range $slice_range;
            proxy_cache_valid 200 206 1h;

            skip_admit on;
            skip_admit_range $slice_range;
            proxy_no_cache $skip_no_admit;

            log_subrequest on;
            access_log %%TESTDIR%%/admit.log adm;
            proxy_pass http://127.0.0.1:%%PORT_8081%%;
        }

        location = /metrics {
            skip_metrics;
        }
    }

    server {
        listen 127.0.0.1:%%PORT_8081%%;
        access_log %%TESTDIR%%/origin.log origin;
        root %%TESTDIR%%/origin;
    }
}
EOF
$t->start_nginx;

sub admit_total {
    my $text = $t->http_get('/metrics')->{body} // '';
    my $n = 0;
    $n += $1 while $text =~ /^skip_admit_total\{result="\w+"\} (\d+)/mg;
    return $n;
}
sub nlines { -e $_[0] ? scalar(() = SkipModule::lines_of($_[0])) : 0 }

my $before = admit_total();
$res = $t->http_get("/tracks/$tr0", 'X-User-Id' => $u0);
is($res->{status}, 200, 'a whole track through slice 1m');
is(length($res->{body} // ''), 2 * 1048576 + 500000, '... all of it');
# the main request fetches the first slice itself; nginx logs it last,
# when $slice_range is no longer set
my %slices = map { chomp; my @f = split /\|/, $_, -1;
                   (($f[1] =~ /^bytes/ ? $f[1] : 'bytes=0-1048575') => \@f) }
             SkipModule::lines_of("$dir/admit.log");
is(join(' ', sort keys %slices),
   'bytes=0-1048575 bytes=1048576-2097151 bytes=2097152-3145727',
   'a decision logged for each of its three slices');
ok(!grep({ $_->[3] !~ /^[0-9.e-]+$/ } values %slices),
   '... each with its own score');
is(admit_total() - $before, 3,
   '... each counted once (the main request is the first slice)');
is(nlines("$dir/origin.log"), 3, 'the origin was asked for the 3 slices');

# listen again and again: a slice comes from the origin until a miss of
# it was admitted, then from the cache
my %stored;
my ($seen, $ok, $logged) = (0, 1, 3);
for my $k (1 .. 8) {
    my @new = (SkipModule::lines_of("$dir/admit.log"))[$logged - 3 .. $logged - 1];
    for my $l (@new) {
        chomp(my $x = $l);
        my @f = split /\|/, $x, -1;
        my $range = $f[1] =~ /^bytes/ ? $f[1] : 'bytes=0-1048575';
        $stored{$range} ||= $f[2] eq '1' ? 1 : 0;  # a miss admitted: stored
    }
    my $origin_before = nlines("$dir/origin.log");
    $res = $t->http_get("/tracks/$tr0", 'X-User-Id' => $u0);
    $logged += 3;
    my $fetched = nlines("$dir/origin.log") - $origin_before;
    my $cached = grep { $_ } values %stored;
    $ok &&= $fetched == 3 - $cached
            && length($res->{body} // '') == 2 * 1048576 + 500000;
    $seen = $cached if $cached > $seen;
    diag("listen $k: fetched $fetched, expected " . (3 - $cached)) unless $ok;
}
ok($ok, 'each listen fetches from the origin exactly the slices not yet '
   . 'admitted: proxy_no_cache $skip_no_admit stores what is admitted');
ok($seen > 0, "... and some were admitted ($seen of 3) as the track was "
   . 'asked for again');

$t->stop;

# configuration errors name the directive and the value
sub nginx_t {
    my ($http, $name) = @_;
    $t->write_conf("events { worker_connections 64; }\nhttp {\n$http\n}\n",
                   $name);
    return $t->nginx_test_conf("$dir/$name");
}

my @bad = (
    [ 'skip_admit_zone admit 1m;',
      qr/"skip_admit_zone" without a "skip_admit_model"/ ],
    [ 'skip_admit_model %%TESTDIR%%/admit.model;',
      qr/"skip_admit_model" needs a "skip_admit_zone"/ ],
    [ 'skip_admit_zone admit 1k; skip_admit_model %%TESTDIR%%/admit.model;',
      qr/skip_admit_zone "admit": invalid size "1k"/ ],
    [ 'skip_admit_zone admit 1m; skip_admit_model '
      . '%%ROOT%%/models/default.model;',
      qr/is a skip model, not an admission model/ ],
    [ 'skip_admit_zone admit 1m; skip_admit_model %%TESTDIR%%/nope.model;',
      qr/skip_admit_model: .*nope\.json/ ],
    [ 'skip_model a %%TESTDIR%%/admit.model;',
      qr/is an admission model/ ],
    [ 'server { listen 127.0.0.1:%%PORT_8081%%; skip_admit on; }',
      qr/"skip_admit" is on, but there is no "skip_admit_model"/ ],
);
my $k = 0;
for my $b (@bad) {
    my ($rc, $out) = nginx_t("    $b->[0]", 'bad' . $k++ . '.conf');
    isnt($rc, 0, "nginx -t refuses: $b->[0]");
    like($out, $b->[1], '... saying why');
}

# a zone of another size than the model's sketch: a warning, not an error
my ($rc, $out) = nginx_t("    skip_admit_zone admit 2m;\n"
                         . "    skip_admit_model %%TESTDIR%%/admit.model;",
                         'size.conf');
is($rc, 0, 'a zone of another size than trained: accepted');
like($out, qr/\[warn\].*trained with a sketch of 1048576 bytes/,
     '... with a warning');

done_testing();
