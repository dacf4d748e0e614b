#!/usr/bin/perl
# Metrics: the skip_metrics handler serves valid Prometheus text
# (every sample typed, counters named *_total, histogram buckets cumulative
# with +Inf == _count, accepted by `promtool check metrics`), with every
# metric name the ops side uses (conf/prometheus-rules.yml,
# conf/grafana-dashboard.json); counters add up across workers, survive a
# reload, and the zone works when declared implicitly or late.
use strict;
use warnings;
use Test::More;
use SkipTest;
use Time::HiRes qw(sleep time);

my $t = SkipTest->new;
my $root = $t->root;

# --- helpers ----------------------------------------------------------------

# Parse the text format into { type => {family => type}, samples => [...] },
# followed by the format errors found.
sub parse_exposition {
    my ($body) = @_;
    my (%type, %help, @samples, @err);
    my $n = 0;
    my @lines = split /\n/, $body;
    for my $line (@lines) {
        $n++;
        if ($line =~ /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S/) {
            push @err, "line $n: second HELP for $1" if $help{$1}++;
        } elsif ($line =~ /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/) {
            my ($f, $ty) = ($1, $2);
            push @err, "line $n: second TYPE for $f" if $type{$f};
            push @err, "line $n: TYPE after samples of $f"
                if grep { $_->{name} =~ /^\Q$f\E(?:_bucket|_sum|_count)?$/ } @samples;
            $type{$f} = $ty;
        } elsif ($line =~ /^#/) {
            push @err, "line $n: unknown comment '$line'";
        } elsif ($line =~ /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/) {
            my ($name, $lab, $v) = ($1, $2 // '', $3);
            my %l;
            while ($lab =~ s/^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"(?:,|$)//) {
                push @err, "line $n: label $1 twice" if exists $l{$1};
                $l{$1} = $2;
            }
            push @err, "line $n: bad labels '$lab'" if $lab ne '';
            push @err, "line $n: bad value '$v'"
                unless $v =~ /^(?:[0-9]+(?:\.[0-9]+)?(?:e[+-]?[0-9]+)?|\+Inf|-Inf|NaN)$/;
            push @samples, { name => $name, labels => \%l, value => $v };
        } else {
            push @err, "line $n: not a sample: '$line'";
        }
    }
    push @err, 'no final newline' unless $body =~ /\n\z/;
    return ({ type => \%type, samples => \@samples }, @err);
}

# The family a sample belongs to (histogram series carry suffixes).
sub family {
    my ($name, $type) = @_;
    if ($name =~ /^(.*)_(?:bucket|sum|count)$/
        && ($type->{$1} // '') eq 'histogram')
    {
        return $1;
    }
    return $name;
}

sub series_key {
    my ($s) = @_;
    return $s->{name} . '{' . join(',', map { "$_=$s->{labels}{$_}" }
                                        sort keys %{ $s->{labels} }) . '}';
}

# The rules the format and our conventions impose; returns the violations.
sub check_exposition {
    my ($m) = @_;
    my (@err, %seen);
    for my $s (@{ $m->{samples} }) {
        my $type = $m->{type}{ family($s->{name}, $m->{type}) };
        push @err, "$s->{name}: no TYPE" unless $type;
        next unless $type;
        push @err, "$s->{name}: counter not named *_total"
            if $type eq 'counter' && $s->{name} !~ /_total$/;
        my $key = series_key($s);
        push @err, "$key: duplicate series" if $seen{$key}++;
    }
    for my $h (grep { $m->{type}{$_} eq 'histogram' } keys %{ $m->{type} }) {
        my @b = grep { $_->{name} eq "${h}_bucket" } @{ $m->{samples} };
        my ($count) = grep { $_->{name} eq "${h}_count" } @{ $m->{samples} };
        my ($sum) = grep { $_->{name} eq "${h}_sum" } @{ $m->{samples} };
        push @err, "$h: no _count or _sum" unless $count && $sum;
        push @err, "$h: no buckets" unless @b;
        next unless @b && $count;
        my ($prev_le, $prev_v) = (-1, 0);
        for my $b (@b) {
            my $le = $b->{labels}{le} // 'none';
            my $num = $le eq '+Inf' ? 9**9**9 : $le;
            push @err, "$h: le '$le' out of order" unless $num > $prev_le;
            push @err, "$h: bucket le=$le not cumulative"
                if $b->{value} < $prev_v;
            ($prev_le, $prev_v) = ($num, $b->{value});
        }
        push @err, "$h: last bucket is not +Inf"
            unless $b[-1]{labels}{le} eq '+Inf';
        push @err, "$h: +Inf bucket $b[-1]{value} != _count $count->{value}"
            unless $b[-1]{value} == $count->{value};
    }
    return @err;
}

sub value_of {
    my ($m, $name, %labels) = @_;
    S: for my $s (@{ $m->{samples} }) {
        next unless $s->{name} eq $name;
        for (keys %labels) {
            next S unless ($s->{labels}{$_} // "\0") eq $labels{$_};
        }
        return $s->{value};
    }
    return undef;
}

# Every counter and histogram series with its value.
sub counters {
    my ($m) = @_;
    my %c;
    for my $s (@{ $m->{samples} }) {
        my $type = $m->{type}{ family($s->{name}, $m->{type}) } // '';
        $c{ series_key($s) } = $s->{value} if $type =~ /counter|histogram/;
    }
    return \%c;
}

sub scrape {
    my $r = $t->http_get('/metrics');
    my ($m, @err) = parse_exposition($r->{body});
    return ($r, $m, @err);
}

sub workers {
    my $master = $t->read_file('nginx.pid');
    chomp $master;
    return grep { /^\d+$/ } map { s/\s+//gr }
           `ps -o pid= --ppid $master 2>/dev/null`;
}

# Reload and wait until a worker of the new generation answers.
sub reload_and_wait {
    my %old = map { $_ => 1 } workers();
    $t->reload_nginx;
    my $deadline = time + 10;
    while (time < $deadline) {
        my $r = $t->http_get('/metrics');
        return 1 if $r->{status} == 200
                    && !$old{ $r->{headers}{'x-pid'} // 0 };
        sleep 0.1;
    }
    return 0;
}

my $template = <<'CONF';
events { worker_connections 64; }
http {
    %%ZONE%%
    server {
        listen 127.0.0.1:%%PORT_8080%%;
        location = /metrics {
            skip_metrics;
            add_header X-Pid $pid always;
        }
        location / { return 200 "hello\n"; }
    }
    %%LATE%%
}
CONF

# The template with a zone line before and/or after the server, two workers.
sub write_conf_with {
    my (%o) = @_;
    my $c = $template;
    $c =~ s/%%ZONE%%/$o{zone} \/\/ ''/e;
    $c =~ s/%%LATE%%/$o{late} \/\/ ''/e;
    my $name = $o{name} // 'nginx.conf';
    $t->write_conf($c, $name);
    $c = $t->read_file($name);
    $c =~ s/worker_processes 1;/worker_processes 2;/;
    $t->write_file($name, $c);
    return $t->dir . "/$name";
}

# --- configuration errors ---------------------------------------------------

for my $case (
    [ 'skip_zone m 16k;', qr/zone "m" is too small, at least \d+k needed/,
      'a zone too small for the counters' ],
    [ 'skip_zone m 1m; skip_zone n 1m;', qr/"skip_zone" directive is duplicate/,
      'a second skip_zone' ],
    [ 'skip_zone m lots;', qr/invalid zone size "lots"/, 'a bad size' ],
    [ 'limit_req_zone $uri zone=skip:1m rate=1r/s;',
      qr/zone "skip" is already declared for a different use/,
      'the default zone name taken by another module' ],
) {
    my ($zone, $re, $what) = @$case;
    my $conf = write_conf_with(zone => $zone, name => 'bad.conf');
    my ($rc, $out) = $t->nginx_test_conf($conf);
    isnt($rc, 0, "nginx -t rejects $what");
    like($out, $re, "... and says why") or diag($out);
}

my $conf = write_conf_with(zone => 'skip_zone m 1m;', late => 'skip_zone n 1m;',
                           name => 'bad.conf');
my ($rc, $out) = $t->nginx_test_conf($conf);
like($out, qr/"skip_zone" directive is duplicate/,
     'a skip_zone after an explicit one is a duplicate, wherever it is');

# --- a running nginx with two workers ---------------------------------------

write_conf_with(zone => 'skip_zone skipm 1m;');
($rc, $out) = $t->nginx_test_conf;
is($rc, 0, 'nginx -t accepts skip_zone + skip_metrics') or diag($out);
$t->start_nginx;

my ($r, $m, @err) = scrape();
is($r->{status}, 200, 'GET /metrics: 200');
is($r->{headers}{'content-type'}, 'text/plain; version=0.0.4',
   'Content-Type of the Prometheus text format 0.0.4');
is($r->{headers}{'content-length'}, length($r->{body}), 'Content-Length');
is_deeply(\@err, [], 'every line parses') or diag(join "\n", @err);
@err = check_exposition($m);
is_deeply(\@err, [], 'every sample typed, counters *_total, histogram '
                   . 'cumulative with +Inf == _count, no duplicate series')
    or diag(join "\n", @err);

SKIP: {
    skip 'promtool not installed', 2 unless `which promtool` =~ /\S/;
    $t->write_file('scrape.txt', $r->{body});
    my $lint = `promtool check metrics < ${\ $t->dir}/scrape.txt 2>&1`;
    is($? >> 8, 0, 'promtool check metrics: exit 0') or diag($lint);
    is($lint, '', 'promtool check metrics: no lint remarks') or diag($lint);
}

my %types = (
    skip_decisions_total => 'counter',
    skip_outcomes_total => 'counter',
    skip_redis_lookups_total => 'counter',
    skip_redis_lookup_seconds => 'histogram',
    skip_events_total => 'counter',
    skip_model_info => 'gauge',
    skip_track_cache_total => 'counter',
    skip_redis_connected => 'gauge',
    skip_fallbacks_total => 'counter',
    skip_metrics_scrapes_total => 'counter',
);
is($m->{type}{$_}, $types{$_}, "$_ is a $types{$_}") for sort keys %types;

# The names the dashboard and the recording rules query must all be served.
my $ops = $t->read_file("$root/conf/prometheus-rules.yml")
        . $t->read_file("$root/conf/grafana-dashboard.json");
my %used = map { $_ => 1 } $ops =~ /(?<![\w:])(skip_[a-z_]+)(?![\w:])/g;
my %served = map { $_->{name} => 1 } @{ $m->{samples} };
my @missing = grep { !$served{$_} } sort keys %used;
cmp_ok(scalar(keys %used), '>=', 8, 'the ops files name the metrics: '
                                    . join(' ', sort keys %used));
is_deeply(\@missing, [], 'every metric the dashboard and rules use is served');

is(value_of($m, 'skip_model_info', name => 'naive', version => 'builtin'), 1,
   'skip_model_info{name="naive",version="builtin"} 1');
for my $d (qw(play skip)) {
    is(value_of($m, 'skip_decisions_total', arm => 'naive', decision => $d), 0,
       "skip_decisions_total{arm=\"naive\",decision=\"$d\"} starts at 0");
    for my $a (qw(play skip)) {
        ok(defined value_of($m, 'skip_outcomes_total', arm => 'naive',
                            predicted => $d, actual => $a),
           "skip_outcomes_total{arm=\"naive\",predicted=\"$d\",actual=\"$a\"}");
    }
}
for my $res (qw(ok missing malformed timeout error disconnected)) {
    ok(defined value_of($m, 'skip_redis_lookups_total', result => $res),
       "skip_redis_lookups_total{result=\"$res\"}");
}
for my $res (qw(accepted rejected unavailable)) {
    ok(defined value_of($m, 'skip_events_total', result => $res),
       "skip_events_total{result=\"$res\"}");
}
for my $res (qw(hit miss expired)) {
    ok(defined value_of($m, 'skip_track_cache_total', result => $res),
       "skip_track_cache_total{result=\"$res\"}");
}
for my $res (qw(missing malformed timeout error disconnected badid off nomodel)) {
    ok(defined value_of($m, 'skip_fallbacks_total', reason => $res),
       "skip_fallbacks_total{reason=\"$res\"}");
}
is(join(' ', map { $_->{labels}{le} }
             grep { $_->{name} eq 'skip_redis_lookup_seconds_bucket' }
             @{ $m->{samples} }),
   '0.0001 0.00025 0.0005 0.001 0.0025 0.005 0.01 0.025 0.05 0.1 +Inf',
   'latency buckets: sub-millisecond up to 100 ms, then +Inf');
is(value_of($m, 'skip_redis_connected'), 0, 'skip_redis_connected 0');

# --- methods ----------------------------------------------------------------

$r = $t->http_request('HEAD', '/metrics');
is($r->{status}, 200, 'HEAD /metrics: 200');
is($r->{body}, '', '... without a body');
$r = $t->http_post('/metrics', 'x=1');
is($r->{status}, 405, 'POST /metrics: 405');
is($r->{headers}{allow}, 'GET, HEAD', '... with Allow: GET, HEAD');

# --- across workers ---------------------------------------------------------

# Each scrape counts itself in its worker's shard: the sum over the shards
# must be exact, whichever worker served which request.
($r, $m) = scrape();
my $base = value_of($m, 'skip_metrics_scrapes_total');
my %pids;
for (1 .. 60) {
    my $x = $t->http_get('/metrics');
    $pids{ $x->{headers}{'x-pid'} // '?' }++;
}
($r, $m) = scrape();
is(value_of($m, 'skip_metrics_scrapes_total'), $base + 61,
   'skip_metrics_scrapes_total counts every scrape exactly across workers');
note('scrapes by worker pid: '
     . join(', ', map { "$_ x$pids{$_}" } sort keys %pids));

# --- reload -----------------------------------------------------------------

my $before = counters($m);
my $scrapes = $before->{'skip_metrics_scrapes_total{}'};
ok(reload_and_wait(), 'reload: a new worker serves /metrics');
($r, $m, @err) = scrape();
is_deeply([ @err, check_exposition($m) ], [], 'after the reload: valid')
    or diag(join "\n", @err);
my $after = counters($m);
my @lost = grep { !defined $after->{$_} || $after->{$_} < $before->{$_} }
           sort keys %$before;
is_deeply(\@lost, [], 'reload: no counter went back or vanished')
    or diag("@lost");
cmp_ok(value_of($m, 'skip_metrics_scrapes_total'), '>', $scrapes,
       "reload: skip_metrics_scrapes_total kept its count ($scrapes before)");

# A different size is a different zone: nginx starts it empty.
write_conf_with(zone => 'skip_zone skipm 2m;');
ok(reload_and_wait(), 'reload with the zone resized');
($r, $m, @err) = scrape();
is_deeply([ @err, check_exposition($m) ], [], '... valid');
cmp_ok(value_of($m, 'skip_metrics_scrapes_total'), '<', $scrapes,
       '... and counting afresh');

# Without skip_zone, skip_metrics declares the default zone.
write_conf_with();
ok(reload_and_wait(), 'reload without skip_zone (default zone "skip")');
($r, $m, @err) = scrape();
is($r->{status}, 200, '... /metrics served');
is_deeply([ @err, check_exposition($m) ], [], '... valid');

# A skip_zone after the skip_metrics that declared the default renames it.
write_conf_with(late => 'skip_zone late 2m;');
($rc, $out) = $t->nginx_test_conf;
is($rc, 0, 'skip_zone after skip_metrics: nginx -t accepts it') or diag($out);
ok(reload_and_wait(), '... reload');
($r, $m, @err) = scrape();
is($r->{status}, 200, '... /metrics served');
is_deeply([ @err, check_exposition($m) ], [], '... valid');
my $n1 = value_of($m, 'skip_metrics_scrapes_total');
ok(reload_and_wait(), '... a second reload keeps that zone');
($r, $m) = scrape();
cmp_ok(value_of($m, 'skip_metrics_scrapes_total'), '>', $n1,
       '... with its counts');

$t->stop;
done_testing;
