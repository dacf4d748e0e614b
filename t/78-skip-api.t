#!/usr/bin/perl
# The prediction API (skip_api) against a real nginx and a real
# Redis loaded by `skipctl features load`: the single POST form (user_id
# as number and as string), the batch form, the GET form, the JSON shape,
# every request error (4xx JSON naming the field), invalid and unknown ids
# per item, the model per location (/recommend, /naive) and per
# split_clients arm (/abtest, sticky per user, logged through access_log),
# and one round trip per batch (Redis command counts).
use strict;
use warnings;

use JSON::PP;
use Test::More;

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;

$t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t);

$t->write_conf(SkipModule::user() . <<'EOF');
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%REDIS_PORT%%;
    skip_model default %%ROOT%%/models/default.model;
    skip_record_cache off;

    split_clients "${skip_api_user}" $skip_arm {
        50%  default;
        *    naive;
    }

    log_format skip_api escape=json
        '{"arm":"$skip_arm","user":"$skip_api_user",'
        '"track":"$skip_api_track","decision":"$skip_api_decision",'
        '"score":"$skip_api_score","model":"$skip_api_model",'
        '"source":"$skip_api_source","status":$status}';

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        skip_redis_timeout 1s;        # shapes, not speed: never time out

        location = /recommend { skip_api; }
        location = /naive     { skip_api; skip_use_model naive; }
        location = /abtest {
            skip_api;
            skip_use_model $skip_arm;
            access_log %%TESTDIR%%/abtest.log skip_api;
        }
        location = /small {
            skip_api;
            skip_api_max_tracks 3;
            skip_api_max_body 256;
        }
        location = /hour7 { skip_api; skip_hour 7; skip_position 3; }
    }
}
EOF
$t->start_nginx;

my $json = JSON::PP->new->canonical;

sub post {
    my ($path, $body, %h) = @_;
    $body = $json->encode($body) if ref $body;
    my $r = $t->http_post($path, $body,
                          'Content-Type' => 'application/json', %h);
    $r->{json} = eval { $json->decode($r->{body}) };
    return $r;
}

# Lines of an access log, once it has $n (the log phase runs after the
# answer is sent: the last line may come a moment after the response).
sub log_lines {
    my ($file, $n) = @_;
    my @l;
    for (1 .. 100) {
        @l = -e $file ? SkipModule::lines_of($file) : ();
        last if @l >= $n;
        select(undef, undef, undef, 0.02);
    }
    return @l;
}

sub get {
    my ($path) = @_;
    my $r = $t->http_get($path);
    $r->{json} = eval { $json->decode($r->{body}) };
    return $r;
}

my ($u, $tr) = ($users->[0], $tracks->[0]);

# ---- single POST -------------------------------------------------------------

my $r = post('/recommend', qq({"user_id": $u, "track_id": "$tr", "hour": 12}));
is($r->{status}, 200, 'single POST: 200');
like($r->{headers}{'content-type'}, qr{^application/json}, 'JSON content type');
my $j = $r->{json};
is(join(',', sort keys %$j), 'decision,model,score,source,track_id,user_id',
   'single: user_id, track_id, decision, score, model, source');
ok($r->{body} =~ /"user_id":$u,/, 'numeric user_id comes back a number');
is($j->{track_id}, $tr, 'track_id echoed');
like($j->{decision}, qr/^(PLAY|SKIP)$/, 'decision PLAY or SKIP');
ok($j->{score} > 0 && $j->{score} < 1, "score is P(play): $j->{score}");
like($j->{model}, qr/^default@[0-9a-f]+$/, 'model name@hash');
is($j->{source}, 'redis', 'records from Redis');
is($j->{decision}, $j->{score} >= 0.5 ? 'PLAY' : 'SKIP',
   'decision follows the score at the model threshold');

my $r2 = post('/recommend', { user_id => "$u", track_id => $tr, hour => 12 });
ok($r2->{body} =~ /"user_id":"$u"/, 'string user_id comes back a string');
is($r2->{json}{score}, $j->{score}, 'the same score for user_id as string');

# ---- GET form ----------------------------------------------------------------

