# Online logging's workers, with mlsys preloaded:
#  - the launcher starts a writer, which stores sampled calls within a few
#    flush intervals and exits when idle;
#  - both come back after a pg_terminate_backend of themselves;
#  - pgbench at full rate: logged + dropped + pending equals its calls, and a
#    tiny ring drops and counts instead of blocking or failing a call;
#  - DROP DATABASE and CREATE DATABASE ... TEMPLATE of a logging database
#    right after it logged are not kept waiting;
#  - kill -9 of a client backend: crash recovery, then logging works again;
#  - a hot standby scores and counts its records as dropped;
#  - a clean shutdown; and without shared_preload_libraries, turning logging
#    on is refused with 55000 and a hint naming the setting.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use FindBin;
use lib "$FindBin::Bin/..";
use MlsysNode;

my $node = MlsysNode::cron_node('logging', allows_streaming => 1);
$node->append_conf('postgresql.conf', "restart_after_crash = on\n");
$node->restart;

my $setup = q{
    CREATE EXTENSION mlsys;
    CREATE TABLE cust AS
      SELECT i AS id, (i % 23)::float8 AS logins,
             CASE i % 3 WHEN 0 THEN 'monthly' WHEN 1 THEN 'yearly' ELSE 'two-year' END AS contract,
             (i % 23) > 11 AS churned
      FROM generate_series(1, 50000) i;
    ALTER TABLE cust ADD PRIMARY KEY (id);
    SELECT version FROM mlsys.train('churn', 'cust', 'churned', ARRAY['logins', 'contract'], deploy => 'most_recent');
    SELECT mlsys.configure('churn', '{"log_sample": 1, "log_entity": "id"}');
};
$node->safe_psql('postgres', $setup);

sub counts
{
	my ($n) = @_;
	my ($logged, $dropped, $pending) =
	  split /\|/, $n->safe_psql('postgres', 'SELECT logged, dropped, pending FROM mlsys.logging_stats');
	return ($logged, $dropped, $pending);
}

sub worker_pids
{
	my ($n, $type) = @_;
	return $n->safe_psql('postgres', qq{SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE backend_type = '$type'});
}

sub wait_rows
{
	my ($n, $db, $rows, $timeout) = @_;
	my $t0 = time();
	while (time() - $t0 < $timeout)
	{
		my $have = $n->safe_psql($db, q{SELECT count(*) FROM mlsys.predictions WHERE source = 'online'});
		return time() - $t0 if $have >= $rows;
		usleep(50_000);
	}
	return undef;
}

# the launcher runs; a sampled call is stored by a writer, which then leaves
ok(worker_pids($node, 'mlsys log launcher') ne '', 'the launcher runs');
$node->safe_psql('postgres', q{SELECT mlsys.predict('churn', c) FROM cust c WHERE id = 1});
my $latency = wait_rows($node, 'postgres', 1, 30);
ok(defined $latency, 'a logged prediction is stored');
cmp_ok($latency // 99, '<', 10, "and visible within 10 s (took " . sprintf('%.2f', $latency // -1) . " s)");
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'mlsys log writer'}),
	'the idle writer exits');

# terminated workers come back
my $launcher = worker_pids($node, 'mlsys log launcher');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher)");
ok($node->poll_query_until('postgres',
		qq{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'mlsys log launcher' AND pid <> $launcher}),
	'a terminated launcher is restarted');
# a writer busy with a steady stream, terminated: the next one takes over
my $stream = $node->background_psql('postgres');
$stream->query_until(qr/streaming/, q{
    \echo streaming
    DO $$ BEGIN FOR i IN 1..60 LOOP PERFORM mlsys.predict('churn', c) FROM cust c WHERE id <= 50; PERFORM pg_sleep(0.1); END LOOP; END $$;
});
ok($node->poll_query_until('postgres',
		q{SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE backend_type = 'mlsys log writer'}),
	'a writer runs while calls stream in, and is terminated');
