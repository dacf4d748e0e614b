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
like($out, qr/--slice SIZE .*\n.*k, m or g/, '... --slice and its suffixes');
like($out, qr/--waste-budget F/, '... --waste-budget');
like($out, qr/skip_prefetch_threshold/, '... the directive the curve sets');
like($out, qr/coverage %\s+bytes of full plays after their first slice/,
     '... what coverage means');

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
    [ '--slice 1x',            qr/--slice 1x: expected a size/ ],
    [ '--slice -1',            qr/--slice -1: expected a size/ ],
    [ '--slice 1.5m',          qr/--slice 1\.5m/ ],
    [ '--waste-budget 2',      qr/--waste-budget: expected .*, got "2"/ ],
    [ '--curve-step 0',        qr/--curve-step: expected .*, got "0"/ ],
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
is($j->{prefetch}{slice_bytes}, 1048576, 'prefetch in 1 MiB slices by default');
ok(abs($pf{'stream-only'}{fetched_bytes}
       - $pf{'stream-only'}{requested_bytes}) < 1,
   'stream-only fetches the slices requested');
ok($pf{'stream-only'}{requested_bytes} >= $pf{'stream-only'}{listened_bytes}
   && $pf{'stream-only'}{requested_bytes} < $j->{requested_bytes},
   '... whole slices: more than heard, less than the tracks');
ok(abs($pf{'prefetch-always'}{fetched_bytes}
       - $pf{'prefetch-always'}{requested_bytes}
       - $pf{'prefetch-always'}{wasted_bytes}) < 1,
   'prefetch-always: fetched = requested + wasted');
is($pf{'prefetch-always'}{fetched_bytes}, $j->{requested_bytes},
   'prefetch-always fetches every requested byte');
is($j->{prefetch}{listened_from_events}, $j->{skips},
   'every skip has its listened share from a Skip event');
is($j->{prefetch}{listened_assumed}, 0, '... none assumed');

# --- the prefetch threshold curve ------------------------------------------
# The choice the command should make: the greatest coverage within the
# budget, ties to the least waste (undef when none meets it).
sub choose {
    my ($points, $budget) = @_;
    my $best;
    for my $p (@$points) {
        next unless $p->{waste_vs_always} <= $budget;
        if (!defined $best || $p->{coverage} > $best->{coverage}
            || ($p->{coverage} == $best->{coverage}
                && $p->{wasted_bytes} < $best->{wasted_bytes})) {
            $best = $p;
        }
    }
    return $best;
}

sub check_curve {
    my ($j, $what) = @_;
    my $c = $j->{prefetch_curve};
    my @pt = @{ $c->{points} };
    my %pf = map { $_->{policy} => $_ } @{ $j->{prefetch}{policies} };
    my $model_t = $j->{model}{threshold};
    my $chosen_t = $c->{chosen}{threshold};
    my @grid = map { $_ / 20 } 0 .. 20;
    my %want = map { $_ => 1 } @grid, $model_t, $chosen_t;
    is(join(',', map { $_->{threshold} } @pt),
       join(',', sort { $a <=> $b } keys %want),
       "$what: thresholds 0, 0.05 .. 1, the model's ($model_t) and the "
       . "chosen ($chosen_t)");
    is($chosen_t, sprintf('%.3f', $chosen_t) + 0,
       "$what: the chosen threshold has at most 3 decimals");
    my ($mono, $ranges) = (1, 1);
    for my $k (1 .. $#pt) {
        my ($a, $b) = @pt[$k - 1, $k];
        for my $f (qw(coverage wasted_bytes plays_prefetched
                      skips_prefetched fetched_bytes)) {
            if ($b->{$f} > $a->{$f}) {
                $mono = 0;
                diag("$f rises from T $a->{threshold} ($a->{$f}) to "
                     . "T $b->{threshold} ($b->{$f})");
            }
        }
    }
    for my $p (@pt) {
        $ranges &&= $p->{coverage} >= 0 && $p->{coverage} <= 1
                    && $p->{waste_vs_always} >= 0
                    && $p->{waste_vs_always} <= 1;
    }
    ok($mono, "$what: coverage, waste, plays and skips prefetched never "
       . "rise with T");
    ok($ranges, "$what: coverage and waste share in [0, 1]");
    ok($pt[0]{coverage} > $pt[-1]{coverage}
       && $pt[0]{wasted_bytes} > $pt[-1]{wasted_bytes},
       "$what: ... and do fall across the curve");
    is($pt[0]{wasted_bytes}, $pf{'prefetch-always'}{wasted_bytes},
       "$what: T 0 wastes what prefetch-always wastes");
    is($c->{always_wasted_bytes}, $pf{'prefetch-always'}{wasted_bytes},
       "$what: ... the curve's reference");
    is($pt[0]{fetched_bytes}, $pf{'prefetch-always'}{fetched_bytes},
       "$what: T 0 fetches what prefetch-always fetches");
    is($pt[0]{coverage}, 1, "$what: T 0 covers every full play");
    is($pt[0]{waste_vs_always}, 1, "$what: T 0 is 100 % of always");
    my ($m) = grep { $_->{model_threshold} } @pt;
    ok($m && $m->{threshold} == $model_t
       && $m->{wasted_bytes} == $pf{'prefetch-model'}{wasted_bytes}
       && $m->{plays_prefetched} == $pf{'prefetch-model'}{plays_prefetched}
       && $m->{skips_prefetched} == $pf{'prefetch-model'}{skips_prefetched},
       "$what: the model's threshold is prefetch-model");
    my $best = choose(\@pt, $c->{waste_budget});
    ok($best && $c->{chosen}
       && $c->{chosen}{threshold} == $best->{threshold},
       "$what: chosen T $c->{chosen}{threshold} = the most coverage within "
       . "$c->{waste_budget} of always's waste among the rows");
    ok($c->{chosen}{waste_vs_always} <= $c->{waste_budget},
       "$what: ... within the budget");
    my ($row) = grep { $_->{threshold} == $chosen_t } @pt;
    is_deeply($row, $c->{chosen}, "$what: ... and is a row of the curve");
    return $c;
}