$r = get("/recommend?user_id=$u&track_id=$tr&hour=12");
is($r->{status}, 200, 'GET form: 200');
is($r->{json}{score}, $j->{score}, 'GET form: the same score as POST');
is($r->{json}{decision}, $j->{decision}, 'GET form: the same decision');

# position and hour change the vector; the directives are the default
my $p7 = post('/recommend', { user_id => $u, track_id => $tr, hour => 7,
                              position => 3 });
my $d7 = post('/hour7', { user_id => $u, track_id => $tr });
is($d7->{json}{score}, $p7->{json}{score},
   'skip_hour / skip_position apply when the body gives none');
my $b7 = post('/hour7', { user_id => $u, track_id => $tr, hour => 12 });
my $c12 = post('/recommend', { user_id => $u, track_id => $tr, hour => 12,
                               position => 3 });
is($b7->{json}{score}, $c12->{json}{score}, 'the body\'s hour wins');

# ---- batch ---------------------------------------------------------------------

my @batch = @$tracks[0 .. 19];
my $hm0 = SkipModule::calls($t, 'hmget');
$r = post('/recommend', { user_id => $u, track_ids => \@batch, hour => 12 });
my $hm1 = SkipModule::calls($t, 'hmget');
is($r->{status}, 200, 'batch: 200');
is(join(',', sort keys %{ $r->{json} }), 'predictions,user_id',
   'batch: user_id and predictions');
my $preds = $r->{json}{predictions};
is(scalar @$preds, 20, 'batch: 20 predictions');
is(join(',', map { $_->{track_id} } @$preds), join(',', @batch),
   'batch: in request order');
is($hm1 - $hm0, 21, 'batch: 21 HMGETs (user + 20 tracks)');
my $same = 0;
for my $i (0 .. $#batch) {
    my $s = post('/recommend', { user_id => $u, track_id => $batch[$i],
                                 hour => 12 });
    $same++ if $s->{json}{score} == $preds->[$i]{score}
               && $s->{json}{decision} eq $preds->[$i]{decision};
}
is($same, 20, 'batch: every item equals its single prediction');

# invalid and unknown ids in a batch: per item
$r = post('/recommend', { user_id => $u, hour => 12,
                          track_ids => [ $tr, 'bad id!', 'NoSuchTrack0000', "q\"\x01" ] });
$preds = $r->{json}{predictions};
is($r->{status}, 200, 'batch with bad ids: 200');
is(join(',', map { $_->{source} } @$preds), 'redis,badid,missing,badid',
   'batch: badid and missing per item');
ok(!defined $preds->[1]{score} && $preds->[1]{decision} eq 'PLAY',
   'badid item: no score, the fallback decision (play)');
is($preds->[3]{track_id}, "q\"\x01", 'an odd id comes back escaped, intact');

$r = post('/recommend', { user_id => 'no such user!', track_ids => [ $tr ] });
is($r->{json}{predictions}[0]{source}, 'badid', 'invalid user id: badid');
$r = post('/recommend', { user_id => 987654321, track_id => $tr });
is($r->{json}{source}, 'missing', 'unknown user: missing');

# ---- errors ------------------------------------------------------------------------

