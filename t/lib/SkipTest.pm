package SkipTest;

# Test harness for ngx_skip: real /usr/sbin/nginx with the freshly built
# module, real redis-server, and fake Redis daemons for fault injection.
# Core Perl only (Test::More, IO::Socket, POSIX, File::Temp).
#
#   my $t = SkipTest->new;                  # temp dir, nothing started yet
#   my $rport = $t->start_redis;            # real redis-server, no persistence
#   $t->write_conf(<<'EOF');                # %%PORT_n%% %%REDIS_PORT%% ...
#   $t->start_nginx;                        # dies if nginx does not come up
#   my $res = $t->http_get('/x', 'X-User-Id' => 101);
#   $res->{status}, $res->{headers}{'x-skip-decision'}, $res->{body}
#   $t->redis($rport, 'HSET', 'k', 'f', 'v');
#   $t->stop;                               # QUIT nginx; checks error.log
#
# Placeholders in write_conf: %%TESTDIR%% (temp dir), %%MODULE%% (the .so),
# %%ROOT%% (repo root), %%BUILD%% (build dir), %%REDIS_PORT%% (last real
# redis started), %%PORT_<n>%% (a free loopback port per distinct n, the
# same number for the same n).  A `load_module` line and `daemon off`-style
# settings are supplied on the command line, so templates hold only the
# events/http blocks.
#
# Environment: SKIP_BUILD (build dir, default ./build), SKIP_SANITIZE=1
# (preload ASan into nginx), SKIP_TEST_LEAVE=1 (keep the temp dir).

use strict;
use warnings;

use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Temp qw(tempdir);
use IO::Select;
use IO::Socket::INET;
use POSIX qw(:sys_wait_h);
use Test::More;
use Time::HiRes qw(sleep time);

our $ROOT = abs_path(dirname(__FILE__) . '/../..');

sub new {
    my ($class, %opt) = @_;
    my $build = $ENV{SKIP_BUILD} || "$ROOT/build";
    my $self = bless {
        dir      => tempdir('skiptest-XXXXXX', TMPDIR => 1,
                            CLEANUP => !$ENV{SKIP_TEST_LEAVE}),
        build    => $build,
        nginx    => $ENV{SKIP_NGINX} || '/usr/sbin/nginx',
        ports    => {},
        daemons  => [],
        redis    => [],
        %opt,
    }, $class;
    diag("test dir: $self->{dir}") if $ENV{SKIP_TEST_LEAVE};
    return $self;
}

sub dir      { $_[0]{dir} }
sub build    { $_[0]{build} }
sub root     { $ROOT }
sub skipctl  { "$_[0]{build}/skipctl" }
sub module   { "$_[0]{build}/ngx_skip_module.so" }
sub error_log { "$_[0]{dir}/error.log" }

# A free loopback TCP port: bind to port 0 and let the kernel choose.
sub free_port {
    my $s = IO::Socket::INET->new(LocalAddr => '127.0.0.1', LocalPort => 0,
                                  Proto => 'tcp', ReuseAddr => 1)
        or die "free_port: $!";
    my $p = $s->sockport;
    close $s;
    return $p;
}

sub port {
    my ($self, $n) = @_;
    return $self->{ports}{$n} //= free_port();
}

sub expand {
    my ($self, $text) = @_;
    $text =~ s/%%TESTDIR%%/$self->{dir}/g;
    $text =~ s/%%MODULE%%/$self->module/ge;
    $text =~ s/%%ROOT%%/$ROOT/g;
    $text =~ s/%%BUILD%%/$self->{build}/g;
    $text =~ s/%%REDIS_PORT%%/$self->{redis_port} \/\/ die "no redis started"/ge;
    $text =~ s/%%PORT_(\w+)%%/$self->port($1)/ge;
    return $text;
}

sub write_file {
    my ($self, $name, $content) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{dir}/$name";
    open my $fh, '>', $path or die "write $path: $!";
    print $fh $content;
    close $fh;
    return $path;
}

sub read_file {
    my ($self, $name) = @_;
    my $path = $name =~ m{^/} ? $name : "$self->{dir}/$name";
    open my $fh, '<', $path or return '';
    local $/;
    my $s = <$fh>;
    close $fh;
    return $s;
}

