#!/usr/bin/perl
# skipctl gen and skipctl stats: byte-identical output per seed, the shares
# of data-format.md at a small scale, the reader on the real v1/v2 samples
# (when ../shared/data is there), on the committed v1 excerpt and on
# hand-made broken files; exit codes and messages.
use strict;
use warnings;
use Test::More;
use Digest::MD5;
use SkipTest;

my $t   = SkipTest->new;
my $bin = $t->skipctl;
my $dir = $t->dir;
my @files = qw(artists.jsonl tracks.jsonl users.jsonl sessions.jsonl
               track_storage.jsonl truth.jsonl);

sub run {
    my ($cmd) = @_;
    my $out = `$cmd 2>$dir/stderr`;
    my $rc = $? >> 8;
    return ($rc, $out, $t->read_file('stderr'));
}

sub md5 {
    open my $f, '<', $_[0] or return '';
    binmode $f;
    return Digest::MD5->new->addfile($f)->hexdigest;
}

# stats output -> { 'file' => {rows, skipped}, 'Play' => [n, pct], ... }
sub parse_stats {
    my ($out) = @_;
    my (%s, $file);
    for (split /\n/, $out) {
        if (/^(\S+\.jsonl)\s+(\d+) rows, (\d+) skipped, (\d+) defaulted/) {
            $file = $1;
            $s{$1} = { rows => $2, skipped => $3, defaulted => $4 };
        } elsif (/^  skipped: (.+?)\s+(\d+)$/) {
            $s{$file}{"skipped $1"} = $2;
        } elsif (/^  (\S.*?)\s+(\d+)\s+([\d.]+) %/) {
            $s{$1} = [ $2, $3 ];
        } elsif (/^  skipped plays\s+([\d.]+) %/) {
            $s{'skipped plays'} = $1;
        } elsif (/^  (sessions|users|events per session|mean P\(skip\)|Bayes accuracy|genres per artist)\s+([\d.]+)$/) {
            $s{$1} = $2;
        }
    }
    return \%s;
}

# --- usage and errors -------------------------------------------------------
my ($rc, $out, $err) = run("$bin gen --help");
is($rc, 0, 'gen --help exits 0');
like($out, qr/usage: skipctl gen --out DIR/, 'gen --help prints usage');
($rc, $out, $err) = run("$bin stats --help");
is($rc, 0, 'stats --help exits 0');
($rc, $out, $err) = run("$bin gen --scale 0.01");
is($rc, 2, 'gen without --out is a usage error');
like($err, qr/--out DIR is required/, '... and says so');
($rc, $out, $err) = run("$bin gen --out $dir/x --scale 0");
is($rc, 2, 'gen --scale 0 is a usage error');
($rc, $out, $err) = run("$bin gen --out $dir/x --seed -1");
is($rc, 2, 'gen --seed -1 is a usage error');
($rc, $out, $err) = run("$bin gen --out /proc/no-such-dir/x --scale 0.001");
is($rc, 1, 'gen into an impossible directory fails');
like($err, qr{/proc/no-such-dir/x}, '... naming it');
($rc, $out, $err) = run("$bin stats $dir/nothing-here");
is($rc, 1, 'stats on a missing directory fails');
like($err, qr{nothing-here: no dataset files}, '... naming it');
($rc, $out, $err) = run("$bin stats --bogus $dir");
is($rc, 2, 'stats with an unknown option is a usage error');

# --- determinism --------------------------------------------------------------
($rc, $out, $err) = run("$bin gen --out $dir/a --seed 5 --scale 0.01");
is($rc, 0, 'gen --scale 0.01 --seed 5') or diag($err);
like($err, qr/skipctl gen: .*events/, 'progress on stderr');
is($out, '', 'nothing on stdout without --stats');
($rc, $out, $err) = run("$bin gen --out $dir/b --seed 5 --scale 0.01 --quiet");
is($rc, 0, 'the same again');
is($err, '', '--quiet: nothing on stderr');
for my $f (@files) {
    ok(-s "$dir/a/$f", "$f written");
    is(md5("$dir/b/$f"), md5("$dir/a/$f"), "$f byte-identical for a seed");
}
ok(!glob("$dir/a/*.tmp"), 'no .tmp files left');
run("$bin gen --out $dir/c --seed 6 --scale 0.01 --quiet");
isnt(md5("$dir/c/sessions.jsonl"), md5("$dir/a/sessions.jsonl"),
     'another seed, other sessions');

