package SkipModule;

# Helpers shared by the module tests (t/6*.t): a generated dataset loaded
# into a real redis-server with `skipctl features load`, Redis command
# counters, the X-Skip-* headers of a response, a raw client reset.
#
#   my ($data, $users, $tracks) = SkipModule::load_dataset($t, scale => 0.01);
#   my $n = SkipModule::calls($t, 'hmget');      # INFO commandstats
#   my %s = SkipModule::skipvars($res);         # decision, score, source...
#   $t->write_conf(SkipModule::user() . <<'EOF'); # workers may read the test dir

use strict;
use warnings;

use IO::Select;
use IO::Socket::INET;
use Time::HiRes ();
use Socket qw(SOL_SOCKET SO_LINGER);

sub lines_of {
    my ($f) = @_;
    open my $fh, '<', $f or die "$f: $!";
    my @l = <$fh>;
    return @l;
}

# Generate a dataset and load it into the last redis started; returns the
# dataset dir and the user and track ids it has.
sub load_dataset {
    my ($t, %o) = @_;
    my $data = $t->dir . '/data';
    my $sk = $t->skipctl;
    my $scale = $o{scale} // 0.01;
    my $seed = $o{seed} // 7;
    my $model = $o{model} // $t->root . '/models/default.model';
    unless (-e "$data/users.jsonl") {
        system($sk, 'gen', '--out', $data, '--scale', $scale, '--seed', $seed,
               '--quiet') == 0 or die "skipctl gen failed";
    }
    system("$sk features load --redis 127.0.0.1:$t->{redis_port} "
           . "--data $data --model $model >/dev/null 2>&1") == 0
        or die "skipctl features load failed";
    my @users = map { /"user_id":(\d+)/ ? $1 : () } lines_of("$data/users.jsonl");
    my @tracks = map { /"id":"(\w+)"/ ? $1 : () } lines_of("$data/tracks.jsonl");
    return ($data, \@users, \@tracks);
}

# One (user, track) pair decided "play" and one decided "skip" at hour 12 by
# MODEL, asked offline through `skipctl features get`: { play => [u, t],
# skip => [u, t] } (a key is missing when 400 random tries found none).
sub decision_pairs {
    my ($t, $users, $tracks, $model, $seed) = @_;
    my $sk = $t->skipctl;
    my $rport = $t->{redis_port};
    my %pair;
    srand($seed);
    for (1 .. 400) {
        my ($u, $tr) = ($users->[rand @$users], $tracks->[rand @$tracks]);
        my $out = `$sk features get --redis 127.0.0.1:$rport --model $model --hour 12 $u $tr`;
        my ($d) = $out =~ /^decision (play|skip)/m or next;
        $pair{$d} //= [ $u, $tr ];
        last if $pair{play} && $pair{skip};
    }
    return \%pair;
}

# Workers of a root master run as nobody, who cannot enter the 0700 test
# dir: templates that serve or cache files start with this.
sub user {
    return $> == 0 ? "user root;\n" : '';
}

# Calls of one command since Redis started (INFO commandstats).
sub calls {
    my ($t, $cmd, $port) = @_;
    my $info = $t->redis(defined $port ? ($port) : (), 'INFO', 'commandstats');
    return $info =~ /cmdstat_\Q$cmd\E:calls=(\d+)/ ? $1 : 0;
}

# Every command call since Redis started, summed.
sub all_calls {
    my ($t, $port) = @_;
    my $info = $t->redis(defined $port ? ($port) : (), 'INFO', 'commandstats');
    my $n = 0;
    $n += $1 while $info =~ /:calls=(\d+)/g;
    return $n;
}

# The X-Skip-* headers of a response, keys without the prefix.
sub skipvars {
    my ($res) = @_;
    my %s;
    for my $k (keys %{ $res->{headers} }) {
        $s{$1} = $res->{headers}{$k} if $k =~ /^x-skip-(.+)$/;
    }
    return %s;
}

# The active snapshot's key prefix ("skip:<snap>").
sub snap_prefix {
    my ($t) = @_;
    return 'skip:' . $t->redis('GET', 'skip:active');
}

