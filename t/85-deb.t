#!/usr/bin/perl
# The Debian packages: `make deb` builds libnginx-mod-http-skip
# and skipctl with debhelper + dh_nginx, lintian finds no error; they are
# unpacked with dpkg-deb into a throwaway root and their own maintainer
# scripts run there (absolute paths pointed into the root, the dpkg trigger
# recorded instead of sent), so this machine's dpkg database and /etc/nginx
# are never touched.  The system nginx then runs the distribution's own
# /etc/nginx layout (a copy: nginx.conf with only its absolute paths moved
# into the root) plus the packaged example site: nginx -t passes, a track
# request gets X-Skip-Decision.  After the package's removal (prerm, its
# files, postrm) nginx still starts and serves.
use strict;
use warnings;

use File::Path qw(make_path);
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep);

use SkipTest;

my @tools = qw(dpkg-buildpackage dpkg-deb dh dh_nginx help2man lintian);
my @missing = grep { system("command -v $_ >/dev/null 2>&1") != 0 } @tools;
plan skip_all => "needs @missing (debhelper, dpkg-dev, nginx-dev, help2man, "
    . "lintian: scripts/deps.sh installs them)" if @missing;
plan skip_all => 'needs /usr/sbin/nginx and /etc/nginx/nginx.conf'
    unless -x '/usr/sbin/nginx' && -f '/etc/nginx/nginx.conf';

my $t = SkipTest->new;
my $root = $t->root;
my $dir = $t->dir;
my $R = "$dir/root";

# ---- build --------------------------------------------------------------

my ($version) = $t->read_file("$root/src/core/version.h")
    =~ /^#define SK_VERSION "([^"]+)"/m;
ok($version, "src/core/version.h: $version");

my $out = "$root/build/deb";
my $log = `sh $root/scripts/deb.sh 2>&1`;
is($?, 0, 'make deb (scripts/deb.sh) builds the packages') or diag($log);
like($log, qr/^deb: lintian: 0 errors/m, 'lintian: no errors') or diag($log);

my %deb;
for my $p (qw(libnginx-mod-http-skip skipctl)) {
    my ($f) = glob("$out/${p}_${version}_*.deb");
    ok($f && -f $f, "$p $version built") or BAIL_OUT("no $p package");
    $deb{$p} = $f;
    my $v = `dpkg-deb -f $f Version`;
    chomp $v;
    is($v, $version, "${p}'s version is src/core/version.h's");
}
my $depends = `dpkg-deb -f $deb{'libnginx-mod-http-skip'} Depends`;
my ($abi) = $t->read_file('/usr/share/nginx/src/debian/libnginx-mod.abisubstvars')
    =~ /^nginx:abi=(\S+)/m;
like($depends, qr/(^|, )\Q$abi\E(,|$)/,
     "the module depends on the nginx ABI it was built for ($abi)");
like($depends, qr/libhiredis/, 'and on the libraries it links');

# ---- install into the throwaway root -----------------------------------

# What nginx-common provides there: a copy of /etc/nginx with no site and
# no module enabled (the host's own are not part of this test), the
# prefix's modules link, the log and temp directories.
make_path("$R/etc", "$R/usr/share/nginx", "$R/usr/lib/nginx/modules",
          "$R/var/log/nginx", "$R/var/lib/nginx", "$R/run");
system('cp', '-a', '/etc/nginx', "$R/etc/") == 0 or die "cp /etc/nginx";
unlink glob("$R/etc/nginx/sites-enabled/*"), glob("$R/etc/nginx/modules-enabled/*");
symlink '../../lib/nginx/modules', "$R/usr/share/nginx/modules";

my $conf = $t->read_file('/etc/nginx/nginx.conf');
like($conf, qr{^\s*include /etc/nginx/modules-enabled/\*\.conf;}m,
     'the distribution nginx.conf loads modules-enabled/*.conf');
like($conf, qr{^\s*include /etc/nginx/sites-enabled/\*;}m,
     'and includes sites-enabled/*');
$conf =~ s{/etc/nginx/}{$R/etc/nginx/}g;
$conf =~ s{^(\s*pid\s+)/run/}{$1$R/run/}m;
$conf =~ s{/var/log/nginx/error\.log;}{$dir/error.log info;};
$conf =~ s{/var/log/nginx/}{$R/var/log/nginx/}g;
$t->write_file("$R/etc/nginx/nginx.conf", $conf);
# nginx's compiled-in temp paths are the host's /var/lib/nginx
$t->write_file("$R/etc/nginx/conf.d/throwaway-root.conf",
    join '', map { "${_}_temp_path $R/var/lib/nginx/$_;\n" }
             qw(client_body proxy fastcgi uwsgi scgi));

