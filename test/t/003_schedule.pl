# Scheduling with real pg_cron:
#  - a retrain scheduled every minute is run by pg_cron (cron.job_run_details)
#    and produces a new version, a deployment and a recorded decision;
#  - a model name full of quotes cannot inject SQL into the job's command;
#  - a scheduled retrain that fails leaves a 'failed' run with its error;
#  - a scheduled recommend_batch refreshes a recommender's precomputed lists
#    with the arguments of its last run;
#  - unschedule removes the jobs;
#  - in a database without pg_cron, scheduling fails with a clear error.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/..";
use MlsysNode;

my $node = MlsysNode::cron_node('cron');

# a model name that would break out of a naively quoted command
my $evil = q{m'); DROP TABLE t; --};
(my $evil_lit = $evil) =~ s/'/''/g;

$node->safe_psql('postgres', qq{
    CREATE EXTENSION pg_cron;
    CREATE EXTENSION mlsys;
    CREATE TABLE t AS
      SELECT i AS id, (i % 13)::float8 AS a, (i % 7)::float8 AS b,
             1 + 2 * (i % 13) - 3 * (i % 7) + ((i * 7919) % 11) * 0.05 AS y
      FROM generate_series(1, 2000) i;
    CREATE TABLE t_broken AS SELECT * FROM t;
    SELECT version FROM mlsys.train('$evil_lit', 't', 'y', ARRAY['a', 'b']);
    SELECT version FROM mlsys.train('broken', 't_broken', 'y', ARRAY['a', 'b']);
    -- the data changes: the next retrain must win
    UPDATE t SET y = y + 3 * a;
    -- and the other model's relation loses a feature column: its retrain fails
    ALTER TABLE t_broken RENAME COLUMN b TO b_gone;
    -- a recommender whose lists were computed for two users
    CREATE TABLE clicks AS SELECT u AS user_id, (u * i) % 40 AS item_id
      FROM generate_series(1, 60) u, generate_series(1, 8) i;
    SELECT version FROM mlsys.train_recommender('rec', 'clicks', hyperparams => '{"factors": 4, "iterations": 2}',
                                                deploy => 'most_recent');
    CREATE TABLE vip AS SELECT 7 AS user_id UNION ALL SELECT 9;
    SELECT mlsys.recommend_batch('rec', 'vip', k => 5);
    DELETE FROM mlsys.recommendations;
});

my $job = $node->safe_psql('postgres', qq{SELECT mlsys.schedule('$evil_lit', '* * * * *')});
like($job, qr/^\d+$/, 'schedule returns a job id');
my $job2 = $node->safe_psql('postgres', q{SELECT mlsys.schedule('broken', '* * * * *')});
isnt($job2, $job, 'a second model gets its own job');
my $job3 = $node->safe_psql('postgres', q{SELECT mlsys.schedule('rec', '* * * * *', 'recommend_batch')});
is($node->safe_psql('postgres', qq{SELECT jobname || ' ' || command FROM cron.job WHERE jobid = $job3}),
   q{mlsys:rec:recommend_batch SELECT mlsys._run_job('rec', 'recommend_batch')}, 'a recommend_batch job');
is($node->safe_psql('postgres', qq{SELECT jobname FROM cron.job WHERE jobid = $job}),
   "mlsys:$evil:retrain", 'the job is named after the model and action');
is($node->safe_psql('postgres', qq{SELECT mlsys.schedule('$evil_lit', '* * * * *')}), $job,
   'scheduling the same action again updates the job');

# a team that does not own a model schedules it with manage (the job runs as
# the team's role); the owner then withdraws the team's right to train
$node->safe_psql('postgres', q{
    CREATE ROLE cron_team LOGIN IN ROLE mlsys_trainer;
    GRANT USAGE ON SCHEMA cron TO cron_team;
    GRANT SELECT ON t TO cron_team;
    SELECT version FROM mlsys.train('team_m', 't', 'y', ARRAY['a', 'b']);
    SELECT mlsys.grant('team_m', 'cron_team', p) FROM unnest(ARRAY['manage', 'train', 'deploy']) p;
});
my $job4 = $node->safe_psql('postgres', q{SET ROLE cron_team; SELECT mlsys.schedule('team_m', '* * * * *')});
is($node->safe_psql('postgres', qq{SELECT username FROM cron.job WHERE jobid = $job4}), 'cron_team',
   'a trainer with manage schedules, and the job is its own');
$node->safe_psql('postgres', q{SELECT mlsys.revoke('team_m', 'cron_team', 'train')});

# wait for pg_cron to run the four jobs (minute granularity)
my $done = 0;
for (my $i = 0; $i < 110; $i++)
{
    $done = $node->safe_psql('postgres', qq{
        SELECT count(DISTINCT jobid) = 4 FROM cron.job_run_details
         WHERE jobid IN ($job, $job2, $job3, $job4) AND status IN ('succeeded', 'failed')}) eq 't'
      && $node->safe_psql('postgres', q{
        SELECT count(*) = 3 FROM mlsys.training_runs WHERE kind = 'scheduled' AND status <> 'running'}) eq 't';
    last if $done;
    sleep(1);
}
ok($done, 'pg_cron ran the four scheduled jobs');
# the revoked privilege holds when the job runs: 42501, recorded, nothing deployed
like($node->safe_psql('postgres', q{
    SELECT status || ' by ' || run_by || ': ' || error || ' (' || sqlstate || ')' FROM mlsys.training_runs
     WHERE model = 'team_m' AND kind = 'scheduled' ORDER BY id LIMIT 1}),
   qr/^failed by cron_team: permission denied for model "team_m" \(42501\)$/,
   'the scheduled run of a role whose train privilege was revoked fails with 42501 and is recorded');
is($node->safe_psql('postgres', q{SELECT last_version FROM mlsys.models WHERE model = 'team_m'}), '1',
   'and registers no version');
$node->safe_psql('postgres', q{SET ROLE cron_team; SELECT mlsys.unschedule('team_m')});
is($node->safe_psql('postgres', qq{SELECT status FROM cron.job_run_details WHERE jobid = $job3 ORDER BY runid LIMIT 1}),
   'succeeded', 'the recommend_batch job succeeded');
is($node->safe_psql('postgres', q{SELECT string_agg(user_id || ':' || k, ',' ORDER BY user_id) FROM mlsys.recommendations WHERE model = 'rec'}),
   '7:5,9:5', 'it recomputed the lists of the remembered users with the remembered k');

is($node->safe_psql('postgres', qq{SELECT status FROM cron.job_run_details WHERE jobid = $job ORDER BY runid LIMIT 1}),
   'succeeded', 'the retrain job succeeded in pg_cron');
is($node->safe_psql('postgres', q{SELECT to_regclass('t') IS NOT NULL}), 't', 'the model name injected nothing');
is($node->safe_psql('postgres', qq{
    SELECT status || ' ' || version FROM mlsys.training_runs WHERE model = '$evil_lit' AND kind = 'scheduled' ORDER BY id LIMIT 1}),
   'succeeded 2', 'the scheduled run is logged with the version it produced');
is($node->safe_psql('postgres', qq{
    SELECT decision || ' ' || challenger_version FROM mlsys.retrain_decisions WHERE model = '$evil_lit' ORDER BY id LIMIT 1}),
   'deployed 2', 'the better challenger was deployed and the decision recorded');
is($node->safe_psql('postgres', qq{SELECT mlsys.live_version('$evil_lit')}), '2', 'version 2 is live');
is($node->safe_psql('postgres', qq{
    SELECT reason FROM mlsys.deployments WHERE model = '$evil_lit' ORDER BY id DESC LIMIT 1}),
   'retrain', 'deployed with reason retrain');

# the failed retrain is visible afterwards, with its error
like($node->safe_psql('postgres', q{
    SELECT status || ': ' || error || ' (' || sqlstate || ')' FROM mlsys.training_runs
     WHERE model = 'broken' AND kind = 'scheduled' ORDER BY id LIMIT 1}),
   qr/^failed: column "b" of relation "t_broken" does not exist \(42703\)$/,
   'a failing scheduled retrain leaves a failed run with its error');
is($node->safe_psql('postgres', q{SELECT mlsys.live_version('broken')}), '1', 'and deploys nothing');
like($node->safe_psql('postgres', q{
    SELECT action || ' ' || last_status || ' ' || last_training_status FROM mlsys.schedules() WHERE model = 'broken'}),
   qr/^retrain succeeded failed$/, 'mlsys.schedules shows the job run and the failed training');
is($node->safe_psql('postgres', q{SELECT count(*) FROM mlsys.schedules()}), '3', 'mlsys.schedules lists the three jobs');

# unschedule
is($node->safe_psql('postgres', qq{SELECT mlsys.unschedule('$evil_lit')}), '1', 'unschedule removes the job');
is($node->safe_psql('postgres', q{SELECT mlsys.unschedule('broken', 'retrain')}), '1', 'unschedule by action');
is($node->safe_psql('postgres', q{SELECT mlsys.unschedule('rec', 'recommend_batch')}), '1', 'unschedule recommend_batch');
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job}), '0', 'no jobs are left');