# Send a request and reset the connection (RST) after $wait seconds.
sub rst_request {
    my ($t, $path, $wait, %h) = @_;
    my $s = IO::Socket::INET->new(PeerAddr => '127.0.0.1:' . $t->port(8080))
        or return 0;
    my $req = "GET $path HTTP/1.1\r\nHost: localhost\r\n";
    $req .= "$_: $h{$_}\r\n" for sort keys %h;
    print $s "$req\r\n";
    select(undef, undef, undef, $wait) if $wait;
    setsockopt($s, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $s;
    return 1;
}

# A fake Redis for t->run_daemon: answers AUTH/SELECT/GET <prefix>:active
# like Redis (so the handshake succeeds), then HMGET according to $mode:
# 'silent' never answers, 'garbage' answers something that is not RESP,
# 'slow' answers "no such record" after $delay seconds (default 0.05),
# 'error' answers an error reply carrying control bytes.  $snap is the
# snapshot id GET <prefix>:active returns (default "s1").
sub fake_redis {
    my ($mode, $delay, $snap) = @_;
    $delay //= 0.05;
    $snap //= 's1';
    return sub {
        my ($ls) = @_;
        my $sel = IO::Select->new($ls);
        my (%buf, @later);
        for (;;) {
            my $wait = @later ? $later[0][0] - Time::HiRes::time() : 1;
            $wait = 0 if $wait < 0;
            my @ready = $sel->can_read($wait);
            while (@later && $later[0][0] <= Time::HiRes::time()) {
                my (undef, $s, $reply) = @{ shift @later };
                syswrite($s, $reply) if $sel->exists($s);
            }
            for my $s (@ready) {
                if ($s == $ls) {
                    my $c = $ls->accept or next;
                    $sel->add($c);
                    $buf{$c} = '';
                    next;
                }
                my $n = sysread($s, $buf{$s}, 65536, length $buf{$s});
                if (!$n) {
                    $sel->remove($s);
                    delete $buf{$s};
                    close $s;
                    next;
                }
                while (my $cmd = parse_cmd(\$buf{$s})) {
                    my $name = uc $cmd->[0];
                    # replies leave in command order, as Redis sends them
                    # the connection's setup is answered as Redis would
                    # (the persistence check included: durability.h)
                    my $reply = $name eq 'GET'
                              ? '$' . length($snap) . "\r\n$snap\r\n"
                              : $name eq 'AUTH' || $name eq 'SELECT' ? "+OK\r\n"
                              : $name eq 'CONFIG' ? "*2\r\n\$3\r\nkey\r\n\$2\r\nno\r\n"
                              : $name eq 'INFO' ? "\$13\r\naof_enabled:0\r\n"
                              : undef;
                    if (defined $reply) {
                        if (@later) {
                            push @later, [ $later[-1][0], $s, $reply ];
                        } else {
                            syswrite($s, $reply);
                        }
                    } elsif ($mode eq 'error') {
                        syswrite($s, "-ERR evil\x1b[2J\x07 text\r\n");
                    } elsif ($mode eq 'garbage') {
                        syswrite($s, "garbage, not RESP\r\n");
                    } elsif ($mode eq 'slow') {
                        my $n = @$cmd - 2;
                        push @later, [ Time::HiRes::time() + $delay, $s,
                                       "*$n\r\n" . ("\$-1\r\n" x $n) ];
                    }
                }
            }
        }
    };
}

sub parse_cmd {
    my ($b) = @_;
    return undef unless $$b =~ /^\*(\d+)\r\n/;
    my ($n, $pos) = ($1, length("*$1\r\n"));
    my @a;
    for (1 .. $n) {
        return undef unless substr($$b, $pos) =~ /^\$(\d+)\r\n/;
        my $l = $1;
        $pos += length("\$$l\r\n");
        return undef if length($$b) < $pos + $l + 2;
        push @a, substr($$b, $pos, $l);
        $pos += $l + 2;
    }
    substr($$b, 0, $pos, '');
    return \@a;
}

1;