# The main config: the template's events/http blocks after our globals.
sub write_conf {
    my ($self, $template, $name) = @_;
    $name //= 'nginx.conf';
    my $conf = "load_module " . $self->module . ";\n"
             . "error_log $self->{dir}/error.log "
             . ($ENV{SKIP_TEST_DEBUG} ? 'debug' : 'info') . ";\n"
             . "pid $self->{dir}/nginx.pid;\n"
             . "worker_processes 1;\n"
             . $self->expand($template);
    # Temp paths inside the test dir: the distribution's are not writable
    # for every user and would mix runs.
    $conf =~ s/http\s*\{/http {\n    client_body_temp_path $self->{dir}\/body;\n    proxy_temp_path $self->{dir}\/proxy;\n    fastcgi_temp_path $self->{dir}\/fastcgi;\n    uwsgi_temp_path $self->{dir}\/uwsgi;\n    scgi_temp_path $self->{dir}\/scgi;\n    access_log $self->{dir}\/access.log;\n/;
    $self->write_file($name, $conf);
    return "$self->{dir}/$name";
}

sub _nginx_env {
    my ($self) = @_;
    my %env = %ENV;
    if ($ENV{SKIP_SANITIZE}) {
        my $asan = `gcc -print-file-name=libasan.so`;
        chomp $asan;
        $env{LD_PRELOAD} = $asan;
        # nginx keeps cycle memory until exit by design: leak reports from
        # the master would be noise.  Errors still abort and are logged.
        $env{ASAN_OPTIONS} = "detect_leaks=0:abort_on_error=0:"
                           . "log_path=$self->{dir}/asan";
        $env{UBSAN_OPTIONS} = "print_stacktrace=1:log_path=$self->{dir}/ubsan";
    }
    return %env;
}

# Run `nginx -t` on a config; returns (exit status, output).
sub nginx_test_conf {
    my ($self, $conf) = @_;
    $conf //= "$self->{dir}/nginx.conf";
    local %ENV = $self->_nginx_env;
    my $out = `$self->{nginx} -p $self->{dir}/ -c $conf -e $self->{dir}/nginx-t.log -t 2>&1`;
    return ($? >> 8, $out);
}

sub start_nginx {
    my ($self, $conf) = @_;
    $conf //= "$self->{dir}/nginx.conf";
    mkdir "$self->{dir}/$_" for qw(body proxy fastcgi uwsgi scgi cache);
    unlink "$self->{dir}/nginx.pid";
    my %env = $self->_nginx_env;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        %ENV = %env;
        open STDOUT, '>>', "$self->{dir}/nginx.stdout";
        open STDERR, '>>', "$self->{dir}/nginx.stdout";
        exec $self->{nginx}, '-p', "$self->{dir}/", '-c', $conf,
             '-e', "$self->{dir}/error.log", '-g', 'daemon off;';
        exit 127;
    }
    $self->{nginx_pid} = $pid;
    for (1 .. 100) {
        if (-s "$self->{dir}/nginx.pid") {
            $self->_wait_listen;
            return $pid;
        }
        if (waitpid($pid, WNOHANG) == $pid) {
            delete $self->{nginx_pid};
            die "nginx exited at start:\n" . $self->read_file('nginx.stdout')
                . $self->read_file('error.log');
        }
        sleep 0.05;
    }
    die "nginx did not start:\n" . $self->read_file('error.log');
}

# Wait until every port the config listens on accepts connections.
sub _wait_listen {
    my ($self) = @_;
    my $conf = $self->read_file('nginx.conf');
    for my $p ($conf =~ /listen\s+127\.0\.0\.1:(\d+)/g) {
        for (1 .. 100) {
            my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$p");
            if ($s) { close $s; last }
            sleep 0.05;
        }
    }
}

sub reload_nginx {
    my ($self) = @_;
    my $pid = $self->read_file('nginx.pid');
    chomp $pid;
    kill 'HUP', $pid;
    # Workers of the new generation come up quickly; give the old ones a
    # moment to finish and exit.
    sleep 0.5;
}

sub stop_nginx {
    my ($self) = @_;
    my $pid = delete $self->{nginx_pid} or return;
    kill 'QUIT', $pid;
    for (1 .. 200) {
        return if waitpid($pid, WNOHANG) == $pid;
        sleep 0.05;
    }
    kill 'KILL', $pid;
    waitpid($pid, 0);
    fail('nginx stopped on QUIT within 10 s');
}

# --- Redis -------------------------------------------------------------

# A real redis-server on a free port, nothing persisted.  Extra arguments
# go to redis-server (e.g. '--requirepass', 'secret').
sub start_redis {
    my ($self, @args) = @_;
    my $port = free_port();
    my $dir = "$self->{dir}/redis-$port";
    mkdir $dir;
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>', "$dir/redis.log";
        open STDERR, '>&', \*STDOUT;
        exec 'redis-server', '--port', $port, '--bind', '127.0.0.1',
             '--save', '', '--appendonly', 'no', '--dir', $dir,
             '--unixsocket', "$dir/redis.sock", '--unixsocketperm', '700',
             @args;
        exit 127;
    }
    for (1 .. 100) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        if ($s) {
            close $s;
            push @{ $self->{redis} }, { pid => $pid, port => $port,
                                        dir => $dir, args => \@args };
            $self->{redis_port} = $port;
            return $port;
        }
        sleep 0.05;
    }
    die "redis-server did not start:\n" . $self->read_file("$dir/redis.log");
}

