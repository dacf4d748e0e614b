#!/usr/bin/perl
# conf/prometheus.yml, conf/prometheus-rules.yml and
# conf/grafana-dashboard.json: valid for promtool, the recording rules
# compute live accuracy correctly on synthetic counters (promtool test
# rules), and every dashboard query parses as PromQL.  Needs promtool from
# the Debian prometheus package (scripts/deps.sh).
use strict;
use warnings;
use Test::More;
use SkipTest;

my $t = SkipTest->new;
my $root = $t->root;
my $dir = $t->dir;

plan skip_all => 'promtool not installed' unless `which promtool` =~ /\S/;

my $out = `promtool check config $root/conf/prometheus.yml 2>&1`;
is($? >> 8, 0, 'promtool check config') or diag($out);
like($out, qr/SUCCESS: 1 rule files found/, 'the rules file is referenced');

my $metric = qr/skip_(?:decisions|outcomes|redis_lookups|events|track_cache)_total|skip_redis_lookup_seconds_(?:bucket|sum|count)|skip_model_info/;

# --- recording rules on synthetic counters ----------------------------------
$t->write_file('rules-test.yml', <<"YML");
rule_files: [ $root/conf/prometheus-rules.yml ]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'skip_outcomes_total{arm="full",predicted="play",actual="play"}'
        values: '0+6x10'
      - series: 'skip_outcomes_total{arm="full",predicted="play",actual="skip"}'
        values: '0+2x10'
      - series: 'skip_outcomes_total{arm="full",predicted="skip",actual="skip"}'
        values: '0+2x10'
      - series: 'skip_outcomes_total{arm="seed",predicted="play",actual="play"}'
        values: '0+5x10'
      - series: 'skip_outcomes_total{arm="seed",predicted="play",actual="skip"}'
        values: '0+5x10'
      - series: 'skip_redis_lookup_seconds_bucket{le="0.0001"}'
        values: '0+50x10'
      - series: 'skip_redis_lookup_seconds_bucket{le="0.0002"}'
        values: '0+100x10'
      - series: 'skip_redis_lookup_seconds_bucket{le="+Inf"}'
        values: '0+100x10'
    promql_expr_test:
      - expr: round(arm:skip_accuracy:ratio_rate5m, 0.000001)
        eval_time: 10m
        exp_samples:
          - labels: '{arm="full"}'
            value: 0.8
          - labels: '{arm="seed"}'
            value: 0.5
      - expr: round(arm:skip_always_play_accuracy:ratio_rate5m, 0.000001)
        eval_time: 10m
        exp_samples:
          - labels: '{arm="full"}'
            value: 0.6
          - labels: '{arm="seed"}'
            value: 0.5
      - expr: round(skip_redis_lookup_seconds:p50_rate1m, 0.000001)
        eval_time: 10m
        exp_samples:
          - labels: '{}'
            value: 0.0001
YML
$out = `cd $dir && promtool test rules rules-test.yml 2>&1`;
is($? >> 8, 0, 'recording rules: live accuracy per arm (an arm without '
             . 'skip/skip cells included), baseline, latency quantile')
    or diag($out);

# --- dashboard --------------------------------------------------------------
open my $fh, '<', "$root/conf/grafana-dashboard.json" or die $!;
my $json = do { local $/; <$fh> };
close $fh;
SKIP: {
    skip 'JSON::PP not available', 1 unless eval { require JSON::PP; 1 };
    ok(eval { JSON::PP::decode_json($json) }, 'dashboard is valid JSON') or diag($@);
}
my @exprs = $json =~ /"expr": "((?:[^"\\]|\\.)*)"/g;
ok(@exprs >= 10, scalar(@exprs) . ' dashboard queries');
s/\\"/"/g for @exprs;
for my $want (qw(skip_decisions_total skip_outcomes_total skip_redis_lookups_total
                 skip_redis_lookup_seconds_bucket skip_events_total
                 skip_model_info skip_track_cache_total
                 skip_prefetches_total skip_prefetch_bytes_total
                 skip_prefetch_served_bytes_total
                 skip_prefetch_wasted_bytes_total skip_cmcd_total)) {
    ok((grep { /\b$want\b/ } @exprs), "a panel uses $want");
}
# Grafana's variables replaced by durations, every query must be PromQL.
my $rules = "groups:\n  - name: dashboard\n    rules:\n";
my $i = 0;
for my $e (@exprs) {
    (my $q = $e) =~ s/\$__range|\$__rate_interval/5m/g;
    $q =~ s/'/''/g;
    $rules .= "      - record: dashboard_query_" . $i++ . "\n        expr: '$q'\n";
}
$t->write_file('dashboard-rules.yml', $rules);
$out = `promtool check rules $dir/dashboard-rules.yml 2>&1`;
is($? >> 8, 0, 'every dashboard query parses as PromQL') or diag($out);

done_testing;