$stream->query_safe(q{SELECT 1});
$stream->quit;
# (a record a writer has taken is no longer pending, and is counted as logged
# only after its transaction commits: wait for both)
my $settled = q{SELECT s.pending = 0 AND s.logged = (SELECT count(*) FROM mlsys.predictions WHERE source = 'online')
                  FROM mlsys.logging_stats s};
ok($node->poll_query_until('postgres', $settled),
   'after a terminated writer, another stores what is pending');
my ($l0, $d0, $p0) = counts($node);
# (records the terminated writer had taken but not committed are counted as dropped)
cmp_ok($l0 + $d0, '==', 3001, 'every sampled call was logged or counted as dropped');
cmp_ok($l0, '>=', 2500, "most were logged ($l0 of 3001)");
is($node->safe_psql('postgres', q{SELECT count(*) FROM mlsys.predictions WHERE source = 'online'}), $l0,
   'the logged ones are rows of mlsys.predictions');

# pgbench at full rate: every call is logged, dropped or pending
my $script = $node->basedir . '/predict.sql';
open(my $fh, '>', $script) or die;
print $fh "\\set id random(1, 50000)\nSELECT mlsys.predict('churn', c) FROM cust c WHERE id = :id;\n";
close $fh;
my ($out, $err) = ('', '');
IPC::Run::run([ 'pgbench', '-n', '-M', 'prepared', '-c', '2', '-j', '2', '-T', '5', '-f', $script,
		'-h', $node->host, '-p', $node->port, 'postgres' ], '>', \$out, '2>', \$err)
  or diag($err);
my ($tx) = $out =~ /number of transactions actually processed: (\d+)/;
ok(defined $tx && $tx > 100, "pgbench ran " . ($tx // 'no') . " calls");
my ($l1, $d1, $p1) = counts($node);
is(($l1 + $d1 + $p1) - ($l0 + $d0 + $p0), $tx, 'logged + dropped + pending grew by the calls pgbench reports');
ok($node->poll_query_until('postgres', $settled),
   'the writers catch up: every logged record is a row of mlsys.predictions');
my ($l2, $d2) = counts($node);

# a logging database can be dropped, or copied, right after it logged
$node->safe_psql('postgres', 'CREATE DATABASE logdb');
$node->safe_psql('logdb', $setup =~ s/50000/2000/r);
$node->safe_psql('logdb', q{SELECT count(mlsys.predict('churn', c)) FROM cust c});
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'mlsys log writer' AND datname = 'logdb'}),
	'a writer is connected to the logging database');
my $t0 = time();
$node->safe_psql('postgres', 'CREATE DATABASE logcopy TEMPLATE logdb');
my $copy_s = time() - $t0;
$node->safe_psql('logdb', q{SELECT count(mlsys.predict('churn', c)) FROM cust c});
$t0 = time();
$node->safe_psql('postgres', 'DROP DATABASE logdb');
ok(1, sprintf('CREATE DATABASE ... TEMPLATE (%.1f s) and DROP DATABASE (%.1f s) of a logging database succeed',
		$copy_s, time() - $t0));
ok($node->poll_query_until('postgres', q{SELECT pending = 0 FROM mlsys.logging_stats}),
   'records of the dropped database are stored before the drop or discarded after it');
my ($l3, $d3, $p3) = counts($node);
cmp_ok(($l3 + $d3) - ($l2 + $d2), '==', 4000, 'and counted: logged or dropped');
$node->safe_psql('postgres', 'DROP DATABASE logcopy');

# a hot standby scores; it cannot write, so its records are dropped and counted
$node->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('logging_standby');
$standby->init_from_backup($node, 'b', has_streaming => 1);
$standby->start;
$node->wait_for_catchup($standby);
is($standby->safe_psql('postgres', q{SELECT count(mlsys.predict('churn', c)) FROM cust c WHERE id <= 100}), '100',
   'the standby scores a model that logs');