my $curve = check_curve($j, 'curve');
is($curve->{slice_bytes}, 1048576, 'curve in 1 MiB slices');
is($curve->{waste_budget}, 0.5, 'default waste budget 0.5');

($rc, $out, $err) = run("$sim --json --quiet --policies lru --cache-size 5% "
                        . "--slice 0 --waste-budget 0.2");
is($rc, 0, '--slice 0 --waste-budget 0.2') or diag $err;
my $j0 = decode_json($out);
my $c0 = check_curve($j0, 'whole tracks');
is($c0->{slice_bytes}, 0, '--slice 0: whole tracks');
is($c0->{waste_budget}, 0.2, '--waste-budget 0.2');
my %pf0 = map { $_->{policy} => $_ } @{ $j0->{prefetch}{policies} };
ok(abs($pf0{'stream-only'}{fetched_bytes}
       - $pf0{'stream-only'}{listened_bytes}) < 1,
   'whole tracks: stream-only fetches what is listened');
ok(abs($pf0{'prefetch-always'}{wasted_bytes}
       - ($j0->{requested_bytes} - $pf0{'prefetch-always'}{listened_bytes}))
   < 1, 'whole tracks: always wastes every byte after the skip points');
ok($c0->{always_wasted_bytes} > $curve->{always_wasted_bytes},
   'slices waste less than whole tracks (a skip keeps its slices)');
ok($c0->{chosen}{threshold} > 0, 'a budget of 20 %: a threshold above 0');

($rc, $out, $err) = run("$sim --json --quiet --policies lru --cache-size 5% "
                        . "--slice 512k --curve-step 0.25 "
                        . "--waste-budget 0");
is($rc, 0, '--slice 512k --curve-step 0.25 --waste-budget 0') or diag $err;
my $j5 = decode_json($out);
is($j5->{prefetch_curve}{slice_bytes}, 524288, '512k = 524288 bytes');
my $z = $j5->{prefetch_curve}{chosen};
is(join(',', grep { $_ != $z->{threshold} }
             map { $_->{threshold} } @{ $j5->{prefetch_curve}{points} }),
   '0,0.25,0.5,0.75,1', '--curve-step 0.25: five points (0.5 the model\'s) '
   . 'and the chosen');
is($z->{wasted_bytes}, 0, 'budget 0: a threshold that wastes nothing');
ok($z->{coverage} > 0, '... yet covers some plays (finer than the rows)');
my %p5 = map { $_->{threshold} => $_ } @{ $j5->{prefetch_curve}{points} };
ok($z->{coverage} >= $p5{1}{coverage} && $z->{threshold} < 1,
   '... more than T 1');
