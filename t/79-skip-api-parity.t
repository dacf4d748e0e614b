#!/usr/bin/perl
# The API's numbers are `skipctl predict`'s numbers.  For random (user,
# track, hour, session position) cases of a generated dataset, the score
# skip_api answers from the records `skipctl features load` put in Redis is
# the same double, digit for digit, as the one `skipctl predict --json`
# computes from the dataset itself: single POSTs, GETs, the naive model,
# and batches (one user, many tracks, one round trip).  A few unknown
# track ids in the batches get "missing" and the fallback.
use strict;
use warnings;

use JSON::PP;
use POSIX qw(:sys_wait_h);
use Test::More;

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

my $model = $t->root . '/models/default.model';
plan skip_all => 'no models/default.model yet' unless -f $model;

my $N = $ENV{SKIP_PARITY_PAIRS} || 300;     # single predictions
my $B = int($N / 10) || 1;                   # batches of 10 tracks

$t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t);

$t->write_conf(SkipModule::user() . <<'EOF');
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model default %%ROOT%%/models/default.model;

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        skip_redis_timeout 1s;    # parity, not speed: never time out

        location = /recommend { skip_api; }
        location = /naive     { skip_api; skip_use_model naive; }
    }
}
EOF
$t->start_nginx;

srand(4242);
sub pick { $_[0][rand @{ $_[0] }] }
sub case {
    return { user => pick($users), hour => int(rand 24),
             pos => rand() < 0.2 ? -1 : int(rand 60), @_ };
}

# what to ask: singles (default model, a fifth by GET), naive singles,
# and batch items (each batch one user, hour, position)
my (@cases, @batches);
push @cases, case(track => pick($tracks), model => 'default',
                  get => rand() < 0.2) for 1 .. $N;
push @cases, case(track => pick($tracks), model => 'naive') for 1 .. $N / 5;
for my $b (1 .. $B) {
    my $c = case(model => 'default');
    my @ids = map { pick($tracks) } 1 .. 10;
    $ids[3] = 'NoSuchTrack' . $b if $b % 4 == 0;
    my @items = map { push @cases, { %$c, track => $_, batch => $b };
                      $#cases } @ids;
    push @batches, { %$c, ids => \@ids, items => \@items };
}

# skipctl predict for every case, 4 at a time
my $sk = $t->skipctl;
my $dir = $t->dir;
my @queue = (0 .. $#cases);
my %running;
while (@queue || %running) {
    while (@queue && keys %running < 4) {
        my $i = shift @queue;
        my $c = $cases[$i];
        my $m = $c->{model} eq 'naive' ? 'naive' : $model;
        my $pos = $c->{pos} < 0 ? '' : "--position $c->{pos}";
        my $pid = fork // die "fork: $!";
        if ($pid == 0) {
            exec "$sk predict --model $m --data $data --hour $c->{hour} "
               . "$pos --json $c->{user} $c->{track} > $dir/p$i.json 2>&1";
        }
        $running{$pid} = $i;
    }
    my $pid = waitpid(-1, 0);
    delete $running{$pid};
}
for my $i (0 .. $#cases) {
    my $j = $t->read_file("$dir/p$i.json");
    ($cases[$i]{want_score}) = $j =~ /"score":\s*([-0-9.e]+)/;
    ($cases[$i]{want_dec}) = $j =~ /"decision":\s*"(\w+)"/;
}

# the API: raw score text, so that equality is of the printed digits
sub body_of {
    my ($c, %extra) = @_;
    my $pos = $c->{pos} < 0 ? '' : qq(, "position": $c->{pos});
    return qq({"user_id": $c->{user}, "hour": $c->{hour}$pos, ) . $extra{ids};
}
my $json = JSON::PP->new;
for my $c (grep { !defined $_->{batch} } @cases) {
    my $path = $c->{model} eq 'naive' ? '/naive' : '/recommend';
    my $r;
    if ($c->{get}) {
        my $pos = $c->{pos} < 0 ? '' : "&position=$c->{pos}";
        $r = $t->http_get("$path?user_id=$c->{user}&track_id=$c->{track}"
                          . "&hour=$c->{hour}$pos");
    } else {
        $r = $t->http_post($path, body_of($c, ids => qq("track_id": "$c->{track}"})),
                           'Content-Type' => 'application/json');
    }
    ($c->{got_score}) = $r->{body} =~ /"score":([-0-9.e]+|null)/;
    ($c->{got_dec}) = $r->{body} =~ /"decision":"(\w+)"/;
    ($c->{source}) = $r->{body} =~ /"source":"(\w+)"/;
}
for my $b (@batches) {
    my $ids = join ',', map { qq("$_") } @{ $b->{ids} };
    my $r = $t->http_post('/recommend', body_of($b, ids => qq("track_ids": [$ids]})),
                          'Content-Type' => 'application/json');
    my @items = $r->{body} =~ /\{("track_id".*?)\}/g;
    for my $k (0 .. $#{ $b->{items} }) {
        my $c = $cases[ $b->{items}[$k] ];
        my $it = $items[$k] // '';
        ($c->{got_score}) = $it =~ /"score":([-0-9.e]+|null)/;
        ($c->{got_dec}) = $it =~ /"decision":"(\w+)"/;
        ($c->{source}) = $it =~ /"source":"(\w+)"/;
        $c->{got_track} = ($it =~ /"track_id":"([^"]*)"/)[0];
    }
}

my (%same, %total, %sources, $bad);
$bad = 0;
for my $c (@cases) {
    my $kind = defined $c->{batch} ? 'batch' : $c->{get} ? 'get'
             : $c->{model};
    $total{$kind}++;
    $sources{ $c->{source} // '-' }++;
    my $ok;
    if (!defined $c->{want_score}) {
        # skipctl knows no such track: the API falls back
        $ok = ($c->{source} // '') eq 'missing' && $c->{got_score} eq 'null'
              && $c->{got_dec} eq 'PLAY';
    } else {
        $ok = defined $c->{got_score} && $c->{got_score} eq $c->{want_score}
              && lc($c->{got_dec} // '') eq $c->{want_dec}
              && (!defined $c->{batch} || $c->{got_track} eq $c->{track});
    }
    if ($ok) {
        $same{$kind}++;
    } elsif ($bad++ < 5) {
        diag("$kind user $c->{user} track $c->{track} hour $c->{hour} "
             . "position $c->{pos}: API " . ($c->{got_score} // '-') . ' '
             . ($c->{got_dec} // '-') . ' (' . ($c->{source} // '-')
             . '), skipctl ' . ($c->{want_score} // '-') . ' '
             . ($c->{want_dec} // '-'));
    }
}
for my $kind (sort keys %total) {
    is($same{$kind} // 0, $total{$kind},
       "$kind: $total{$kind} API scores and decisions equal skipctl predict, "
       . 'digit for digit');
}
ok(($sources{redis} // 0) + ($sources{cache} // 0) + ($sources{missing} // 0)
   == @cases, 'every score came from Redis records: '
   . join(', ', map { "$_ $sources{$_}" } sort keys %sources));
ok($sources{missing}, 'unknown tracks in batches fell back');

$t->stop;
done_testing();
