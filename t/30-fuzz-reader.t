#!/usr/bin/perl
# The libFuzzer target for the dataset line parser (src/fuzz/fuzz_reader.c),
# built with clang -fsanitize=fuzzer,address,undefined and run briefly on
# the seed corpus t/fuzz-corpus/reader/.  The target reads every input with
# and without the sessions fast path and aborts when they disagree.
# Skipped when clang or its libFuzzer runtime is not installed.
#
# SKIP_FUZZ_SECONDS (default 15) bounds the run; SKIP_FUZZ_RUNS the inputs.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path);
use SkipTest;
use SkipFuzz;

my $t    = SkipTest->new;
my $root = $t->root;
my $bin  = SkipFuzz::build($t, 'fuzz_reader',
    [qw(fuzz/fuzz_reader.c core/dataset_reader.c core/dataset_fast.c
        core/timeparse.c core/genres.c)], '-lcjson -lm');

# Every seed once: a regression run over the committed corpus.
my $corpus = "$root/t/fuzz-corpus/reader";
my @seeds = glob("$corpus/*");
ok(@seeds >= 10, scalar(@seeds) . ' seed inputs');
my $res = `$bin @seeds 2>&1`;
is($? >> 8, 0, 'every seed input passes') or diag(substr($res, -3000));

# A short fuzzing run; new inputs go to a scratch directory, never into
# the committed corpus.
my $secs = $ENV{SKIP_FUZZ_SECONDS} || 15;
my $runs = $ENV{SKIP_FUZZ_RUNS} || 2_000_000;
my $scratch = $t->dir . '/corpus';
make_path($scratch);
$res = `$bin -max_total_time=$secs -runs=$runs -timeout=10 -rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 $scratch $corpus 2>&1`;
my $rc = $? >> 8;
is($rc, 0, "fuzzing for up to ${secs}s finds nothing") or diag(substr($res, -4000));
my ($n) = $res =~ /stat::number_of_executed_units:\s*(\d+)/;
ok(($n // 0) > 1000, 'fuzzer executed ' . ($n // 0) . ' inputs');

done_testing();
