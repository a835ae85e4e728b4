#!/usr/bin/perl
# check_layers.pl -- the layering check of src/ (owns: the layer table below,
# the file-circle limit and the size limits; nothing else reads them).
#
# Rule: every .c/.h under src/ lives in a layer folder; a file may depend
# only on files of its own folder or of a folder of LOWER rank.  A dependency
# is a quoted #include that resolves to a project header, or a reference in
# foo.o to a global symbol defined in bar.o (read with nm, so build first).
# Two different folders of equal rank (e.g. two model families) must not
# depend on each other, and the folder graph must have no cycle.  The largest
# circle of .c files calling each other may not exceed MAX_CIRCLE files, and
# headers/sources may not exceed the line limits.
# src/blas/ (a separate loadable module) and any path with /fuzz/ are ignored.
#
# Usage: perl test/check_layers.pl [--graph] [SRC_DIR]   (default: the src/ next to test/)
# Exit: 0 OK, 1 rule violated, 2 cannot check (missing object file, bad dir).
# Perl 5 core modules only (perl-base suffices); needs nm (binutils).
use strict;
use warnings;
use File::Basename qw(dirname);
use Getopt::Long qw(GetOptions);

# ---- the rules (edit here) -------------------------------------------------
my @LAYERS = (              # folder (relative to src/) => rank
    [ 'common'   => 0 ], [ 'data'    => 1 ], [ 'metrics' => 2 ],
    [ 'models'   => 3 ], [ 'models/*' => 4 ],  # each model family folder
    [ 'registry' => 5 ], [ 'train'   => 6 ], [ 'serve'   => 7 ],
    [ 'monitor'  => 8 ],
);
my @TOP_LEVEL_ALLOWED = ();   # files allowed directly in src/ (none)
my $MAX_CIRCLE  = 4;          # largest allowed circle of .c files
my $MAX_H_LINES = 250;
my $MAX_C_LINES = 900;
my %DEFINED_TYPES = map { $_ => 1 } qw(T D B R);   # nm: external definitions
# -----------------------------------------------------------------------------

my $graph = 0;
GetOptions('graph' => \$graph) && @ARGV <= 1
    or do { print STDERR "usage: $0 [--graph] [SRC_DIR]\n"; exit 2 };
my $src = shift(@ARGV) // dirname($0) . '/../src';
$src =~ s{/+$}{};
-d $src or do { print STDERR "no such directory: $src\n"; exit 2 };

my @problems;
sub problem { push @problems, $_[0] }

# ---- 1. files ----------------------------------------------------------------
my %folder;                            # rel path => its folder ('.' = src/)
sub walk {                              # File::Find is not in perl-base
    my ($rel) = @_;                     # '' = src/ itself
    opendir(my $dh, $rel eq '' ? $src : "$src/$rel") or die "cannot read $src/$rel: $!\n";
    for my $e (sort grep { !/\A\.\.?\z/ } readdir $dh) {
        my $p = $rel eq '' ? $e : "$rel/$e";
        if (-d "$src/$p") { walk($p) unless $p eq 'blas' || $e eq 'fuzz' }
        elsif ($e =~ /\.[ch]\z/) { $folder{$p} = $rel eq '' ? '.' : $rel }
    }
    closedir $dh;
}
walk('');
my @files = sort keys %folder;
my @cfiles = grep { /\.c\z/ } @files;

sub rank_of {
    my ($f) = @_;
    for (@LAYERS) {
        my ($pat, $rank) = @$_;
        (my $re = quotemeta $pat) =~ s{\\\*}{[^/]+}g;
        return $rank if $f =~ /\A$re\z/;
    }
    return undef;
}
my %is_top_allowed = map { $_ => 1 } @TOP_LEVEL_ALLOWED;
my %folders = map { $_ => 1 } values %folder;
for my $f (@files) {
    problem("file $f lives directly in src/: put it in a layer folder")
        if $folder{$f} eq '.' && !$is_top_allowed{$f};
}
for my $d (sort keys %folders) {
    next if $d eq '.' || defined rank_of($d);
    problem("unknown folder $d (known: " . join(', ', map { $_->[0] } @LAYERS) . ')');
}

