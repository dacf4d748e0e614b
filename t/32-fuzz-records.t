#!/usr/bin/perl
# The libFuzzer target for the record decoders and the feature code they
# feed (src/fuzz/fuzz_records.c), built with clang
# -fsanitize=fuzzer,address,undefined and run briefly on the seed corpus
# t/fuzz-corpus/records/.  The module decodes whatever Redis holds: the
# target aborts on a crash, on a record that does not survive encoding and
# decoding again, and on a non-finite feature value.
# Skipped when clang or its libFuzzer runtime is not installed.
#
# SKIP_FUZZ_SECONDS (default 10) bounds the run; SKIP_FUZZ_RUNS the inputs.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path);
use SkipTest;
use SkipFuzz;

my $t    = SkipTest->new;
my $root = $t->root;
my $out  = $t->build . '/fuzz';
my $bin  = SkipFuzz::build($t, 'fuzz_records',
    [qw(fuzz/fuzz_records.c core/records.c core/records_stored.c core/featurize.c core/genres.c)],
    '-lm');

# A crashing input is written next to the binary (build/fuzz/crash-*), not
# into the source tree and not into the temp dir that is removed at exit.
my $artifacts = "-artifact_prefix=$out/";

# Every seed once: a regression run over the committed corpus.
my $corpus = "$root/t/fuzz-corpus/records";
my @seeds = glob("$corpus/*");
ok(@seeds >= 10, scalar(@seeds) . ' seed inputs');
my $res = `$bin $artifacts @seeds 2>&1`;
is($? >> 8, 0, 'every seed input passes') or diag(substr($res, -3000));

# A short fuzzing run; new inputs go to a scratch directory, never into
# the committed corpus.
my $secs = $ENV{SKIP_FUZZ_SECONDS} || 10;
my $runs = $ENV{SKIP_FUZZ_RUNS} || 2_000_000;
my $scratch = $t->dir . '/corpus';
make_path($scratch);
my $cmd = "$bin $artifacts -max_total_time=$secs -runs=$runs -timeout=10 "
        . "-rss_limit_mb=2048 -max_len=4096 -print_final_stats=1 "
        . "$scratch $corpus";
$res = `$cmd 2>&1`;
my $rc = $? >> 8;
is($rc, 0, "fuzzing for up to ${secs}s finds nothing")
    or diag(substr($res, -4000));
my ($n) = $res =~ /stat::number_of_executed_units:\s*(\d+)/;
ok(($n // 0) > 1000, 'fuzzer executed ' . ($n // 0) . ' inputs');

done_testing();
