# Registry durability and concurrency:
#  - pg_dump / pg_restore keeps models, versions, deployments, predictions,
#    drift baselines, alerts, drift history, training runs and retrain
#    decisions; the restored database scores identically and continues the
#    numbering; the extension can be dropped and created again;
#  - two connections training the same model at once get distinct versions;
#  - pg_cancel_backend stops a training and leaves nothing behind.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
    CREATE DATABASE src;
});
$node->safe_psql('src', q{
    CREATE EXTENSION mlsys;
    CREATE TABLE t AS
      SELECT i AS id, (i % 13)::float8 AS a, (i % 7)::float8 AS b,
             1 + 2 * (i % 13) - 3 * (i % 7) + (i % 5) * 0.01 AS y
      FROM generate_series(1, 5000) i;
    SELECT * FROM mlsys.train('m', 't', 'y', ARRAY['a', 'b']);
    SELECT * FROM mlsys.train('m', 't', 'y', ARRAY['a'], deploy => 'most_recent');
    SELECT mlsys.rollback('m');
    SELECT mlsys.predict_batch('m', 't', 'id');
    -- a monitoring check on shifted data (alerts and history) and a retrain decision
    CREATE TABLE t_shifted AS SELECT id, a + 5 AS a, b, y FROM t;
    SELECT mlsys.configure('m', '{"relation": "t_shifted"}');
    SELECT count(*) FROM mlsys.check('m');
    SELECT decision FROM mlsys.retrain('m');
    -- an owner and a grant (roles are the cluster's: the restore finds them)
    CREATE ROLE dump_team NOLOGIN;
    CREATE ROLE dump_other NOLOGIN;
    SELECT mlsys.set_owner('m', 'dump_team');
    SELECT mlsys.grant('m', 'dump_other', 'deploy');
    -- private, with a score grant: a reader without it is refused
    CREATE ROLE dump_scorer NOLOGIN;
    CREATE ROLE dump_reader NOLOGIN IN ROLE mlsys_reader;
    GRANT SELECT ON t TO dump_reader;
    SELECT mlsys.configure('m', '{"private": true}');
    SELECT mlsys.grant('m', 'dump_scorer', 'score');
});

my $score = q{SELECT round(sum(mlsys.predict('m', t))::numeric, 6) FROM t};
my $counts = q{SELECT (SELECT count(*) FROM mlsys.models) || '/' || (SELECT count(*) FROM mlsys.model_versions)
                   || '/' || (SELECT count(*) FROM mlsys.deployments) || '/' || (SELECT count(*) FROM mlsys.predictions)
                   || '/' || (SELECT count(*) FROM mlsys.prediction_runs)
                   || '/' || (SELECT count(*) FROM mlsys.baselines) || '/' || (SELECT count(*) FROM mlsys.alerts)
                   || '/' || (SELECT count(*) FROM mlsys.drift_history) || '/' || (SELECT count(*) FROM mlsys.training_runs)
                   || '/' || (SELECT count(*) FROM mlsys.retrain_decisions)};
my $src_score = $node->safe_psql('src', $score);
my $src_counts = $node->safe_psql('src', $counts);
like($src_counts, qr{^1/3/3/5000/1/3/[1-9]\d*/[1-9]\d*/3/1$},
     'source registry as expected (versions, baselines, alerts, history, runs, a retrain decision)');

# dump and restore into a new database
my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('dst'), $dump ], 'pg_restore');
is($node->safe_psql('dst', $counts), $src_counts, 'restored registry has every row');
is($node->safe_psql('dst', $score), $src_score, 'restored database scores identically');
is($node->safe_psql('dst', q{SELECT mlsys.live_version('m')}), '1', 'live version survives');
my $owners = q{SELECT m.owner || ' ' || (m.settings ->> 'private') || ' '
                      || coalesce((SELECT string_agg(p.role || ':' || p.privilege || ':' || p.granted_by, ',' ORDER BY p.role::text, p.privilege)
                                   FROM mlsys.model_privileges p WHERE p.model = m.model), '-')
               FROM mlsys.models m WHERE m.model = 'm'};