# --- skip processes (gen_skip.c) -----------------------------------------------
($rc, $out, $err) = run("$bin gen --out $dir/x --process v3");
is($rc, 2, 'gen --process v3 is a usage error');
like($err, qr/--process: want v1, v2 or none: 'v3'/, '... naming it');
run("$bin gen --out $dir/v1 --seed 5 --scale 0.01 --process v1 --quiet");
is(md5("$dir/v1/sessions.jsonl"), md5("$dir/a/sessions.jsonl"),
   '--process v1 is the default, byte for byte');
($rc, $out, $err) = run("$bin gen --out $dir/v2 --seed 5 --scale 0.01 "
                        . "--process v2");
is($rc, 0, 'gen --process v2') or diag($err);
like($err, qr/process v2: [\d.]+ % of plays skipped in expectation, Bayes limit 0\.\d{4}/,
     '... reports the skip share and the Bayes limit');
run("$bin gen --out $dir/v2b --seed 5 --scale 0.01 --process v2 --quiet");
is(md5("$dir/v2b/truth.jsonl"), md5("$dir/v2/truth.jsonl"),
   'v2: byte-identical for a seed');
is(md5("$dir/v2/users.jsonl"), md5("$dir/a/users.jsonl"),
   'v2: the same catalogue and users as v1');
isnt(md5("$dir/v2/truth.jsonl"), md5("$dir/a/truth.jsonl"),
     'v2: other skip probabilities');
run("$bin gen --out $dir/none --seed 5 --scale 0.01 --process none --quiet");
{
    open my $f, '<', "$dir/none/truth.jsonl" or die;
    my %p;
    while (<$f>) { $p{$1}++ if /"p_skip":([\d.]+)/ }
    close $f;
    is(join(',', keys %p), '0.4', '--process none: P(skip) = 0.4 for every play');
}
system("rm", "-rf", map { "$dir/$_" } qw(v1 v2 v2b none));