# A maintainer script of package P, run with its paths moved into $R.
sub maintscript {
    my ($p, $script, @args) = @_;
    my $f = "$dir/control-$p/$script";
    return 'none' unless -f $f;
    my $s = $t->read_file($f);
    my $n = ($s =~ s{(?<![\w/])/(etc/nginx|usr/share/nginx)/}{$R/$1/}g);
    $n += ($s =~ s{dpkg-trigger --no-await (\S+)}{echo "\$1 $1" >> $dir/triggers});
    $t->write_file("$f.root", $s);
    system('sh', '-e', "$f.root", @args) == 0 or return "failed";
    return "ran ($n paths)";
}

for my $p (sort keys %deb) {
    system('dpkg-deb', '-x', $deb{$p}, $R) == 0 or die "dpkg-deb -x $p";
    system('dpkg-deb', '-e', $deb{$p}, "$dir/control-$p") == 0
        or die "dpkg-deb -e $p";
}
like(maintscript('libnginx-mod-http-skip', 'postinst', 'configure', ''),
     qr/^ran/, 'the module package postinst (configure) runs');
my $enabled = "$R/etc/nginx/modules-enabled/50-mod-http-skip.conf";
is(readlink($enabled), "$R/usr/share/nginx/modules-available/mod-http-skip.conf",
   'postinst enables it: modules-enabled/50-mod-http-skip.conf links '
   . 'modules-available/mod-http-skip.conf');
is($t->read_file($enabled), "load_module modules/ngx_http_skip_module.so;\n",
   'which loads the module from nginx\'s modules directory');
ok(-f "$R/usr/lib/nginx/modules/ngx_http_skip_module.so",
   'the module is in /usr/lib/nginx/modules');
like($t->read_file("$dir/triggers"), qr/^configure nginx-reload$/m,
     'postinst asks nginx to reload (dpkg trigger nginx-reload)');

# skipctl: binary, version, man pages, completion, model, monitoring files
my $sk = "$R/usr/bin/skipctl";
is(`$sk --version`, "skipctl (ngx_skip) $version\n", 'skipctl --version');
for my $f (qw(share/man/man1/skipctl.1.gz share/man/man1/skipctl-gen.1.gz
              share/man/man1/skipctl-features-load.1.gz
              share/bash-completion/completions/skipctl
              share/ngx-skip/models/default.model share/ngx-skip/models/default.json
              share/ngx-skip/grafana/grafana-dashboard.json
              share/ngx-skip/prometheus/prometheus-rules.yml
              share/doc/libnginx-mod-http-skip/examples/skip-site.conf
              share/doc/libnginx-mod-http-skip/examples/nginx-skip.conf)) {
    ok(-f "$R/usr/$f", "/usr/$f");
}
SKIP: {
    skip 'man is not installed', 2 unless system('command -v man >/dev/null') == 0;
    my $page = `MANWIDTH=80 man --warnings -l $R/usr/share/man/man1/skipctl.1.gz 2>$dir/man.err`;
    like($page, qr/SYNOPSIS\s+skipctl COMMAND/, 'man skipctl renders');
    is($t->read_file("$dir/man.err"), '', 'without groff warnings');
}
is(system("bash -n $R/usr/share/bash-completion/completions/skipctl"), 0,
   'the bash completion parses');

# ---- the site: Redis, features, nginx ----------------------------------

my $rport = $t->start_redis;
my $data = "$dir/data";
my $model = "$R/usr/share/ngx-skip/models/default.model";
is(system("$sk gen --out $data --scale 0.01 --seed 7 --quiet"), 0,
   'the packaged skipctl generates a dataset');
is(system("$sk features load --redis 127.0.0.1:$rport --data $data "
          . "--model $model >$dir/load.log 2>&1"), 0,
   'and loads its features for the packaged model')
    or diag($t->read_file("$dir/load.log"));
my ($user) = $t->read_file("$data/users.jsonl") =~ /"user_id":(\d+)/;
my ($track) = $t->read_file("$data/tracks.jsonl") =~ /"id":"(\w+)"/;

