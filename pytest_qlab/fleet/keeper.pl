# pytest-qlab's keeper on a fleet host: everything the run holds on this host lives as long as
# the one SSH session that runs this script, so the host cleans up after itself when the run
# ends, is interrupted, or loses its connection.
#
# Arguments: volume run_id marker_json holder_json drive_lock_dir drive_key heartbeat_s
#            fleet_run lock_volume (1, or 0 where another host of this run holds that storage)
#            socket_dir (short, private: a Unix socket path must fit in 104 bytes)
# Prints (one per line, tab-separated): removed/left (leftovers), busy, locked, serving PID,
# failed REASON, stopped. Reads: start, alive, stop, keep (as stop, the files kept).
# Only core perl built-ins: macOS and Debian's perl-base both have them.
use strict;
use warnings;

my ($volume, $run_id, $marker, $holder, $lock_dir, $drive_key, $heartbeat_s, $fleet_run,
    $lock_volume, $socket_dir) = @ARGV;
my $root = "$volume/.pytest-qlab";
my $run_dir = "$root/$run_id";
my $socket = "$socket_dir/fio.sock";
my ($LOCK_EX, $LOCK_NB) = (2, 4);
my $server_pid = 0;
my $made_run_dir = 0;
my $drive_lock;
my $volume_lock;
$| = 1;

sub say_line { print join("\t", @_), "\n"; }

sub lock_file {
    my ($path) = @_;
    open(my $fh, '+>>', $path) or do { say_line('failed', "cannot open $path: $!"); exit 70; };
    if (!flock($fh, $LOCK_EX | $LOCK_NB)) {
        seek($fh, 0, 0);
        local $/;
        my $text = <$fh> // '';
        $text =~ s/\s+/ /g;
        say_line('busy', $path, $text);
        exit 75;
    }
    truncate($fh, 0);
    seek($fh, 0, 0);
    print {$fh} $holder;
    $fh->flush if $fh->can('flush');
    return $fh;
}

sub stop_server {
    return unless $server_pid;
    kill('TERM', -$server_pid);
    for (1 .. 50) {
        last if waitpid($server_pid, 1) != 0;    # WNOHANG
        select(undef, undef, undef, 0.1);
    }
    kill('KILL', -$server_pid);
    waitpid($server_pid, 0);
    $server_pid = 0;
}

sub remove_run_dir {
    return unless $made_run_dir && -d $run_dir && !-l $run_dir;
    system('rm', '-rf', '--', $run_dir) if -f "$run_dir/pytest-qlab-scratch.json";
}

sub finish {
    my ($keep) = @_;
    stop_server();
    unlink($socket);
    rmdir($socket_dir);
    if ($keep) {
        my $kept = $marker;
        $kept =~ s/"kept":false/"kept":true/;
        if (open(my $fh, '>', "$run_dir/pytest-qlab-scratch.json")) { print {$fh} $kept; close $fh; }
    } else {
        remove_run_dir();
    }
    # our locks' files go with us (we hold them, so no other run is using them), then the
    # scratch root if nothing else is in it
    unlink("$lock_dir/$drive_key.lock") if $drive_lock;
    unlink("$root/lock") if $volume_lock;
    rmdir($root);
    say_line('stopped');
    exit 0;
}

# --- the volume's scratch root, its lock, the drive's lock -----------------------------------
if (-l $root || (-e $root && !-d $root)) {
    say_line('failed', "$root is not a plain folder; remove it or pick another volume");
    exit 70;
}
mkdir($root);
$volume_lock = $lock_volume ? lock_file("$root/lock") : undef;
if ($drive_key ne '-') {
    mkdir($lock_dir, 0777);
    $drive_lock = lock_file("$lock_dir/$drive_key.lock");
}

