#!/usr/bin/perl
# Guarded loads.  `skipctl features load` refuses to activate
# unusable data (a file with no valid rows, too many rejected lines, far
# fewer users or tracks than the active snapshot) unless --force, leaving
# the old snapshot active; bad field values are counted and reported as
# file:line: field.  `features set` refuses hexadecimal and fractional
# counters.  The README's /metrics example is access-restricted.
use strict;
use warnings;

use File::Copy qw(copy);
use File::Path qw(make_path);
use Test::More;

use SkipTest;

my $t = SkipTest->new;
my $dir = $t->dir;
my $skipctl = $t->skipctl;
plan skip_all => "no $skipctl" unless -x $skipctl;

sub sk {
    my (@args) = @_;
    my $pid = fork // die;
    if ($pid == 0) {
        open STDOUT, '>', "$dir/out" or die;
        open STDERR, '>', "$dir/err" or die;
        exec $skipctl, @args;
        exit 127;
    }
    waitpid($pid, 0);
    my $e = $t->read_file("$dir/err");
    $e =~ s/\s+\z//;
    return ($? >> 8, $t->read_file("$dir/out"), $e);
}

sub lines_of { my ($f) = @_; open my $fh, '<', $f or die "$f: $!"; my @l = <$fh>; return @l }

# A copy of the dataset with one file replaced by $edit->(lines).
sub variant {
    my ($name, $file, $edit) = @_;
    my $d = "$dir/$name";
    make_path($d);
    for my $f (qw(artists tracks users sessions track_storage)) {
        copy("$dir/d/$f.jsonl", "$d/$f.jsonl") or die;
    }
    my @l = $edit->(lines_of("$dir/d/$file"));
    open my $fh, '>', "$d/$file" or die;
    print $fh @l;
    close $fh;
    return $d;
}

my ($rc, $out, $err) = sk('gen', '--out', "$dir/d", '--scale', '0.01', '--seed', '7',
                          '--quiet');
is($rc, 0, 'skipctl gen') or diag($err);

my $rport = $t->start_redis;
my @R = ('--redis', "127.0.0.1:$rport");

($rc, $out, $err) = sk('features', 'load', '--data', "$dir/d", '--model', 'naive', @R);
is($rc, 0, 'a good dataset loads') or diag($err);
my $good = $t->redis('GET', 'skip:active');

# ---- item 3: guarded activation -------------------------------------------

my @bad = (
    [ 'empty users.jsonl', variant('nousers', 'users.jsonl', sub { () }),
      qr/users\.jsonl.*no valid rows/ ],
    [ 'sessions.jsonl of random bytes',
      variant('junk', 'sessions.jsonl', sub { map { "\x01garbage \xff$_\n" } 1 .. 500 }),
      qr/sessions\.jsonl.*no valid rows/ ],
    [ 'a fifth of tracks.jsonl rejected',
      variant('badtracks', 'tracks.jsonl',
              sub { my $i = 0; map { $i++ % 5 ? $_ : "{not json\n" } @_ }),
      qr/tracks\.jsonl.*rejected.*--max-bad/ ],
    [ 'a third of the users', variant('fewusers', 'users.jsonl',
                                      sub { my $i = 0; grep { $i++ % 3 == 0 } @_ }),
      qr/users.*fewer than.*active snapshot.*--min-ratio/ ],
);
for my $b (@bad) {
    my ($what, $d, $re) = @$b;
    ($rc, $out, $err) = sk('features', 'load', '--data', $d, '--model', 'naive', @R);
    is($rc, 1, "$what: load refused (exit 1)");
    like($err, $re, "$what: says why") or diag($err);
    like($err, qr/--force/, "$what: says how to override");
    is($t->redis('GET', 'skip:active'), $good, "$what: the old snapshot stays active");
}

# thresholds are options
my $ft = $bad[2][1];
($rc, $out, $err) = sk('features', 'load', '--data', $ft, '--model', 'naive',
                       '--max-bad', '0.5', @R);
is($rc, 0, '--max-bad 0.5 lets a fifth of bad lines through') or diag($err);
like($err, qr/tracks\.jsonl:\d+: /, 'rejected lines are reported as file:line');
my $fu = $bad[3][1];
($rc, $out, $err) = sk('features', 'load', '--data', $fu, '--model', 'naive',
                       '--min-ratio', '0.2', @R);
is($rc, 0, '--min-ratio 0.2 accepts a third of the users') or diag($err);
my $small = $t->redis('GET', 'skip:active');
isnt($small, $good, '... and activates it');
($rc, $out, $err) = sk('features', 'load', '--data', $bad[0][1], '--model', 'naive',
                       '--force', @R);
is($rc, 0, '--force activates even an empty users.jsonl') or diag($err);
like($err, qr/no valid rows/, '... still saying what is wrong');
isnt($t->redis('GET', 'skip:active'), $small, '... and activates it');
($rc, undef, $err) = sk('features', 'load', '--data', "$dir/d", '--model', 'naive',
                        '--max-bad', 'lots', @R);
is($rc, 2, '--max-bad lots: usage error');
like($err, qr/--max-bad/, '... naming the option');

# bad field values that become "missing": counted, file:line: field
my $bv = variant('badvals', 'users.jsonl', sub {
    my $i = 0;
    map { s/"premium_user":\s*(true|false|[01])/"premium_user":"yes"/ if $i++ < 3; $_ } @_
});
($rc, $out, $err) = sk('features', 'load', '--data', $bv, '--model', 'naive', @R);
is($rc, 0, 'bad field values do not refuse a load') or diag($err);
like($err, qr/users\.jsonl:1: field "premium_user"/, 'each is reported as file:line: field')
    or diag($err);
like($err, qr/users\.jsonl: 3 bad field values taken as missing \(premium_user 3\)/,
     'and summarised per field') or diag($err);

# ---- item 8: features set refuses hex and fractional counters ---------------

my ($u) = map { /"user_id":(\d+)/ ? $1 : () } lines_of("$dir/d/users.jsonl");
my $snap = $t->redis('GET', 'skip:active');
my $before = $t->redis('HGET', "skip:$snap:u:$u", 'plays');
for my $c ([ 'plays', '0x10', qr/field "plays": "0x10" is not a decimal number/ ],
           [ 'plays', '2.5', qr/field "plays": "2.5" is not a whole number/ ],
           [ 'skips', '1e-1', qr/field "skips": "1e-1" is not a whole number/ ],
           [ 'plays', 'inf', qr/not a decimal number/ ])
{
    ($rc, undef, $err) = sk('features', 'set', @R, $u, $c->[0], $c->[1]);
    is($rc, 1, "set $c->[0] $c->[1] refused");
    like($err, $c->[2], '... naming the field and value') or diag($err);
}
is($t->redis('HGET', "skip:$snap:u:$u", 'plays'), $before, 'nothing was written');
($rc, undef, $err) = sk('features', 'set', @R, $u, 'plays', '1e4');
is($rc, 0, 'set plays 1e4 (a whole number) works') or diag($err);
($rc, undef, $err) = sk('features', 'set', @R, $u, 'fav_plays', '3');
is($rc, 0, 'set fav_plays 3 works') or diag($err);

# ---- item 8: README's /metrics snippet is access-restricted -----------------

my $readme = $t->read_file($t->root . '/README.md');
my @metrics = grep { /skip_metrics;/ } split /\n/, $readme;
ok(@metrics, 'README shows a skip_metrics location');
for my $l (@metrics) {
    like($l, qr/allow\s+\S+;.*deny\s+all;/, "README: $l has allow/deny");
}

done_testing();
