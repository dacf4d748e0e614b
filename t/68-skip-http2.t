#!/usr/bin/perl
# The module under HTTP/2: many streams of one connection suspended on the
# same worker's Redis connection at once, each resumed with its own answer
# (equal to what HTTP/1.1 gets for the same pair); then connections closed
# while all their streams wait on a Redis that never answers: no crash, no
# alert, and the worker serves on.  Client: curl with prior-knowledge h2c.
use strict;
use warnings;

use Test::More;
use Time::HiRes qw(sleep);

use SkipTest;
use SkipModule;

my $t = SkipTest->new;
plan skip_all => 'module not built' unless -f $t->module;
my ($curl) = grep { -x } map { "$_/curl" } split /:/, $ENV{PATH} // '';
plan skip_all => 'curl not installed' unless $curl;
plan skip_all => 'curl without HTTP/2'
    unless `$curl --version` =~ /^Features:.*\bHTTP2\b/m;

my $CONF = <<'EOF';
events { worker_connections 1024; }
http {
    skip_redis 127.0.0.1:%%PORT_6379%%;
    skip_model default %%ROOT%%/models/default.model;
    skip_record_cache off;

    server {
        listen 127.0.0.1:%%PORT_8080%%;
        listen 127.0.0.1:%%PORT_8443%% http2;
        root %%TESTDIR%%;
        http2_max_concurrent_streams 128;

        location ~ ^/tracks/([^/]+)$ {
            skip_predict on;
            skip_user $http_x_user_id;
            skip_track $1;
            skip_hour 12;
            skip_position $http_x_session_position;
            skip_redis_timeout 300ms;
            add_header X-Skip-Source $skip_source always;
            add_header X-Skip-Exact $skip_score_exact always;
            add_header X-Skip-Decision $skip_decision always;
            try_files /x =404;
        }
    }
}
EOF

# One curl, one connection, every URL a stream of it.  Returns one line
# per URL: "version status source exact decision".
sub h2 {
    my ($t, $urls, %o) = @_;
    my $base = 'http://127.0.0.1:' . $t->port(8443);
    my $cfg = $t->dir . '/curl.cfg';
    open my $fh, '>', $cfg or die "$cfg: $!";
    for my $u (@$urls) {
        my ($path, $user, $pos) = @$u;
        print $fh "url = \"$base$path\"\noutput = \"/dev/null\"\n";
    }
    close $fh;
    # per-URL headers are not possible in a config, so the user and the
    # position go in as one header for every stream; callers group by user
    my ($user, $pos) = ($urls->[0][1], $urls->[0][2]);
    my $max = $o{max_time} ? "--max-time $o{max_time}" : '';
    my $w = '%{http_version} %{http_code} %header{x-skip-source} '
          . '%header{x-skip-exact} %header{x-skip-decision}\n';
    my $cmd = "$curl -s --http2-prior-knowledge --parallel --parallel-immediate "
            . "--parallel-max 100 $max -H 'X-User-Id: $user' "
            . "-H 'X-Session-Position: $pos' -w '$w' -K $cfg 2>/dev/null";
    return `$cmd`;
}

# ---- a real Redis: many streams, one connection -----------------------------

$t->{ports}{6379} = $t->start_redis;
my ($data, $users, $tracks) = SkipModule::load_dataset($t);
$t->write_file('x', "x\n");
$t->write_conf(SkipModule::user() . $CONF);
$t->start_nginx;

my $user = $users->[3];
my @paths = map { "/tracks/$tracks->[$_ * 7]" } 0 .. 39;
my @lines = split /\n/, h2($t, [ map { [ $_, $user, 5 ] } @paths ]);
is(scalar @lines, 40, '40 streams answered on one HTTP/2 connection');
is(scalar(grep { /^2 200 redis / } @lines), 40,
   'every stream: HTTP/2, 200, scored from Redis')
    or diag(join "\n", @lines[0 .. 4]);

# curl --parallel may finish streams in any order: compare as sets of the
# (score, decision) the same pairs get over HTTP/1.1
my (%h1, %h2);
for my $p (@paths) {
    my %s = SkipModule::skipvars($t->http_get($p, 'X-User-Id' => $user,
                                              'X-Session-Position' => 5));
    $h1{"$s{exact} $s{decision}"}++;
}
for (@lines) {
    my (undef, undef, undef, $exact, $dec) = split / /;
    $h2{"$exact $dec"}++ if defined $dec;
}
is_deeply(\%h2, \%h1, 'the same scores and decisions as over HTTP/1.1');
$t->stop;

# ---- a Redis that never answers: connections closed mid-wait ------------------

my $s = SkipTest->new;
$s->run_daemon(SkipModule::fake_redis('silent'), $s->port(6379));
$s->write_file('x', "x\n");
# the raw stall (deadlines on every stream), not the breaker's fast path
$s->write_conf(SkipModule::user()
               . ($CONF =~ s/(skip_redis [^;]*;)/$1\n    skip_redis_breaker off;/r));
$s->start_nginx;
sleep 0.2;
for my $round (1 .. 5) {
    # 60 streams wait on Redis; curl gives up (closes the connection) first
    h2($s, [ map { [ "/tracks/t$_", 100 + $_, 0 ] } 1 .. 60 ], max_time => 0.1);
}
sleep 0.5;     # the deadlines of the gone streams fire, or are gone
my @l = split /\n/, h2($s, [ [ '/tracks/t1', 7, 0 ] ]);
like($l[0] // '', qr/^2 200 timeout /,
     'after 300 closed streams, a new one is served (fallback: timeout)');
$s->stop;     # checks: no alert, no crash, no sanitizer report

done_testing();
