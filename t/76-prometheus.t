#!/usr/bin/perl
# Metrics, end to end: a real Prometheus (Debian package) on
# loopback scrapes nginx's skip_metrics endpoint every second, using the
# shipped conf/prometheus.yml and recording rules (only the target and the
# intervals changed), and a metric comes back through its HTTP query API.
use strict;
use warnings;
use Test::More;
use SkipTest;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(sleep time);

my $prometheus = '/usr/bin/prometheus';
plan skip_all => 'prometheus not installed' unless -x $prometheus;
plan skip_all => 'JSON::PP not available' unless eval { require JSON::PP; 1 };

my $t = SkipTest->new;
my $root = $t->root;
my $dir = $t->dir;

$t->write_conf(<<'CONF');
events { worker_connections 64; }
http {
    skip_zone skip 1m;
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        location = /metrics { skip_metrics; }
    }
}
CONF
$t->start_nginx;

# The shipped scrape configuration, pointed at this nginx, every second.
my $nginx_port = $t->port(8080);
my $prom_port = $t->port('prom');
my $yml = $t->read_file("$root/conf/prometheus.yml");
ok($yml =~ s/(scrape_interval:\s*)\S+/${1}1s/
   && $yml =~ s/(scrape_timeout:\s*)\S+/${1}1s/
   && $yml =~ s/(evaluation_interval:\s*)\S+/${1}1s/
   && $yml =~ s/127\.0\.0\.1:8080/127.0.0.1:$nginx_port/
   && $yml =~ s/(-\s*)prometheus-rules\.yml/$1$root\/conf\/prometheus-rules.yml/,
   'conf/prometheus.yml adapted: 1 s intervals, this nginx, the rules file');
$t->write_file('prometheus.yml', $yml);

mkdir "$dir/prom";
my $pid = fork // die "fork: $!";
if ($pid == 0) {
    open STDOUT, '>', "$dir/prometheus.log";
    open STDERR, '>&', \*STDOUT;
    exec $prometheus, "--config.file=$dir/prometheus.yml",
         "--storage.tsdb.path=$dir/prom",
         "--web.listen-address=127.0.0.1:$prom_port",
         '--log.level=warn';
    exit 127;
}

# Stop Prometheus whatever happens below.
sub stop_prometheus {
    return unless $pid;
    kill 'TERM', $pid;
    for (1 .. 100) {
        last if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    if (kill 0, $pid) {
        kill 'KILL', $pid;
        waitpid($pid, 0);
    }
    $pid = 0;
}
END { stop_prometheus() }

sub prom_get {
    my ($path) = @_;
    return $t->http_get($path, port => $prom_port, timeout => 5);
}

sub query {
    my ($expr) = @_;
    (my $q = $expr) =~ s/([^A-Za-z0-9_.~-])/sprintf('%%%02X', ord $1)/ge;
    my $r = prom_get("/api/v1/query?query=$q");
    return undef unless $r->{status} == 200;
    my $j = eval { JSON::PP::decode_json($r->{body}) } or return undef;
    return $j->{status} eq 'success' ? $j->{data}{result} : undef;
}

my $ready = 0;
my $deadline = time + 15;
while (time < $deadline) {
    my $r = prom_get('/-/ready');
    if ($r->{status} == 200) { $ready = 1; last }
    last if waitpid($pid, WNOHANG) == $pid;
    sleep 0.2;
}
ok($ready, 'prometheus is up') or diag($t->read_file('prometheus.log'));

# Wait for the first scrape to land.
my $res;
$deadline = time + 15;
while ($ready && time < $deadline) {
    $res = query('skip_model_info');
    last if $res && @$res;
    sleep 0.25;
}
ok($res && @$res, 'skip_model_info came back through the query API')
    or diag(prom_get('/api/v1/targets')->{body});

my ($naive) = grep { ($_->{metric}{name} // '') eq 'naive' } @{ $res // [] };
is($naive && $naive->{metric}{version}, 'builtin',
   'skip_model_info{name="naive",version="builtin"}');
is($naive && $naive->{value}[1], '1', '... value 1');
is($naive && $naive->{metric}{job}, 'ngx_skip', '... job label from the config');

$res = query('up{job="ngx_skip"}');
is($res && $res->[0]{value}[1], '1', 'up{job="ngx_skip"} 1: the scrape succeeded');

$res = query('skip_redis_connected');
is($res && $res->[0]{value}[1], '0', 'skip_redis_connected 0 (no Redis here)');

# Prometheus' own scrapes show up in the counter it scrapes.
$res = query('skip_metrics_scrapes_total');
cmp_ok($res && @$res ? $res->[0]{value}[1] : 0, '>=', 1,
       'skip_metrics_scrapes_total counts the scrapes');

# The histogram arrives whole: a bucket per `le`, +Inf included.
$res = query('skip_redis_lookup_seconds_bucket');
is(scalar(@{ $res // [] }), 11, 'skip_redis_lookup_seconds_bucket: 11 series');

# The shipped rules loaded without errors.
my $rules = prom_get('/api/v1/rules');
like($rules->{body}, qr/arm:skip_accuracy:ratio_rate5m/,
     'the recording rules are loaded');
unlike($rules->{body}, qr/"health":"err"/, '... and healthy');

stop_prometheus();
unlike($t->read_file('prometheus.log'), qr/level=error/,
       'no errors in the prometheus log')
    or diag($t->read_file('prometheus.log'));

$t->stop;
done_testing;