# ---- 5. sizes ----------------------------------------------------------------
for my $f (@files) {
    open(my $fh, '<', "$src/$f") or die "cannot read $src/$f: $!\n";
    my $n = 0;
    $n += tr/\n// while <$fh>;                 # wc -l: count newlines
    close $fh;
    my $max = $f =~ /\.h\z/ ? $MAX_H_LINES : $MAX_C_LINES;
    problem("$f has $n lines (limit $max)") if $n > $max;
}

# ---- 2. file-level dependencies ------------------------------------------------
my %edge;   # $edge{A}{B} = { inc => 1, sym => { name => 1 } }

sub normalize {                         # a/b/../c/./d.h -> a/c/d.h
    my @out;
    for (split m{/+}, $_[0]) {
        next if $_ eq '.' || $_ eq '';
        if ($_ eq '..') { return undef unless @out; pop @out } else { push @out, $_ }
    }
    return join '/', @out;
}

# 2a. quoted includes: relative to the including file, then to src/ (-Isrc)
for my $f (@files) {
    open(my $fh, '<', "$src/$f") or die "cannot read $src/$f: $!\n";
    while (<$fh>) {
        next unless /^\s*#\s*include\s*"([^"]+)"/;
        my $x = $1;
        my $dir = $folder{$f} eq '.' ? '' : "$folder{$f}/";
        for my $cand (normalize("$dir$x"), normalize($x)) {
            next unless defined $cand && -f "$src/$cand";
            $edge{$f}{$cand}{inc} = 1 if exists $folder{$cand} && $cand ne $f;
            last;                       # the compiler stops at the first hit
        }
    }
    close $fh;
}

# 2b. symbols: who defines what (nm), who references it
my (%definer, %undef);
my @missing = grep { !-f "$src/" . s/\.c\z/.o/r } @cfiles;
if (@missing) {
    print STDERR "object file $src/" . s/\.c\z/.o/r . " missing: build first (make)\n"
        for @missing;
    exit 2;
}
for my $c (@cfiles) {
    my $o = "$src/" . ($c =~ s/\.c\z/.o/r);
    print STDERR "warning: $o is older than its source: rebuild (make)\n"
        if -M $o > -M "$src/$c";
    open(my $nm, '-|', 'nm', '-P', $o) or die "cannot run nm: $!\n";
    while (<$nm>) {
        my ($name, $type) = split;
        next unless defined $type;
        if ($type eq 'U') { $undef{$c}{$name} = 1 }
        elsif ($DEFINED_TYPES{$type}) {
            print STDERR "warning: $name defined in both $definer{$name} and $c\n"
                if $definer{$name} && $definer{$name} ne $c;
            $definer{$name} //= $c;
        }
    }
    close $nm or die "nm $o failed\n";
}
for my $c (@cfiles) {
    for my $s (keys %{ $undef{$c} }) {
        my $d = $definer{$s};
        $edge{$c}{$d}{sym}{$s} = 1 if $d && $d ne $c;
    }
}

sub evidence {
    my ($e) = @_;
    my @ev;
    push @ev, 'symbols: ' . join(', ', sort keys %{ $e->{sym} }) if $e->{sym};
    push @ev, '#include' if $e->{inc};
    return join('; ', @ev);
}

if ($graph) {
    for my $from (sort keys %edge) {
        print "$from -> $_: ", evidence($edge{$from}{$_}), "\n" for sort keys %{ $edge{$from} };
    }
    print "\n";
}

# ---- 3. folder rules ---------------------------------------------------------
my %fedge;                               # folder graph (cross-folder edges)
for my $from (sort keys %edge) {
    for my $to (sort keys %{ $edge{$from} }) {
        my ($fa, $fb) = ($folder{$from}, $folder{$to});
        next if $fa eq $fb;
        $fedge{$fa}{$fb} = 1;
        my ($ra, $rb) = (rank_of($fa), rank_of($fb));
        next unless defined $ra && defined $rb;  # already reported above
        my $ev = evidence($edge{$from}{$to});
        problem("lower layer calls higher: $from -> $to ($ev)") if $rb > $ra;
        problem("same-rank layers depend on each other: $from -> $to ($ev)") if $rb == $ra;
    }
}