my ($port, $oport) = ($t->port('edge'), $t->port('origin'));
my $site = $t->read_file(
    "$R/usr/share/doc/libnginx-mod-http-skip/examples/skip-site.conf");
my $n = 0;
$n += $site =~ s{127\.0\.0\.1:6379}{127.0.0.1:$rport};
$n += $site =~ s{^(\s*skip_model\s+default\s+)/usr/}{$1$R/usr/}m;
$n += $site =~ s{listen  8080;}{listen  127.0.0.1:$port;};
$n += $site =~ s{127\.0\.0\.1:8081}{127.0.0.1:$oport};
is($n, 4, 'the packaged site example, pointed at this test');
$t->write_file("$R/etc/nginx/sites-available/skip", $site);
$t->write_file("$R/etc/nginx/sites-available/origin",
    "server {\n    listen 127.0.0.1:$oport;\n"
    . "    location / { return 200 \"track bytes\\n\"; }\n}\n");
symlink "../sites-available/$_", "$R/etc/nginx/sites-enabled/$_"
    for qw(skip origin);

my @nginx = ('/usr/sbin/nginx', '-p', "$R/usr/share/nginx/",
             '-c', "$R/etc/nginx/nginx.conf", '-e', "$dir/error.log");

sub nginx_t {
    my $o = `@nginx -t 2>&1`;
    return ($? >> 8, $o);
}

sub start_nginx {
    unlink "$R/run/nginx.pid";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$dir/nginx.stdout";
        open STDERR, '>>', "$dir/nginx.stdout";
        exec @nginx, '-g', 'daemon off;';
        exit 127;
    }
    $t->{nginx_pid} = $pid;     # SkipTest's stop_nginx sends QUIT
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$oport");
        if ($s) { close $s; return 1 }
        if (waitpid($pid, WNOHANG) == $pid) {
            delete $t->{nginx_pid};
            diag($t->read_file("$dir/nginx.stdout") . $t->read_file('error.log'));
            return 0;
        }
        sleep 0.05;
    }
    return 0;
}

my ($rc, $o) = nginx_t();
is($rc, 0, 'nginx -t: the distribution layout with the module enabled')
    or diag($o);
ok(start_nginx(), 'nginx starts');
my $res = $t->http_get("/tracks/$track", port => $port, 'X-User-Id' => $user);
is($res->{status}, 200, 'a track request is served');
is($res->{body}, "track bytes\n", 'by the origin');
like($res->{headers}{'x-skip-decision'} // '', qr/^(play|skip)$/,
     'with X-Skip-Decision ' . ($res->{headers}{'x-skip-decision'} // 'none'));
for (1 .. 40) {
    last if $t->read_file('error.log') =~ /connected to Redis/;
    sleep 0.05;
}
like($t->read_file('error.log'),
     qr/skip: ngx_skip \Q$version\E connected to Redis/,
     'the module logs its version when it connects');
$t->stop_nginx;

# ---- removal ------------------------------------------------------------

like(maintscript('libnginx-mod-http-skip', 'prerm', 'remove'), qr/^ran|^none/,
     'prerm remove');
for my $line (split /\n/, `dpkg-deb -c $deb{'libnginx-mod-http-skip'}`) {
    my ($mode, $path) = $line =~ m{^(\S+)\s.*?\./(\S+)};
    unlink "$R/$path" if $mode && $mode !~ /^d/;
}
like(maintscript('libnginx-mod-http-skip', 'postrm', 'remove'), qr/^ran/,
     'postrm remove');
ok(!-e $enabled && !grep({ -e } glob("$R/etc/nginx/modules-enabled/*.conf")),
   'no module left enabled');
# The site uses skip_* directives: the operator disables it with the module.
unlink "$R/etc/nginx/sites-enabled/skip";
($rc, $o) = nginx_t();
is($rc, 0, 'nginx -t passes after the removal') or diag($o);
ok(start_nginx(), 'nginx starts without the module');
$res = $t->http_get('/x', port => $oport);
is($res->{status}, 200, 'and serves');
$t->stop_nginx;
like(maintscript('libnginx-mod-http-skip', 'postrm', 'purge'), qr/^ran/,
     'postrm purge');
is(scalar(() = glob("$R/etc/nginx/modules-enabled/*")), 0,
   'purge leaves modules-enabled empty');

$t->stop;
done_testing();
