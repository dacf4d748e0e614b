#!/usr/bin/perl
# skipctl simulate on a small generated dataset: the JSON report's shape and
# accounting, Belady on top of every policy, the replay being exactly the
# test rows `skipctl train` evaluates (same count, same model accuracy),
# usage errors naming the option and value, and determinism.
use strict;
use warnings;
use Test::More;
use JSON::PP;
use SkipTest;

my $t   = SkipTest->new;
my $bin = $t->skipctl;
my $dir = $t->dir;

sub run {
    my ($cmd) = @_;
    my $out = `$cmd 2>$dir/stderr`;
    my $rc = $? >> 8;
    return ($rc, $out, $t->read_file('stderr'));
}

my ($rc, $out, $err) = run("$bin gen --out $dir/data --scale 0.02 --seed 5 "
                           . "--quiet");
is($rc, 0, 'gen --scale 0.02') or diag $err;
($rc, $out, $err) = run("$bin train --data $dir/data --name small "
                        . "--model-dir $dir/models --json --quiet");
is($rc, 0, 'train a model') or diag $err;
my $train = decode_json($out);
my $test_rows = $train->{data}{test_rows};
ok($test_rows > 1000, "train holds out $test_rows rows");

my $sim = "$bin simulate --data $dir/data --model $dir/models/small.model";

# --- help and usage errors ----------------------------------------------------
($rc, $out) = run("$bin simulate --help");
is($rc, 0, 'simulate --help exits 0');
like($out, qr/usage: skipctl simulate --data DIR --model/, '... usage line');
like($out, qr/belady/, '... describes the policies');
like($out, qr/EXIT STATUS/, '... and the exit status');

for my $case (
    [ '--cache-size 0',        qr/--cache-size 0\b/ ],
    [ '--cache-size 10x',      qr/--cache-size 10x.*suffix/ ],
    [ '--cache-size 1%,,5%',   qr/--cache-size 1%,,5%.*empty/ ],
    [ '--cache-size 101%',     qr/--cache-size 101%/ ],
    [ '--policies nope',       qr/--policies nope.*"nope"/ ],
    [ '--policies lru,nope',   qr/"nope".*belady/ ],
    [ '--bitrate 0',           qr/--bitrate: expected .*, got "0"/ ],
    [ '--inactive 5y',         qr/--inactive 5y/ ],
    [ '--limit 2.5',           qr/--limit 2\.5/ ],
    [ '--threshold 1.5',       qr/--threshold: expected .*, got "1\.5"/ ],
    [ '--no-such-option',      qr/--no-such-option/ ],
) {
    my ($opt, $re) = @$case;
    ($rc, $out, $err) = run("$sim --quiet $opt");
    is($rc, 2, "$opt is a usage error");
    like($err, $re, '... naming the option and value');
}
($rc, $out, $err) = run("$bin simulate --model naive --quiet");
is($rc, 2, 'missing --data is a usage error');
like($err, qr/--data/, '... naming --data');
($rc, $out, $err) = run("$bin simulate --data $dir/data --quiet");
is($rc, 2, 'missing --model is a usage error');
like($err, qr/--model/, '... naming --model');
($rc, $out, $err) = run("$bin simulate --data $dir/data "
                        . "--model $dir/models/none.model --quiet");
is($rc, 1, 'an unreadable model fails');
like($err, qr{models/none\.json}, '... naming the file');
$t->write_file('models/broken.model', "not a liblinear model\n");
system("cp $dir/models/small.json $dir/models/broken.json");
($rc, $out, $err) = run("$bin simulate --data $dir/data "
                        . "--model $dir/models/broken.model --quiet");
is($rc, 1, 'a corrupt model fails');
like($err, qr{broken\.model}, '... naming the file');
($rc, $out, $err) = run("$bin simulate --data $dir/nonexistent --model naive "
                        . "--quiet");
is($rc, 1, 'a missing dataset fails');
like($err, qr{nonexistent/\S+\.jsonl}, '... naming the file');

# --- the JSON report ------------------------------------------------------------
($rc, $out, $err) = run("$sim --json");
is($rc, 0, 'simulate --json') or diag $err;
like($err, qr/skipctl simulate: .*requests/, 'progress on stderr');
my $j = eval { decode_json($out) };
ok($j, 'stdout is one JSON object') or diag $@;
my $json1 = $out;

is($j->{requests}, $test_rows, 'requests = the test rows of skipctl train');
is($j->{test_rows}, $test_rows, 'test_rows reported');
is($j->{plays} + $j->{skips}, $j->{requests}, 'plays + skips = requests');
ok(abs($j->{model_accuracy} - $train->{model}{accuracy}) < 1e-12,
   "the model's decisions are eval's ($j->{model_accuracy})");
is($j->{bitrate_kbps}, 160, 'default bitrate 160 kbps');
is($j->{inactive_s}, 3600, 'default inactive 1h');
ok($j->{unique_bytes} > 0 && $j->{unique_bytes} <= $j->{requested_bytes},
   'unique bytes <= requested bytes');

my @all = qw(lru min-uses-2 tinylfu skip skip-nocache skip+tinylfu
             skip+min-uses-2 oracle-skip oracle-nocache belady);
is(scalar @{ $j->{sizes} }, 3, 'three sizes by default');
is(join(',', map { $_->{cache_size} } @{ $j->{sizes} }), '1%,5%,10%',
   '... 1%, 5%, 10%');