# --- leftovers of runs that died without cleaning up -----------------------------------------
my $root_dev = (lstat($root))[0];
opendir(my $dh, $root) or do { say_line('failed', "cannot read $root: $!"); exit 70; };
for my $name (sort grep { $_ ne '.' && $_ ne '..' && $_ ne 'lock' } readdir($dh)) {
    my $path = "$root/$name";
    next if index($name, $fleet_run) == 0;    # another host of this very run, on shared storage
    if (-l $path) { say_line('left', $path, 'a symbolic link pytest-qlab did not make'); next; }
    if (!-d $path) { say_line('left', $path, 'a file pytest-qlab did not write'); next; }
    if ((lstat($path))[0] != $root_dev) { say_line('left', $path, 'a mount point'); next; }
    my $text = '';
    if (open(my $fh, '<', "$path/pytest-qlab-scratch.json")) { local $/; $text = <$fh> // ''; }
    if ($text !~ /"tool":"pytest-qlab"/ || $text !~ /"run_id":"\Q$name\E"/) {
        say_line('left', $path, 'no pytest-qlab marker in it, so it may not be ours');
        next;
    }
    if ($text =~ /"kept":true/) { say_line('left', $path, 'kept on purpose with --qlab-keep-files'); next; }
    if (open(my $fh, '<', "$path/fio-server.pid")) {
        my $pid = <$fh> // '';
        chomp $pid;
        if ($pid =~ /^\d+$/) {
            my $command = `ps -o comm= -p $pid 2>/dev/null` // '';
            kill('KILL', -$pid, $pid) if $command =~ /fio/;
        }
    }
    my $kib = (split(/\s+/, `du -sk "$path" 2>/dev/null` // '0'))[0] // 0;
    system('rm', '-rf', '--', $path);
    say_line(-e $path ? 'left' : 'removed', $path, -e $path ? 'could not be removed' : $kib * 1024, $text);
}
closedir($dh);
say_line('locked');

# --- the control channel: a line at least every heartbeat, or the run is gone ----------------
$SIG{TERM} = $SIG{HUP} = $SIG{INT} = sub { finish(0); };
my $buffer = '';
while (1) {
    my $bits = '';
    vec($bits, fileno(STDIN), 1) = 1;
    my $ready = select(my $out = $bits, undef, undef, $heartbeat_s);
    finish(0) if $ready <= 0;    # silent too long: the run or its connection is gone
    my $read = sysread(STDIN, $buffer, 4096, length $buffer);
    finish(0) unless $read;      # end of input: the run closed its side, or was killed
    while ($buffer =~ s/^([^\n]*)\n//) {
        my $command = $1;
        if ($command eq 'start') {
            if (!mkdir($run_dir, 0700)) { say_line('failed', "cannot create $run_dir: $!"); next; }
            if (!mkdir($socket_dir, 0700)) { say_line('failed', "cannot create $socket_dir: $!"); next; }
            $made_run_dir = 1;
            if (open(my $fh, '>', "$run_dir/pytest-qlab-scratch.json")) { print {$fh} $marker; close $fh; }
            else { say_line('failed', "cannot write to $run_dir: $!"); next; }
            my $pid = fork();
            if (!defined $pid) { say_line('failed', "cannot start fio: $!"); next; }
            if ($pid == 0) {
                setpgrp(0, 0);
                chdir($run_dir) or exit 70;
                open(STDIN, '<', '/dev/null');
                open(STDOUT, '>', 'fio-server.log');
                open(STDERR, '>&', \*STDOUT);
                exec('fio', "--server=sock:$socket") or exit 127;
            }
            $server_pid = $pid;
            if (open(my $fh, '>', "$run_dir/fio-server.pid")) { print {$fh} "$pid\n"; close $fh; }
            my $up = 0;
            for (1 .. 100) {
                if (-S $socket) { $up = 1; last; }
                last if waitpid($pid, 1) != 0;
                select(undef, undef, undef, 0.05);
            }
            if ($up) { say_line('serving', $pid); }
            else {
                my $log = '';
                if (open(my $fh, '<', "$run_dir/fio-server.log")) { local $/; $log = <$fh> // ''; }
                $log =~ s/\s+/ /g;
                $server_pid = 0 if waitpid($pid, 1) != 0;
                say_line('failed', "fio --server did not start: $log");
            }
        } elsif ($command eq 'stop') {
            finish(0);
        } elsif ($command eq 'keep') {
            finish(1);
        }
    }
}