# --- format -------------------------------------------------------------------
{
    open my $f, '<', "$dir/a/sessions.jsonl" or die;
    my $first = <$f>;
    like($first, qr/^\{"timestamp":"2024-\d\d-\d\d \d\d:\d\d:00\.0 \+02:00:00","user_id":101,"track_id":"[A-Za-z0-9]{22}","event_type":"Play","session_id":124\}\n$/,
         'first event: v2 shape, whole-minute Play of user 101, session 124');
    my ($ads, $bad_ad, $bad_ts) = (0, 0, 0);
    while (<$f>) {
        if (/"event_type":"(Advertisement|BuyPremium)"/) {
            $ads++;
            $bad_ad++ unless /"track_id":""/;
        }
        $bad_ts++ unless /"timestamp":"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.(?:0|\d{0,2}[1-9]) \+02:00:00"/;
    }
    ok($ads > 0, 'there are ads');
    is($bad_ad, 0, 'ads have track_id ""');
    is($bad_ts, 0, 'timestamps are the v1 literal, fraction zeros stripped');
    open $f, '<', "$dir/a/tracks.jsonl" or die;
    my $track = <$f>;
    like($track, qr/^\{"id":"[A-Za-z0-9]{22}","artist_id":"[A-Za-z0-9]{22}","name":".*","popularity":\d+,"duration_ms":\d+,"explicit":[01],"release_date":"\d{4}(-\d\d-\d\d)?","danceability":[\d.]+,"energy":[\d.]+,"key":\d+,"mode":(null|0|1),"loudness":-?[\d.]+,"speechiness":[\d.]+,"acousticness":[\d.]+,"instrumentalness":[\d.]+,"liveness":[\d.]+,"valence":[\d.]+,"tempo":[\d.]+,"time_signature":\d\}\n$/,
         'tracks: 19 fields in order');
    open $f, '<', "$dir/a/users.jsonl" or die;
    like(scalar <$f>, qr/^\{"user_id":101,"name":"\S+ \S.*","city":".+","street":".+ \d+","favourite_genres":\["[^"]+","[^"]+","[^"]+"\],"premium_user":(true|false)\}\n$/,
         'users: v2 shape');
    open $f, '<', "$dir/a/truth.jsonl" or die;
    like(scalar <$f>, qr/^\{"session_id":124,"track_id":"[A-Za-z0-9]{22}","timestamp":"[^"]+","p_skip":0\.\d{1,6}\}\n$/,
         'truth: session, track, timestamp, p_skip');
}

# --- shares -------------------------------------------------------------------
($rc, $out, $err) = run("$bin stats $dir/a");
is($rc, 0, 'stats on generated data') or diag($err);
my $s = parse_stats($out);
is($s->{'artists.jsonl'}{rows}, 277, '277 artists at scale 0.01');
is($s->{'tracks.jsonl'}{rows}, 1296, '1296 tracks');
is($s->{'users.jsonl'}{rows}, 50, '50 users');
is($s->{'track_storage.jsonl'}{rows}, 1296, 'one storage row per track');
is($s->{sessions}, 1400, '1400 sessions');
is($s->{$_}{skipped}, 0, "$_: nothing skipped") for map { $_ } @files;
my %target = (Play => 55.1, Skip => 22.9, Advertisement => 13.4,
              Like => 8.5, BuyPremium => 0.1);
my %tol = (Play => 2, Skip => 2.5, Advertisement => 3, Like => 1.5,
           BuyPremium => 0.15);
for my $e (sort keys %target) {
    ok(abs($s->{$e}[1] - $target{$e}) <= $tol{$e},
       "$e share $s->{$e}[1] % near $target{$e} %");
}
ok(abs($s->{'skipped plays'} - 41) <= 4, "skipped plays $s->{'skipped plays'} % near 41 %");
ok(abs($s->{'events per session'} - 33.6) <= 5,
   "events per session $s->{'events per session'} near 33.6");
ok(abs($s->{'mode null'}[1] - 80) <= 4, "mode null $s->{'mode null'}[1] % near 80 %");
ok(abs($s->{'with a user genre'}[1] - 20.9) <= 6,
   "artists with a user genre $s->{'with a user genre'}[1] % near 20.9 %");
ok(abs($s->{'genres per artist'} - 2.8) <= 0.4,
   "genres per artist $s->{'genres per artist'} near 2.8");
ok(abs($s->{'premium'}[1] - 40) <= 15, "premium $s->{premium}[1] % near 40 %");
is($s->{'truth.jsonl'}{rows}, $s->{Play}[0], 'one truth line per Play');
ok(abs($s->{'mean P(skip)'} * 100 - $s->{'skipped plays'}) <= 3,
   'mean P(skip) matches the skipped share');
ok($s->{'Bayes accuracy'} > 0.6 && $s->{'Bayes accuracy'} < 0.9,
   "Bayes accuracy $s->{'Bayes accuracy'} is informative but not perfect");
ok($s->{Slow}[0] > 0 && $s->{Fast}[0] >= 1, 'storage classes present');

($rc, $out, $err) = run("$bin gen --out $dir/d --seed 5 --scale 0.01 --quiet --stats");
is($rc, 0, 'gen --stats');
like($out, qr/sessions\.jsonl\s+\d+ rows/, 'gen --stats prints stats');

# --- the committed v1 excerpt -------------------------------------------------
my $excerpt = $t->root . '/t/data/v1-excerpt';
($rc, $out, $err) = run("$bin stats $excerpt");
is($rc, 0, 'stats on the v1 excerpt (array rows with nulls)') or diag($err);
$s = parse_stats($out);
is($s->{'artists.jsonl'}{rows} + $s->{'artists.jsonl'}{skipped}, 200,
   'excerpt: 200 artist lines');
is($s->{'artists.jsonl'}{'skipped null key field'}, 8, 'excerpt: 8 null artist ids');
is($s->{'users.jsonl'}{rows}, 47, 'excerpt: 47 users (last line has no newline)');
is($s->{'users.jsonl'}{skipped}, 3, 'excerpt: 3 null user ids');
is($s->{'sessions.jsonl'}{rows}, 255, 'excerpt: 255 events');
is($s->{'sessions.jsonl'}{'skipped null key field'}, 45, 'excerpt: 45 null keys');
like($err, qr{v1-excerpt/sessions\.jsonl:3: null key field event_type},
     'first skipped event reported as file:line: reason');
($rc, $out, $err) = run("$bin stats --strict --only sessions $excerpt");
is($rc, 1, '--strict: a null key field is fatal');
like($err, qr{sessions\.jsonl:3: null key field event_type \(strict\)},
     '--strict names file and line');

# --- hand-made broken files ---------------------------------------------------
mkdir "$dir/broken";
$t->write_file('broken/sessions.jsonl', join '',
    qq({"timestamp":"2024-02-08 09:52:40.925 +02:00:00","user_id":101,"track_id":"2nfuWHO8HuygBh9Bv6QaIW","event_type":"Play","session_id":124}\n),
    qq({"timestamp":"2024-02-08 09:52:40.925 +02:00:00","user_id":101,\n),
    qq({"timestamp":"2024-02-08T07:52:41Z","user_id":"101","track_id":"2nfuWHO8HuygBh9Bv6QaIW","event_type":"Skip","session_id":124}\n),
    qq(["2024-02-08T07:52:41","101","2nfuWHO8HuygBh9Bv6QaIW","PLAY",124]\n),
    qq({"timestamp":"2024-02-08T07:52:41","user_id":101,"track_id":null,"event_type":"advertisment","session_id":124}\n),
    ('x' x 1_100_000) . "\n",
    qq(["2024-02-08T07:52:42+02:00",101,"2nfuWHO8HuygBh9Bv6QaIW","like",124]\n));
($rc, $out, $err) = run("$bin stats $dir/broken");
is($rc, 0, 'broken file: stats still succeeds');
$s = parse_stats($out);
is($s->{'sessions.jsonl'}{rows}, 3, 'broken file: 3 good rows');
is($s->{'sessions.jsonl'}{'skipped invalid JSON'}, 1, 'one invalid JSON');
is($s->{'sessions.jsonl'}{'skipped wrong type'}, 2, 'two wrongly typed user_id');
is($s->{'sessions.jsonl'}{'skipped line too long'}, 1, 'one line over 1 MiB');
like($err, qr{broken/sessions\.jsonl:2: invalid JSON}, 'reports line 2');
like($err, qr{broken/sessions\.jsonl:3: user_id is not a number}, 'reports line 3');
like($err, qr{broken/sessions\.jsonl:6: line longer than 1048576 bytes}, 'reports line 6');
($rc, $out, $err) = run("$bin stats --strict $dir/broken");
is($rc, 1, 'broken file, --strict: fails');
like($err, qr{sessions\.jsonl:2: invalid JSON.*\(strict\)}, '... at line 2');
chmod 0, "$dir/broken/sessions.jsonl";
if ($> != 0) {
    ($rc, $out, $err) = run("$bin stats $dir/broken");
    like($err, qr{sessions\.jsonl}, 'unreadable file is named');
} else {
    pass('running as root: unreadable-file case not testable');
}

# --- the real files in ../shared/data, when present -----------------------------
my $shared = $ENV{SKIP_SHARED_DATA} || $t->root . '/../shared/data';
SKIP: {
    skip "no real data in $shared", 12 unless -d "$shared/pozytywka-v1";
    ($rc, $out, $err) = run("$bin stats $shared/pozytywka-v1");
    is($rc, 0, 'real v1 export reads') or diag($err);
    $s = parse_stats($out);
    is($s->{'artists.jsonl'}{rows} + $s->{'artists.jsonl'}{skipped}, 27650,
       'v1: 27,650 artist lines');
    is($s->{'artists.jsonl'}{'skipped null key field'}, 1354, 'v1: null artist ids skipped');
    is($s->{'users.jsonl'}{rows} + $s->{'users.jsonl'}{skipped}, 50, 'v1: 50 users');
    is($s->{'sessions.jsonl'}{rows} + $s->{'sessions.jsonl'}{skipped}, 9245,
       'v1: 9,245 events');
    is($s->{'sessions.jsonl'}{skipped}, $s->{'sessions.jsonl'}{'skipped null key field'},
       'v1: every skipped event has a null key');
    is($s->{users}, 50, 'v1: 50 users in sessions');
    ok($s->{Play}[0] > 4000, 'v1: plays read');
    ($rc, $out, $err) = run("$bin stats $shared/pozytywka-v2-sample");
    is($rc, 0, 'real v2 sample reads') or diag($err);
    $s = parse_stats($out);
    is($s->{'artists.jsonl'}{rows}, 27650, 'v2: 27,650 artists, none skipped');
    is($s->{'users.jsonl'}{rows}, 3000, 'v2: 3,000 users');
    is($s->{'with a user genre'}[0], 5767, 'v2: 5,767 artists carry a user genre');
}

done_testing();
