#!/usr/bin/perl
# The source layout and its dependency rule (docs/CONTRIBUTING.md, "Layout"):
# every file of src/ sits in a component folder, and every #include in src/
# and ngx_skip_module.c points the allowed way.  core/ is plain C that may
# run inside an nginx worker and needs nothing else of the project; nginx/
# builds on core/ only; tooling folders build on core/ and on the tooling
# below them; nothing outside nginx/ sees nginx headers.  Plain Perl: needs
# no build.
use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use File::Spec;
use FindBin;

my $root = File::Spec->rel2abs("$FindBin::Bin/..");

# Folder => the folders its files may include (itself included).  A new
# component folder is added here and in docs/CONTRIBUTING.md.
my %may = (
    core   => [qw(core)],
    nginx  => [qw(core nginx)],
    top    => [qw(core nginx)],            # ngx_skip_module.c
    data   => [qw(core data)],
    store  => [qw(core data store)],
    gen    => [qw(core data gen)],
    train  => [qw(core data train)],
    sim    => [qw(core data train sim)],
    ab     => [qw(core ab)],
    replay => [qw(core data replay)],
    cli    => [qw(core data store gen train sim ab replay cli)],
    fuzz   => [qw(core fuzz)],
);

# Every file of src/ is in a known folder, none loose at the top.
opendir(my $dh, "$root/src") or die "src: $!";
my @entries = sort grep { !/^\./ } readdir $dh;
closedir $dh;
my @loose   = grep { -f "$root/src/$_" } @entries;
my @unknown = grep { -d "$root/src/$_" && !$may{$_} } @entries;
is("@loose", '', 'no file directly in src/ (each belongs in a component '
                 . 'folder)');
is("@unknown", '', 'every folder of src/ is a known component (add a new '
                   . 'one to t/02-layout.t and docs/CONTRIBUTING.md)');

my @files = ('ngx_skip_module.c',
             map { s{^\Q$root\E/}{}r } sort glob("$root/src/*/*.[ch]"));
ok(@files > 50, scalar(@files) . ' source files');

my (@bad_path, @bad_dir, @bad_ngx);
for my $f (@files) {
    my $folder = $f =~ m{^src/([^/]+)/} ? $1 : 'top';
    my %ok = map { $_ => 1 } @{ $may{$folder} || [] };
    open(my $fh, '<', "$root/$f") or die "$f: $!";
    while (my $line = <$fh>) {
        if ($line =~ /^\s*#\s*include\s*<(ngx_\w+\.h)>/
            && $folder ne 'nginx' && $folder ne 'top')
        {
            push @bad_ngx, "$f:$.: <$1>: only src/nginx/ and "
                         . "ngx_skip_module.c use nginx headers";
        }
        next unless $line =~ /^\s*#\s*include\s*"([^"]+)"/;
        my $inc = $1;
        # Relative to the including file, as nginx's build (no -I) finds it.
        my $path = File::Spec->canonpath(dirname($f) . "/$inc");
        1 while $path =~ s{(^|/)(?!\.\.)[^/]+/\.\.(/|$)}{$1};
        if (!-f "$root/$path") {
            push @bad_path, "$f:$.: \"$inc\" is not a file relative to "
                          . dirname($f) . '/';
            next;
        }
        my $to = $path =~ m{^src/([^/]+)/} ? $1 : 'top';
        push @bad_dir, "$f:$.: \"$inc\": $folder/ may include only "
                     . join(', ', map { "$_/" } @{ $may{$folder} || [] })
            unless $ok{$to};
    }
    close $fh;
}

is(scalar(@bad_path), 0, 'every quoted include resolves relative to its file')
    or diag(join("\n", @bad_path));
is(scalar(@bad_dir), 0, 'every include points the allowed way '
                        . '(tooling -> core, nginx -> core, never back)')
    or diag(join("\n", @bad_dir));
is(scalar(@bad_ngx), 0, 'nginx headers only in the nginx code')
    or diag(join("\n", @bad_ngx));

done_testing();
