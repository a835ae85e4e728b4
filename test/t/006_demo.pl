# The demo of `make demo` (test/demo.sql) runs in CI: the same SQL file, with
# psql and ON_ERROR_STOP, against a node configured like the demo cluster
# (pg_cron preloaded, cron.database_name = 'postgres', background workers).
# It must exit 0 (each of its own checks raises an error when the story's
# outcome does not hold), finish in under two minutes, and leave behind the
# results the story tells: 10 recommendations, a data_drift alert on
# login_frequency delivered through NOTIFY, a concept_drift alert, a deployed
# challenger and a nightly pg_cron job. Then a few dashboard queries that
# must keep working in a long-lived session.
use strict;
use warnings;
use FindBin;
use IPC::Run;
use Time::HiRes qw(time);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib "$FindBin::Bin/..";
use MlsysNode;

my $demo = "$FindBin::Bin/../demo.sql";
ok(-f $demo, 'test/demo.sql exists');

my $node = MlsysNode::cron_node('demo');

my ($out, $err) = ('', '');
my $t0 = time();
my $ok = IPC::Run::run(
    [ $node->installed_command('psql'), '-X', '-P', 'pager=off', '-v', 'ON_ERROR_STOP=1',
      '-h', $node->host, '-p', $node->port,
      '-d', 'postgres', '-f', $demo ],
    '<', \undef, '>', \$out, '2>', \$err);
my $seconds = time() - $t0;
ok($ok, 'the demo exits with status 0') or diag("stderr:\n$err\nstdout (tail):\n" . substr($out, -3000));
is($err, '', 'the demo writes nothing to stderr');
note(sprintf('the demo SQL took %.1f s', $seconds));
cmp_ok($seconds, '<', 120, 'the demo finishes in under two minutes');

# every section and every check of the story was printed
for my $step (1 .. 9)
{
    like($out, qr/^$step\. \S/m, "section $step is printed");
}
my @checked = $out =~ /^ checked: (.*?)\s*$/mg;
is(scalar(@checked), 10, 'the ten checks of the story passed') or diag(join("\n", @checked));
like($out, qr/^Time: [0-9.]+ ms/m, 'statements are timed');
like($out, qr/^The demo SQL ran in [0-9.]+ s\.$/m, 'the total time is printed');

# the alert arrived through NOTIFY in the demo's session
my @payloads = $out =~ /Asynchronous notification "mlsys_alerts" with payload "(.*?)" received/g;
ok(scalar(grep { /"kind": "data_drift"/ && /"feature": "login_frequency"/ } @payloads),
   'a NOTIFY payload announced the data drift on login_frequency');
ok(scalar(grep { /"kind": "concept_drift"/ } @payloads), 'a NOTIFY payload announced the concept drift');

# the results the story tells
is($node->safe_psql('postgres', 'SELECT count(*) FROM mlsys.recommend(1)'), '10',
   'the recommender returns 10 items');
is($node->safe_psql('postgres', q{
    SELECT count(*) FROM mlsys.alerts
     WHERE model = 'churn' AND kind = 'data_drift' AND feature = 'login_frequency'
       AND metric = 'psi' AND value >= threshold}),
   '1', 'the check raised a data_drift alert on login_frequency');
is($node->safe_psql('postgres', q{
    SELECT count(*) FROM mlsys.alerts WHERE model = 'churn' AND kind = 'concept_drift' AND value < threshold}),
   '1', 'and a concept_drift alert (live AUC below the limit)');
is($node->safe_psql('postgres', q{
    SELECT decision || ' ' || champion_version || '->' || challenger_version || ' ' || (challenger_score > champion_score)
      FROM mlsys.retrain_decisions WHERE model = 'churn'}),
   'deployed 1->2 true', 'the retrain decision is deployed, the challenger scored better');
is($node->safe_psql('postgres', q{SELECT mlsys.live_version('churn')}), '2', 'the challenger is live');
is($node->safe_psql('postgres', q{
    SELECT string_agg(DISTINCT resolution, ',') || ' ' || count(*) FILTER (WHERE resolved_at IS NULL)
      FROM mlsys.alerts WHERE model = 'churn'}),
   'superseded by version 2 0', 'its deployment resolved version 1\'s alerts');
is($node->safe_psql('postgres', q{
    SELECT model || ' ' || action || ' ' || schedule || ' ' || active FROM mlsys.schedules()}),
   'churn retrain_if_drifted 0 3 * * * true', 'the nightly pg_cron job is scheduled');
is($node->safe_psql('postgres', q{
    SELECT command FROM cron.job WHERE jobname = 'mlsys:churn:retrain_if_drifted'}),
   q{SELECT mlsys._run_job('churn', 'retrain_if_drifted')}, 'pg_cron holds its command');
# make demo ends by writing the churn model's report (test/demo.sh)
my $report = $node->safe_psql('postgres', q{SELECT mlsys.report('churn')});
like($report, qr/^<!DOCTYPE html>.*<\/html>$/s, "the churn model's report is an HTML page");
my $charts = () = $report =~ /<svg /g;
cmp_ok($charts, '>=', 3, "it draws the churn model's life ($charts charts)");

# a dashboard session calls mlsys.performance again and again: from the sixth
# call on, plpgsql runs a generic plan, which once cast the text labels of a
# classifier to float8 (invalid input syntax for type double precision)
is($node->safe_psql('postgres', q{
    SELECT count(*) FILTER (WHERE p.metric = 'auc' AND p.value IS NOT NULL)
      FROM generate_series(1, 8) g,
           LATERAL mlsys.performance('churn', g * interval '1 day', now() - interval '1 day') p
     WHERE p.version = 1}),
   '8', 'mlsys.performance of a classifier works on every call of a session');
is($node->safe_psql('postgres', q{
    SELECT live_metric || ' ' || (live_value BETWEEN 0 AND 1) FROM mlsys.prediction_stats
     WHERE model = 'churn' AND version = 1}),
   'auc true', 'mlsys.prediction_stats shows the live AUC of a labelled binary classifier');

$node->stop;
done_testing();