# Tarjan's strongly connected components; returns a list of array refs.
sub tarjan {
    my ($nodes, $succ) = @_;
    my ($index, %idx, %low, %on, @stack, @sccs) = (0);
    my $visit;
    $visit = sub {
        my ($v) = @_;
        $idx{$v} = $low{$v} = $index++;
        push @stack, $v; $on{$v} = 1;
        for my $w (sort keys %{ $succ->{$v} || {} }) {
            if (!exists $idx{$w}) { $visit->($w); $low{$v} = $low{$w} if $low{$w} < $low{$v} }
            elsif ($on{$w})       { $low{$v} = $idx{$w} if $idx{$w} < $low{$v} }
        }
        return unless $low{$v} == $idx{$v};
        my @scc;
        while (1) { my $w = pop @stack; $on{$w} = 0; push @scc, $w; last if $w eq $v }
        push @sccs, [ sort @scc ];
    };
    { no warnings 'recursion'; $visit->($_) for grep { !exists $idx{$_} } @$nodes; }
    undef $visit;
    return @sccs;
}

for my $scc (tarjan([ sort keys %folders ], \%fedge)) {
    next unless @$scc > 1;
    my %in = map { $_ => 1 } @$scc;      # shortest cycle through the first folder
    my ($start, %prev, @queue) = ($scc->[0]);
    @queue = ($start);
    my $end;
    while (defined(my $v = shift @queue)) {
        for my $w (sort keys %{ $fedge{$v} }) {
            next unless $in{$w};
            if ($w eq $start) { $end = $v; @queue = (); last }
            next if exists $prev{$w};
            $prev{$w} = $v; push @queue, $w;
        }
    }
    my @path = ($start);
    for (my $v = $end; $v ne $start; $v = $prev{$v}) { splice @path, 1, 0, $v }
    problem('folder-level cycle: ' . join(' -> ', @path, $start)
            . (@$scc > @path ? ' (cycle group: ' . join(', ', @$scc) . ')' : ''));
}

# ---- 4. file circles (.c files linked by symbol references) ------------------
my %cedge;
for my $c (@cfiles) {
    $cedge{$c}{$_} = 1 for grep { $edge{$c}{$_}{sym} } keys %{ $edge{$c} || {} };
}
my @circles = sort { @$b <=> @$a || "@$a" cmp "@$b" } tarjan(\@cfiles, \%cedge);
for (grep { @$_ > $MAX_CIRCLE } @circles) {
    problem(scalar(@$_) . " .c files call each other in a circle (limit $MAX_CIRCLE): @$_");
}

# ---- 6. report ----------------------------------------------------------------
my $nh = grep { /\.h\z/ } @files;
printf "files: %d (%d .c, %d .h) in %s\n", scalar @files, scalar @cfiles, $nh, $src;
print "folders:\n";
my $rk = sub { my $r = rank_of($_[0]); defined $r ? $r : 99 };
my @fl = sort { $rk->($a) <=> $rk->($b) || $a cmp $b } keys %folders;
for my $d (@fl) {
    my $r = rank_of($d);
    my $n = grep { $folder{$_} eq $d } @files;
    printf "  %-20s %s (%d file%s)\n", $d,
        $d eq '.' ? 'not a layer' : defined $r ? "rank $r" : 'UNKNOWN', $n, $n == 1 ? '' : 's';
}
print "folder dependencies:\n";
for my $d (reverse @fl) {
    next unless $fedge{$d};
    my @to = sort { $rk->($b) <=> $rk->($a) || $a cmp $b } keys %{ $fedge{$d} };
    print "  $d -> ", join(', ', @to), "\n";
}
print "  (none)\n" unless %fedge;
if (@problems) {
    print "problems:\n";
    print "  $_\n" for @problems;
}
my $big = @circles ? $circles[0] : [];
if (@$big > 1) { printf "largest circle of files: %d files: %s\n", scalar @$big, "@$big" }
else           { print "largest circle of files: 1 file (no circle)\n" }
if (@problems) {
    printf "layer check: FAILED (%d problems)\n", scalar @problems;
    exit 1;
}
print "layer check: OK\n";
exit 0;