sub redis_socket {
    my ($self, $port) = @_;
    $port //= $self->{redis_port};
    return "$self->{dir}/redis-$port/redis.sock";
}

sub stop_redis {
    my ($self, $port) = @_;
    $port //= $self->{redis_port};
    for my $r (@{ $self->{redis} }) {
        next unless $r->{port} == $port && $r->{pid};
        kill 'TERM', $r->{pid};
        waitpid($r->{pid}, 0);
        $r->{pid} = 0;
    }
}

# Start a stopped redis again on the same port (for "restarted mid-run").
sub restart_redis {
    my ($self, $port) = @_;
    $port //= $self->{redis_port};
    my ($r) = grep { $_->{port} == $port } @{ $self->{redis} };
    die "no redis on $port" unless $r;
    $self->stop_redis($port) if $r->{pid};
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        open STDOUT, '>>', "$r->{dir}/redis.log";
        open STDERR, '>&', \*STDOUT;
        exec 'redis-server', '--port', $port, '--bind', '127.0.0.1',
             '--save', '', '--appendonly', 'no', '--dir', $r->{dir},
             '--unixsocket', "$r->{dir}/redis.sock", '--unixsocketperm',
             '700', @{ $r->{args} };
        exit 127;
    }
    $r->{pid} = $pid;
    for (1 .. 200) {
        my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port");
        if ($s) {
            # accepting is not serving: an AOF is read first (LOADING)
            print $s resp_encode('PING');
            my $pong = eval { resp_read($s) };
            close $s;
            return $port if defined $pong && !ref $pong;
        }
        sleep 0.05;
    }
    die "redis-server did not restart";
}

sub resp_encode {
    my (@args) = @_;
    my $s = '*' . scalar(@args) . "\r\n";
    $s .= '$' . length($_) . "\r\n$_\r\n" for @args;
    return $s;
}

# Read one RESP reply from a socket: scalars for simple/bulk/integer,
# array refs for arrays, { error => msg } for errors, undef for nil.
sub resp_read {
    my ($sock) = @_;
    my $line = <$sock>;
    die "redis: connection closed" unless defined $line;
    $line =~ s/\r\n$//;
    my ($type, $rest) = (substr($line, 0, 1), substr($line, 1));
    return $rest if $type eq '+';
    return $rest + 0 if $type eq ':';
    return { error => $rest } if $type eq '-';
    if ($type eq '$') {
        return undef if $rest < 0;
        my $buf = '';
        while (length($buf) < $rest + 2) {
            my $n = read($sock, $buf, $rest + 2 - length($buf), length($buf));
            die "redis: short read" unless $n;
        }
        return substr($buf, 0, $rest);
    }
    if ($type eq '*') {
        return undef if $rest < 0;
        return [ map { resp_read($sock) } 1 .. $rest ];
    }
    die "redis: bad reply line '$line'";
}

# One command against redis on $port (or the last one started).
sub redis {
    my ($self, @args) = @_;
    my $port = $args[0] =~ /^\d+$/ && @args > 1 && $self->_is_redis_port($args[0])
             ? shift @args : $self->{redis_port};
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port", Timeout => 5)
        or die "redis connect $port: $!";
    if (my $pw = $self->{redis_password}) {
        print $s resp_encode('AUTH', $pw);
        resp_read($s);
    }
    print $s resp_encode(@args);
    my $r = resp_read($s);
    close $s;
    return $r;
}

sub _is_redis_port {
    my ($self, $p) = @_;
    return scalar grep { $_->{port} == $p } @{ $self->{redis} };
}

# --- fake daemons ---------------------------------------------------------