my @errors = (
    [ '{"user_id": 1, "track_id": "x"',     400, 'body', 'malformed JSON' ],
    [ '[1, 2]',                             400, 'body', 'not an object' ],
    [ '{"track_id": "x"}',                  400, 'user_id', 'missing user_id' ],
    [ '{"user_id": true, "track_id": "x"}', 400, 'user_id', 'boolean user_id' ],
    [ '{"user_id": 1.5, "track_id": "x"}',  400, 'user_id', 'fractional user_id' ],
    [ '{"user_id": -3, "track_id": "x"}',   400, 'user_id', 'negative user_id' ],
    [ '{"user_id": 1}',                     400, 'track_id', 'missing track_id' ],
    [ '{"user_id": 1, "track_id": 5}',      400, 'track_id', 'numeric track_id' ],
    [ '{"user_id": 1, "track_id": "a", "track_ids": ["b"]}', 400, 'track_ids',
      'both forms' ],
    [ '{"user_id": 1, "track_ids": "a"}',   400, 'track_ids', 'track_ids not a list' ],
    [ '{"user_id": 1, "track_ids": []}',    400, 'track_ids', 'empty track_ids' ],
    [ '{"user_id": 1, "track_ids": ["a", 5]}', 400, 'track_ids[1]',
      'a non-string item' ],
    [ '{"user_id": 1, "track_id": "a", "hour": 24}', 400, 'hour', 'hour 24' ],
    [ '{"user_id": 1, "track_id": "a", "hour": "3"}', 400, 'hour', 'hour a string' ],
    [ '{"user_id": 1, "track_id": "a", "position": -1}', 400, 'position',
      'negative position' ],
    [ '{"user_id": 1, "track_id": "a", "position": 2.5}', 400, 'position',
      'fractional position' ],
);
for my $e (@errors) {
    my ($body, $status, $field, $what) = @$e;
    my $r = post('/recommend', $body);
    is("$r->{status} " . ($r->{json}{field} // '-'), "$status $field",
       "$what: $status naming $field");
    ok(length($r->{json}{error} // ''), "$what: an error message")
        if $what eq 'malformed JSON';
}

$r = post('/small', { user_id => 1, track_ids => [ 'a', 'b', 'c', 'd' ] });
is("$r->{status} $r->{json}{field}", '400 track_ids',
   'too many tracks (skip_api_max_tracks 3): 400 naming track_ids');
like($r->{json}{error}, qr/at most 3/, 'too many tracks: the limit is said');
$r = post('/small', { user_id => 1, track_ids => [ 'a', 'b', 'c' ] });
is($r->{status}, 200, 'at the limit: 200');
$r = post('/small', { user_id => 1, track_id => 'x' x 300 });
is("$r->{status} $r->{json}{field}", '413 body',
   'body over skip_api_max_body: 413 naming body');
$r = post('/recommend', { user_id => 1, track_ids => [ ('abcdefghij') x 501 ] });
is("$r->{status} $r->{json}{field}", '400 track_ids',
   'default limit: 501 tracks refused');

$r = $t->http_request('PUT', '/recommend', body => '{}',
                      'Content-Type' => 'application/json');
is($r->{status}, 405, 'PUT: 405');
is($r->{headers}{allow}, 'GET, HEAD, POST', 'PUT: Allow header');
like($r->{body}, qr/"field":"method"/, 'PUT: JSON naming the method');
$r = post('/recommend', qq({"user_id": 1, "track_id": "$tr"}),
          'Content-Type' => 'text/plain');
is("$r->{status} $r->{json}{field}", '415 content-type',
   'text/plain: 415 naming content-type');
$r = $t->http_post('/recommend', qq({"user_id": $u, "track_id": "$tr"}),
                   'Content-Type' => 'application/json; charset=utf-8');
is($r->{status}, 200, 'application/json; charset=utf-8 is JSON');
$r = $t->http_post('/recommend', qq({"user_id": 1, "track_id": "x"}));
is($r->{status}, 415, 'no content type: 415');
$r = get("/recommend?track_id=$tr");
is("$r->{status} $r->{json}{field}", '400 user_id', 'GET without user_id: 400');
$r = get("/recommend?user_id=$u");
is("$r->{status} $r->{json}{field}", '400 track_id', 'GET without track_id: 400');
$r = get("/recommend?user_id=$u&track_id=$tr&hour=x");
is("$r->{status} $r->{json}{field}", '400 hour', 'GET with a bad hour: 400');
$r = get("/recommend?user_id=$u&track_id=$tr&position=-4");
is("$r->{status} $r->{json}{field}", '400 position', 'GET with a bad position: 400');

# ---- model per location and per arm ----------------------------------------------

$r = post('/naive', { user_id => $u, track_id => $tr, hour => 12 });
like($r->{json}{model}, qr/^naive@/, '/naive: the built-in naive model');
my $want = `${\ $t->skipctl} predict --model naive --data $data --hour 12 --json $u $tr`;
my ($ws) = $want =~ /"score":\s*([-0-9.e]+)/;
is($r->{json}{score}, $ws, '/naive: the score skipctl predict --model naive gives');

my (%arm_of, %models, $sticky);
$sticky = 1;
for my $user (@$users[0 .. 39]) {
    my $r = post('/abtest', { user_id => $user, track_id => $tr, hour => 12 });
    my ($m) = ($r->{json}{model} // '') =~ /^(\w+)@/;
    $models{ $m // '-' }++;
    $arm_of{$user} = $m;
}
for my $user (@$users[0 .. 39]) {
    my $r = post('/abtest', { user_id => $user, track_ids => [ $tr ] });
    my ($m) = ($r->{json}{predictions}[0]{model} // '') =~ /^(\w+)@/;
    $sticky = 0 unless ($m // '') eq $arm_of{$user};
}
ok($models{default} && $models{naive},
   'abtest: both arms answer: ' . join(', ', map { "$_ $models{$_}" } sort keys %models));
ok($sticky, 'abtest: a user stays in the arm (split_clients on $skip_api_user)');

my @log = map { $json->decode($_) } log_lines($t->dir . '/abtest.log', 80);
is(scalar @log, 80, 'abtest: one access-log line per answer');
my $consistent = grep { $_->{model} =~ /^\Q$_->{arm}\E@/ && $_->{track} eq $tr
                        && $_->{decision} =~ /^(PLAY|SKIP)$/ } @log;
is($consistent, 80, 'abtest: each line has arm, user, track, decision');

# ---- every directive is documented -------------------------------------------------

my $doc = $t->read_file($t->root . '/docs/directives.md');
for my $d (qw(skip_api skip_api_max_tracks skip_api_max_body)) {
    ok($doc =~ /^### \Q$d\E$/m, "docs/directives.md documents $d");
}

$t->stop;

# ---- the example configuration's three endpoints -----------------------------------

{
    my $e = SkipTest->new;
    my $root = $e->root;
    my $dir = $e->dir;
    my $rport = $e->start_redis;
    SkipModule::load_dataset($e);
    my $conf = $e->read_file("$root/conf/nginx-skip.conf");
    my ($p8080, $p8081) = ($e->port(8080), $e->port(8081));
    $conf =~ s{build/ngx_skip_module\.so}{$e->module}e;
    $conf =~ s{\.\./models/}{$root/models/}g;
    $conf =~ s{pid\s+run/nginx\.pid}{pid $dir/nginx.pid};
    $conf =~ s{(\s)run/}{$1$dir/run/}g;
    $conf =~ s{listen  8080;}{listen  127.0.0.1:$p8080;};
    $conf =~ s{127\.0\.0\.1:8081}{127.0.0.1:$p8081}g;
    $conf =~ s{127\.0\.0\.1:6379}{127.0.0.1:$rport};
    $e->write_file('nginx.conf', SkipModule::user() . $conf);
    mkdir "$dir/run";
    $e->start_nginx("$dir/nginx.conf");
    my %model;
    for my $path (qw(/naive /recommend /abtest)) {
        for my $user (@$users[0 .. 9]) {
            my $r = $e->http_post($path, qq({"user_id": $user, "track_id": "$tr"}),
                                  'Content-Type' => 'application/json');
            my ($m) = $r->{body} =~ /"model":"(\w+)@/;
            $model{$path}{ $m // "status $r->{status}" }++;
        }
    }
    is(join(',', keys %{ $model{'/naive'} }), 'naive',
       'example conf: /naive answers with the naive model');
    is(join(',', keys %{ $model{'/recommend'} }), 'default',
       'example conf: /recommend with the default model');
    is(join(',', sort keys %{ $model{'/abtest'} }), 'default,naive',
       'example conf: /abtest with both arms');
    my @lines = log_lines("$dir/run/abtest.json", 10);
    is(scalar(grep { /"arm":"(default|naive)","user":"\d+","track":"\Q$tr\E","decision":"(PLAY|SKIP)"/ } @lines),
       10, 'example conf: /abtest logs arm, user, track and decision per answer');
    $e->stop;
}

done_testing();
