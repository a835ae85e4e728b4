# Hostile input without a crash:
#  - sql/hostile.sql (every public function with NULLs, NaN, ±Infinity, empty
#    and one-row relations, zero-length and mismatched arrays, huge and
#    negative sizes, unknown names, wrong types), sql/injection.sql,
#    sql/search_path.sql and sql/security.sql run against a cluster with
#    pg_cron, so the scheduling functions are exercised for real too;
#  - no case ends in an internal error (XX000-XX002);
#  - schedule strings with quotes, semicolons and comment markers cannot
#    inject into pg_cron's job command;
#  - the postmaster never restarted: same start time, and no "terminated by
#    signal" in the server log.
use strict;
use warnings;
use File::Basename;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/..";
use MlsysNode;

my $root = dirname(__FILE__) . '/../..';
my $node = MlsysNode::cron_node('hostile');
$node->safe_psql('postgres', 'CREATE EXTENSION pg_cron; CREATE EXTENSION mlsys;');
my $started = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');

for my $suite (qw(hostile injection search_path security)) {
    my ($ret, $out, $err) = $node->psql('postgres', undef,
        on_error_stop => 0, extra_params => [ '-X', '-f', "$root/sql/$suite.sql" ]);
    is($ret, 0, "sql/$suite.sql ran to its end");
    unlike($err, qr/server closed the connection|terminated abnormally/, "sql/$suite.sql: the backend survived");
    if ($suite eq 'hostile') {
        like($out, qr/^internal errors: 0$/m, 'no hostile case ended in an internal error');
        my @cases = ($out =~ /^\s*\w+\s*\|[^|]+\|\s*(ok: |[0-9A-Z]{5}\s*\|)/mg);
        cmp_ok(scalar(@cases), '>=', 200, 'the hostile suite ran its cases (' . scalar(@cases) . ')');
    }
}

# schedule strings cannot inject into the job command
$node->safe_psql('postgres', q{
    CREATE TABLE canary (x int); INSERT INTO canary VALUES (1);
    CREATE TABLE d AS SELECT i::float8 AS a, (2 * i)::float8 AS y FROM generate_series(1, 50) i;
    SELECT version FROM mlsys.train('m', 'd', 'y');
});
# (pg_cron itself decides which schedule strings it accepts: it ignores
# trailing text after five fields; the job's command never contains them)
for my $schedule (q{0 3 * * *'; DROP TABLE canary; --}, q{0 3 * * * /* */ ; DROP TABLE canary},
                  q{$$; DROP TABLE canary; $$}, q{"0 3 * * *"}, q{'); DROP TABLE canary; --}) {
    (my $lit = $schedule) =~ s/'/''/g;
    my ($ret, $out, $err) = $node->psql('postgres', "SELECT mlsys.schedule('m', '$lit')");
    unlike($err, qr/server closed|XX000/, "schedule \"$schedule\": accepted or a clean error");
    if ($ret == 0) {
        is($node->safe_psql('postgres', q{SELECT command FROM cron.job WHERE jobname = 'mlsys:m:retrain'}),
           q{SELECT mlsys._run_job('m', 'retrain')}, "schedule \"$schedule\": the job command is unchanged");
    }
}
is($node->safe_psql('postgres', 'SELECT count(*) FROM canary'), '1', 'the canary table survived');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job WHERE command !~ '^SELECT mlsys\._run_job\('}),
   '0', 'no job command other than mlsys._run_job was created');

is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $started,
   'the postmaster did not restart');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no backend was terminated by a signal');
unlike($log, qr/all server processes terminated; reinitializing/, 'no crash recovery');

$node->stop;
done_testing();