my ($shape, $range, $sums, $top, $lru1, $skips) = (1, 1, 1, 1, 1, 1);
for my $s (@{ $j->{sizes} }) {
    my %p = map { $_->{policy} => $_ } @{ $s->{policies} };
    $shape &&= join(',', map { $_->{policy} } @{ $s->{policies} })
               eq join(',', @all);
    my $want = int($s->{capacity_share} * $j->{unique_bytes} + 0.5);
    $shape &&= abs($s->{capacity_bytes} - $want) <= 1;
    for my $r (values %p) {
        for my $k (qw(hit_ratio byte_hit_ratio bypass_ratio)) {
            $range &&= defined $r->{$k} && $r->{$k} >= 0 && $r->{$k} <= 1;
        }
        $sums &&= $r->{requests} == $j->{requests}
               && $r->{hits} + $r->{admissions} + $r->{not_stored}
                  == $r->{requests}
               && $r->{origin_bytes} == $r->{bytes} - $r->{hit_bytes}
               && $r->{bytes} == $j->{requested_bytes}
               && $r->{evictions} <= $r->{admissions};
        if ($r->{policy} ne 'belady'
            && $r->{hit_ratio} > $p{belady}{hit_ratio}) {
            $top = 0;
            diag("$s->{cache_size}: $r->{policy} $r->{hit_ratio} > belady "
                 . $p{belady}{hit_ratio});
        }
    }
    $lru1 &&= $p{lru}{hit_ratio_vs_lru} == 1
              && $p{lru}{written_bytes_vs_lru} == 1;
    $skips &&= $p{skip}{skip_decisions} == $j->{predicted_skips}
               && $p{'oracle-skip'}{skip_decisions} == $j->{skips}
               && $p{'oracle-nocache'}{skip_decisions} == $j->{skips}
               && $p{lru}{skip_decisions} == 0
               && $p{skip}{not_stored} >= $p{skip}{skip_decisions};
}
ok($shape, 'every size lists every policy in order, capacity = share');
ok($range, 'hit, byte hit and bypass ratios in [0, 1]');
ok($sums, 'hits + stored + not stored = requests; origin = bytes - hits');
ok($top, 'belady >= every other policy at each size');
ok($lru1, 'lru relative to itself is 1');
ok($skips, 'skip follows the model, oracle-skip the outcomes');

my %pf = map { $_->{policy} => $_ } @{ $j->{prefetch}{policies} };
is(join(',', sort keys %pf),
   'prefetch-always,prefetch-model,prefetch-oracle,stream-only',
   'prefetch: four policies');
ok($pf{'prefetch-always'}{wasted_bytes} >= $pf{'prefetch-model'}{wasted_bytes}
   && $pf{'prefetch-model'}{wasted_bytes} >= 0
   && $pf{'prefetch-oracle'}{wasted_bytes} == 0
   && $pf{'stream-only'}{wasted_bytes} == 0,
   'prefetch: always wastes most, the oracle and streaming nothing');
ok(abs($pf{'stream-only'}{fetched_bytes}
       - $pf{'stream-only'}{listened_bytes}) < 1,
   'stream-only fetches what is listened');
is($pf{'prefetch-always'}{fetched_bytes}, $j->{requested_bytes},
   'prefetch-always fetches every requested byte');
is($j->{prefetch}{listened_from_events}, $j->{skips},
   'every skip has its listened share from a Skip event');
is($j->{prefetch}{listened_assumed}, 0, '... none assumed');

# --- determinism ------------------------------------------------------------------
($rc, $out) = run("$sim --json --quiet");
is($rc, 0, 'second run');
is($out, $json1, 'two runs give identical JSON');

# --- options ------------------------------------------------------------------------
($rc, $out, $err) = run("$sim --json --quiet --policies belady,lru "
                        . "--cache-size 1M,2.5G,50% --limit 500 "
                        . "--bitrate 320 --inactive 10m");
is($rc, 0, 'options') or diag $err;
$j = decode_json($out);
is($j->{requests}, 500, '--limit 500');
is($j->{test_rows}, $test_rows, '... of all the test rows');
is($j->{bitrate_kbps}, 320, '--bitrate 320');
is($j->{inactive_s}, 600, '--inactive 10m');
is(join(',', map { $_->{policy} } @{ $j->{sizes}[0]{policies} }),
   'belady,lru', '--policies keeps the order given');
is($j->{sizes}[0]{capacity_bytes}, 1048576, '1M = 1048576 bytes');
is($j->{sizes}[1]{capacity_bytes}, 2.5 * 1024**3, '2.5G in bytes');
my $tiny = $j->{sizes}[0]{policies}[1];
is($tiny->{hits}, 0, 'a 1 MiB cache holds no track: no hit');
is($tiny->{too_large}, 500, '... every request too large');

($rc, $out, $err) = run("$bin simulate --data $dir/data --model naive "
                        . "--quiet --no-skip-times --policies lru,skip");
is($rc, 0, 'naive model, text report, --no-skip-times') or diag $err;
like($out, qr/^model naive\@1 on /m, 'text: names the model');
is(scalar(() = $out =~ /^cache \S+ = /mg), 3, 'text: one table per size');
like($out, qr/^lru\s+[\d.]+\s+1\.000\s/m, 'text: lru row, 1.000 x lru');
like($out, qr/^skip\s+[\d.]+\s+[\d.]+\s/m, 'text: skip row');
like($out, qr/^prefetch-model\s/m, 'text: prefetch table');
like($out, qr/0 skips from Skip times, \d+ assumed 60 %/,
     'text: --no-skip-times assumes 60 %');

done_testing();