# Fork a daemon: $code->($listen_socket) runs in the child until killed.
# Returns the port it listens on.  Used for fake Redis servers that stall,
# drop or answer garbage.
sub run_daemon {
    my ($self, $code, $port) = @_;
    $port //= free_port();
    my $ls = IO::Socket::INET->new(LocalAddr => "127.0.0.1:$port",
                                   Listen => 128, ReuseAddr => 1)
        or die "daemon listen $port: $!";
    my $pid = fork // die "fork: $!";
    if ($pid == 0) {
        $SIG{TERM} = sub { POSIX::_exit(0) };
        $code->($ls);
        POSIX::_exit(0);
    }
    close $ls;
    push @{ $self->{daemons} }, $pid;
    return $port;
}

sub stop_daemons {
    my ($self) = @_;
    for my $pid (@{ $self->{daemons} }) {
        kill 'TERM', $pid;
        waitpid($pid, 0);
    }
    $self->{daemons} = [];
}

# --- HTTP -----------------------------------------------------------------

# http_request(METHOD, PATH, [headers...], body => ..., port => ...)
# Returns { status, headers => {lowercase => value}, body, raw }.
sub http_request {
    my ($self, $method, $path, %h) = @_;
    my $port = delete $h{port} // $self->port(8080);
    my $body = delete $h{body};
    my $timeout = delete $h{timeout} // 10;
    my $s = IO::Socket::INET->new(PeerAddr => "127.0.0.1:$port",
                                  Timeout => $timeout)
        or return { status => 0, error => "connect: $!" };
    my $req = "$method $path HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n";
    $req .= "$_: $h{$_}\r\n" for sort keys %h;
    if (defined $body) {
        $req .= "Content-Length: " . length($body) . "\r\n";
    }
    $req .= "\r\n";
    $req .= $body if defined $body;
    print $s $req;
    my $raw = '';
    my $sel = IO::Select->new($s);
    my $deadline = time + $timeout;
    while (time < $deadline) {
        last unless $sel->can_read($deadline - time);
        my $n = sysread($s, $raw, 65536, length $raw);
        last unless $n;
    }
    close $s;
    return parse_response($raw);
}

sub http_get {
    my ($self, $path, %h) = @_;
    return $self->http_request('GET', $path, %h);
}

sub http_post {
    my ($self, $path, $body, %h) = @_;
    return $self->http_request('POST', $path, %h, body => $body);
}

sub parse_response {
    my ($raw) = @_;
    my ($head, $body) = split /\r\n\r\n/, $raw, 2;
    my $res = { raw => $raw, status => 0, headers => {}, body => $body // '' };
    return $res unless defined $head && $head =~ m{^HTTP/1\.\d (\d+)};
    $res->{status} = $1;
    for my $line (split /\r\n/, $head) {
        next unless $line =~ /^([^:]+):\s*(.*)$/;
        my $k = lc $1;
        $res->{headers}{$k} = exists $res->{headers}{$k}
            ? "$res->{headers}{$k}, $2" : $2;
    }
    if (($res->{headers}{'transfer-encoding'} // '') =~ /chunked/) {
        my ($out, $b) = ('', $res->{body});
        while ($b =~ s/^([0-9a-fA-F]+)\r\n//) {
            my $n = hex $1;
            last if $n == 0;
            $out .= substr($b, 0, $n, '');
            $b =~ s/^\r\n//;
        }
        $res->{body} = $out;
    }
    return $res;
}

# --- shutdown and log checks ---------------------------------------------

# Lines of error.log at or above a level, plus crashes and sanitizer output.
sub log_problems {
    my ($self) = @_;
    my @bad = grep { /\[(alert|emerg|crit)\]/ || /exited on signal/
                     || /AddressSanitizer|runtime error|LeakSanitizer/ }
              split /\n/, $self->read_file('error.log');
    for my $f (glob("$self->{dir}/asan*"), glob("$self->{dir}/ubsan*")) {
        push @bad, "sanitizer report $f:\n" . $self->read_file($f);
    }
    return @bad;
}

sub stop {
    my ($self) = @_;
    return if $self->{stopped}++;
    $self->stop_nginx;
    $self->stop_daemons;
    $self->stop_redis($_->{port}) for @{ $self->{redis} };
    if (-e $self->error_log) {
        my @bad = $self->log_problems;
        ok(!@bad, 'no alerts, crashes or sanitizer errors in error.log')
            or diag(join "\n", @bad[0 .. ($#bad < 20 ? $#bad : 19)]);
    }
}

sub DESTROY {
    my ($self) = @_;
    local $?;
    $self->stop unless $self->{stopped};
}

1;