# a database without pg_cron
$node->safe_psql('postgres', q{CREATE DATABASE other});
$node->safe_psql('other', q{
    CREATE EXTENSION mlsys;
    CREATE TABLE t AS SELECT i::float8 AS a, 2 * i::float8 AS y FROM generate_series(1, 100) i;
    SELECT version FROM mlsys.train('m', 't', 'y');
});
# outside pg_cron's database each scheduling function raises 55000, whose
# hint is the statement to run in pg_cron's database instead
sub hinted
{
	my ($call, $what) = @_;
	my ($ret, $out, $err) = $node->psql('other', "\\set VERBOSITY verbose\n$call");
	isnt($ret, 0, "$what fails outside pg_cron's database");
	like($err, qr/ERROR:  55000: pg_cron keeps its jobs in database "postgres", not in "other"/,
		 "$what: SQLSTATE 55000 and a clear error");
	my ($there) = $err =~ /HINT:  Run this in database "postgres": (.*)$/m;
	ok(defined $there, "$what: the hint gives the statement to run");
	return $there;
}
my $there = hinted(q{SELECT mlsys.schedule('m', '0 3 * * *')}, 'schedule');
like($there, qr/^SELECT cron\.schedule_in_database\('mlsys:m:retrain', '0 3 \* \* \*', 'SELECT mlsys\._run_job\(''m'', ''retrain''\)', 'other'\);$/,
	 'the hint schedules the job in database other');
$node->safe_psql('postgres', $there);
is($node->safe_psql('postgres', q{SELECT database || ' ' || command FROM cron.job WHERE jobname = 'mlsys:m:retrain'}),
   q{other SELECT mlsys._run_job('m', 'retrain')}, 'running the hint registers the job for database other');
$there = hinted(q{SELECT * FROM mlsys.schedules()}, 'schedules');
is($node->safe_psql('postgres', $there =~ s/;$//r . ' LIMIT 1') =~ s/\|.*//sr, $node->safe_psql('postgres',
   q{SELECT jobid FROM cron.job WHERE jobname = 'mlsys:m:retrain'}), 'the hint of schedules lists the job');
$there = hinted(q{SELECT mlsys.unschedule('m')}, 'unschedule');
$node->safe_psql('postgres', $there);
is($node->safe_psql('postgres', q{SELECT count(*) FROM cron.job}), '0', 'the hint of unschedule removes the job');

is($node->safe_psql('other', q{SELECT version FROM mlsys.retrain('m')}), '2', 'retrain works without pg_cron');

$node->stop;
done_testing();