is($node->safe_psql('dst', $owners), $node->safe_psql('src', $owners), 'the owner, the private flag and the grants survive');
like($node->safe_psql('dst', $owners), qr/^dump_team true dump_other:deploy:[^,]+,dump_scorer:score:/, 'as they were set');
my ($ret, $out, $err) = $node->psql('dst', q{SET ROLE dump_reader; SELECT mlsys.predict('m', t) FROM t LIMIT 1},
                                    extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/42501.*permission denied for model "m"/s, 'the restored private model refuses a reader without the privilege');
is($node->safe_psql('dst', q{SET ROLE dump_reader; SELECT count(*) FROM mlsys.model_versions}), '0',
   'and hides its versions from that reader');
is($node->safe_psql('dst', q{GRANT dump_scorer TO dump_reader; SET ROLE dump_reader;
                             SELECT round(sum(mlsys.predict('m', t))::numeric, 6) FROM t}),
   $src_score, 'a member of the granted role scores it');
is($node->safe_psql('dst', q{SELECT version FROM mlsys.train('m', 't', 'y', ARRAY['b'], deploy => 'never')}),
   '4', 'version numbering continues after restore');
is($node->safe_psql('dst', q{SELECT mlsys.predict_batch('m', 't', 'id') > 0;
                             SELECT max(run_id) FROM mlsys.prediction_runs}),
   "t\n2", 'run numbering continues after restore');
is($node->safe_psql('dst', q{SELECT mlsys.deploy('m', 4); SELECT mlsys.rollback('m')}), "\n1",
   'the deployment stack survives');
is($node->safe_psql('dst', q{SELECT count(*) > 0 FROM mlsys.drift('m', 't_shifted')}), 't',
   'the restored baselines serve the drift report');

# the extension can be dropped (its registry goes with it) and created again
$node->safe_psql('dst', q{DROP EXTENSION mlsys CASCADE});
is($node->safe_psql('dst', q{SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                             WHERE n.nspname = 'mlsys'}), '0', 'dropped with every registry table');
$node->safe_psql('dst', q{CREATE EXTENSION mlsys});
is($node->safe_psql('dst', q{SELECT version FROM mlsys.train('m', 't', 'y', ARRAY['a', 'b']);
                             SELECT round(sum(mlsys.predict('m', t))::numeric, 6) FROM t}),
   "1\n$src_score", 'and created again: training starts at version 1 and scores as before');

# concurrent trainings of one model get distinct version numbers
my $s1 = $node->background_psql('src');
my $s2 = $node->background_psql('src');
$s1->query_safe(q{BEGIN});
$s1->query_safe(q{SELECT version FROM mlsys.train('m', 't', 'y', ARRAY['a', 'b'], deploy => 'never')});
# s2 blocks on the model row until s1 commits
$s2->query_until(qr/started/, q{
    \echo started
    SELECT version FROM mlsys.train('m', 't', 'y', ARRAY['a', 'b'], deploy => 'never');
});
$s1->query_safe(q{COMMIT});
$s2->quit;
$s1->quit;
is($node->safe_psql('src', q{SELECT string_agg(version::text, ',' ORDER BY version) FROM mlsys.model_versions WHERE model = 'm'}),
   '1,2,3,4,5', 'concurrent trainings got distinct versions, none lost');

# pg_cancel_backend stops a training and leaves nothing behind
$node->safe_psql('src', q{CREATE TABLE big AS SELECT i::float8 AS x, 2.0 * i AS y FROM generate_series(1, 3000000) i});
my $s3 = $node->background_psql('src', on_error_stop => 0);
my $pid = $s3->query_safe(q{SELECT pg_backend_pid()});
$s3->query_until(qr/started/, q{
    \echo started
    SELECT * FROM mlsys.train('cancelled', 'big', 'y');
});
$node->poll_query_until('src', qq{SELECT pg_cancel_backend($pid) AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $pid AND state = 'idle')})
  or die 'could not cancel';
$s3->quit;
like($s3->{stderr}, qr/canceling statement due to user request/, 'training was cancelled');
is($node->safe_psql('src', q{SELECT count(*) FROM mlsys.models WHERE model = 'cancelled'}), '0', 'nothing left behind');

$node->stop;
done_testing();
