package SkipFuzz;
# Builds a libFuzzer target (src/fuzz/*.c) for a test: clang with
# -fsanitize=fuzzer,address,undefined into $BUILD/fuzz, rebuilt only when a
# source or header is newer than the binary.  Plans skip_all when clang or
# its libFuzzer runtime is missing; a compile error is a failed test.
use strict;
use warnings;
use Test::More;
use File::Path qw(make_path);

# build($t, 'fuzz_reader', [qw(fuzz/fuzz_reader.c ...)], '-lcjson -lm'): the
# binary's path (the test ends here when it cannot be built).
sub build {
    my ($t, $name, $files, $libs) = @_;
    my $root = $t->root;
    my $out  = $t->build . '/fuzz';
    my $bin  = "$out/$name";
    my @src  = map { "$root/src/$_" } @$files;

    my $clang = `command -v clang 2>/dev/null`;
    chomp $clang;
    plan skip_all => 'clang not installed' unless $clang;

    make_path($out);
    my $newest = 0;
    for (@src, glob("$root/src/*/*.h")) {
        my $m = (stat $_)[9] // 0;
        $newest = $m if $m > $newest;
    }
    if (!-x $bin || (stat $bin)[9] < $newest) {
        my $log = $t->dir . "/clang-$name.log";
        system("$clang -g -O1 -fsanitize=fuzzer,address,undefined "
               . "-fno-sanitize-recover=undefined -D_GNU_SOURCE "
               . join(' ', @src) . " $libs -o $bin >$log 2>&1");
        if ($? != 0) {
            my $msg = $t->read_file($log);
            plan skip_all => 'libFuzzer runtime not available'
                if $msg =~ /fuzzer|cannot find|No such file/i
                   && $msg !~ /\.c:\d+:\d+: error/;
            fail("$name builds");
            diag($msg);
            done_testing();
            exit;
        }
    }
    ok(-x $bin, "$name built");
    return $bin;
}

1;