($rc, $out, $err) = run("$sim --json --quiet --policies lru --cache-size 5% "
                        . "--slice 512k --curve-step 0.25 "
                        . "--waste-budget 0.001");
my $z1 = decode_json($out)->{prefetch_curve}{chosen};
ok($z1->{threshold} <= $z->{threshold}
   && $z1->{coverage} >= $z->{coverage}
   && $z1->{waste_vs_always} <= 0.001,
   'a larger budget: a threshold no higher, coverage no lower');

# The naive rule scores 0 or 1: above 0 every point is the same, and a
# budget below its waste has no threshold.
($rc, $out, $err) = run("$bin simulate --data $dir/data --model naive "
                        . "--quiet --json --policies lru --cache-size 5% "
                        . "--waste-budget 0.01");
is($rc, 0, 'naive, --waste-budget 0.01') or diag $err;
my $jn = decode_json($out);
ok($jn->{prefetch_curve}{points}[1]{waste_vs_always} > 0.01,
   'naive: every point above 0 wastes more than 1 %');
is($jn->{prefetch_curve}{chosen}, undef, '... JSON chosen is null');
($rc, $out) = run("$bin simulate --data $dir/data --model naive --quiet "
                  . "--policies lru --cache-size 5% --waste-budget 0.01");
like($out, qr/^chosen threshold: none: no threshold .* at most 1 % of always/m,
     'text: says no threshold meets the budget');

($rc, $out) = run("$sim --quiet --policies lru --cache-size 5%");
is($rc, 0, 'text report');
like($out, qr/^prefetch threshold curve: prefetch when P\(play\) >= T, 1\.00 MiB slices$/m,
     'text: the curve, in 1 MiB slices');
is(scalar(() = $out =~ /^(?:0|0\.\d+|1)\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+[\d.]+/mg),
   scalar @{ $curve->{points} }, 'text: one row per point of the JSON');
like($out, qr/^0\.5\s.*\s model\b/m, 'text: marks the model\'s threshold');
like($out, qr/^0\s+100\.00\s+100\.00\s+100\.00\s+[\d.]+\s+100\.00\s/m,
     'text: T 0 prefetches everything, 100 % of always');
my ($chosen_t) = $out =~ /^chosen threshold: ([\d.]+) \(coverage [\d.]+ %, waste [\d.]+ % of always\)/m;
is($chosen_t, $curve->{chosen}{threshold}, 'text: names the chosen threshold');
like($out, qr/^\Q$chosen_t\E\s.*<- chosen$/m, 'text: marks its row');
like($out, qr/^  nginx: skip_prefetch_threshold \Q$chosen_t\E;$/m,
     'text: the directive to configure');

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

# --- slices as the cached objects, learned admission ------------------------------
($rc, $out, $err) = run("$sim --json --quiet --cache-objects slices "
                        . "--policies lru,belady --limit 500");
is($rc, 0, '--cache-objects slices') or diag $err;
$j = decode_json($out);
is($j->{cache_objects}, 'slices', '... reported');
is($j->{cache_slice_bytes}, 1048576, '... of --slice (1m by default)');
is($j->{requests}, 500, '... 500 listens');
ok($j->{cache_requests} > $j->{requests},
   "... more slice requests ($j->{cache_requests}) than listens");
ok($j->{cache_object_count} > 0, '... slice objects counted');
my %p = map { $_->{policy} => $_ } @{ $j->{sizes}[1]{policies} };
is($p{lru}{requests}, $j->{cache_requests}, 'the caches replay the slices');
ok($p{belady}{hits} >= $p{lru}{hits}, 'belady on top in slices too');
for my $case (
    [ '--cache-objects disks',  qr/--cache-objects disks: expected tracks or slices/ ],
    [ '--cache-objects slices --slice 0', qr/--slice 0 means whole tracks/ ],
    [ '--policies learned',     qr/learned needs --admit-model/ ],
    [ '--admit-dump x.tsv',     qr/--admit-dump needs --admit-model/ ],
    [ '--admit-model a,b',      qr/2 models for 3 cache sizes/ ],
) {
    ($rc, $out, $err) = run("$sim $case->[0]");
    is($rc, 2, "usage error: $case->[0]");
    like($err, $case->[1], '... names the option and value');
}
($rc, $out, $err) = run("$sim --cache-objects slices --admit-model "
                        . "$dir/models/small.model --limit 50 --quiet");
is($rc, 1, 'a skip model as --admit-model fails');
like($err, qr/not an admission model/, '... saying so');

done_testing();