my ($sl, $sd, $sp) = counts($standby);
is("$sl/$sd/$sp", '0/100/0', 'the standby counts its 100 records as dropped');
is(worker_pids($standby, 'mlsys log launcher'), '', 'no logging worker runs on the standby');
$standby->stop;

# kill -9 of a client backend: crash recovery, then logging works again
my $victim = $node->background_psql('postgres', on_error_stop => 0);
my $vpid = $victim->query_safe('SELECT pg_backend_pid()');
$node->safe_psql('postgres', q{SELECT count(mlsys.predict('churn', c)) FROM cust c WHERE id <= 10});
kill 'KILL', $vpid;
eval { $victim->quit };
my $up;
for (1 .. 600)
{
	$up = eval { $node->safe_psql('postgres', 'SELECT 1') };
	last if defined $up && $up eq '1';
	usleep(100_000);
}
is($up, '1', 'the server recovers from the crash');
my $before = $node->safe_psql('postgres', q{SELECT count(*) FROM mlsys.predictions WHERE source = 'online'});
ok($node->poll_query_until('postgres',
		q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'mlsys log launcher'}),
	'the launcher is back after crash recovery');
$node->safe_psql('postgres', q{SELECT count(mlsys.predict('churn', c)) FROM cust c WHERE id <= 7});
ok(defined wait_rows($node, 'postgres', $before + 7, 30), 'and calls are logged again');

# a tiny ring that the writer drains rarely: calls drop and count, never block or fail
$node->append_conf('postgresql.conf', "mlsys.log_buffer_size = 64kB\nmlsys.log_flush_interval = '5s'\n");
$node->restart;
($out, $err) = ('', '');
my $ran = IPC::Run::run([ 'pgbench', '-n', '-M', 'prepared', '-c', '2', '-j', '2', '-T', '2', '-f', $script,
		'-h', $node->host, '-p', $node->port, 'postgres' ], '>', \$out, '2>', \$err);
ok($ran, 'pgbench runs against a full ring') or diag($err);
($tx) = $out =~ /number of transactions actually processed: (\d+)/;
my ($tl, $td, $tp) = counts($node);
cmp_ok($td, '>', 0, "the full ring dropped records ($td of " . ($tx // 0) . ")");
is($tl + $td + $tp, $tx, 'and logged + dropped + pending equals the calls');

# a clean shutdown with the workers running
$node->safe_psql('postgres', q{SELECT count(mlsys.predict('churn', c)) FROM cust c WHERE id <= 100});
$node->stop('fast');
ok(1, 'the server stops');
unlike(slurp_file($node->logfile), qr/mlsys log writer.*terminated by signal|PANIC/, 'no worker died by a signal');

# without shared_preload_libraries: 55000 and a hint, nothing else changes
my $plain = PostgreSQL::Test::Cluster->new('logging_plain');
$plain->init;
$plain->start;
$plain->safe_psql('postgres', $setup =~ s/50000/2000/r =~ s/SELECT mlsys\.configure[^;]*;//r);
my ($ret, $stdout, $stderr) = $plain->psql('postgres',
	q{\set VERBOSITY verbose
SELECT mlsys.configure('churn', '{"log_sample": 0.1}')});
like($stderr, qr/ERROR:  55000: online logging needs mlsys in shared_preload_libraries/, 'logging on is refused with 55000');
like($stderr, qr/HINT:  Add mlsys to shared_preload_libraries/, 'with a hint naming the setting');
is($plain->safe_psql('postgres', q{SELECT mlsys._setting('churn', 'log_sample')}), '0', 'and the setting is unchanged');
is($plain->safe_psql('postgres', q{SELECT logged || '/' || dropped || '/' || pending FROM mlsys.logging_stats}), '0/0/0',
   'logging_stats shows zeros');
is($plain->safe_psql('postgres', q{SELECT mlsys.configure('churn', '{"log_sample": 0}') ->> 'log_sample'}), '0',
   'turning it off is allowed');
$plain->stop;

done_testing();
