# The registry's copy for Citus workers (mlsys_replica), without Citus: one
# database plays the coordinator, another a worker whose registry is empty
# and whose mlsys_replica rows are copied from the coordinator's (what
# Citus does for reference tables, in the writing transaction). Checks:
#  - the triggers keep the copy: training, deploying, rolling back, a
#    failed (rolled back) deployment, pruning, dropping, settings;
#  - a worker scores the live version and a named one from the copy, with
#    the coordinator's answers;
#  - a worker session that cached the model uses a new deployment at its
#    next statement (the copy's row is compared once per statement);
#  - a private model's parameters are not copied, and a worker refuses to
#    score it with 0A000;
#  - citus_setup is the extension owner's.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib "$FindBin::Bin/..";
use MlsysNode;

my $node = MlsysNode::cron_node('replica');
$node->safe_psql('postgres', q{CREATE DATABASE coord});
$node->safe_psql('postgres', q{CREATE DATABASE worker});
my $rows = q{CREATE TABLE t AS SELECT i AS id, (i % 7)::float8 AS x, (i % 3)::float8 AS z,
                    2 * (i % 7) + (i % 3) + 1.0 + (i % 5) * 0.01 AS y FROM generate_series(1, 2000) i};
$node->safe_psql('coord', qq{CREATE EXTENSION mlsys CASCADE; $rows;
    SELECT version FROM mlsys.train('m', 't', 'y', ARRAY['x', 'z'], 'linear', deploy => 'most_recent')});
$node->safe_psql('worker', qq{CREATE EXTENSION mlsys CASCADE; $rows});

like($node->safe_psql('coord', q{SELECT mlsys.citus_setup()}),
     qr/^1 models and 1 versions copied to mlsys_replica \(no Citus: plain tables\)$/, 'citus_setup copies the registry');
$node->safe_psql('worker', q{SELECT mlsys.citus_setup()});
$node->safe_psql('postgres', q{CREATE ROLE replica_admin LOGIN IN ROLE mlsys_admin});
my ($ret, $out, $err) = $node->psql('coord', q{SET ROLE replica_admin; SELECT mlsys.citus_setup()});
like($err, qr/permission denied to set up mlsys for Citus/, 'citus_setup is for the extension owner, not any admin');

# Citus would apply the coordinator's writes to the worker's placements: copy them
sub sync
{
	my $inserts = $node->safe_psql('coord', q{
        SELECT string_agg(format('INSERT INTO mlsys_replica.%I SELECT * FROM json_populate_record(NULL::mlsys_replica.%I, %L);',
                                 tbl, tbl, js), E'\n')
          FROM (SELECT 'models' AS tbl, row_to_json(r)::text AS js FROM mlsys_replica.models r
                UNION ALL SELECT 'model_versions', row_to_json(r)::text FROM mlsys_replica.model_versions r
                UNION ALL SELECT 'live', row_to_json(r)::text FROM mlsys_replica.live r) s});
	$node->safe_psql('worker', 'BEGIN; DELETE FROM mlsys_replica.live; DELETE FROM mlsys_replica.model_versions;
                                DELETE FROM mlsys_replica.models; ' . ($inserts // '') . ' COMMIT;');
}

my $q = q{SELECT round(sum(mlsys.predict('m', t))::numeric, 6) FROM t};
my $q1 = q{SELECT round(sum(mlsys.predict('m', 1, t))::numeric, 6) FROM t};
sync();
my $v1 = $node->safe_psql('coord', $q);
is($node->safe_psql('worker', $q), $v1, 'the worker scores the live version from the copy');

# a second version, deployed; a session on the worker that cached version 1
my $session = $node->background_psql('worker', on_error_stop => 0);
is($session->query_safe($q), $v1, 'a worker session caches version 1');
$node->safe_psql('coord', q{SELECT version FROM mlsys.train('m', 't', 'y', ARRAY['x'], 'linear', deploy => 'most_recent')});
is($node->safe_psql('coord', q{SELECT version || '/' || deployment_id FROM mlsys_replica.live}), '2/2',
   'the copy follows the deployment in the training transaction');
sync();
my $v2 = $node->safe_psql('coord', $q);
isnt($v2, $v1, 'version 2 scores differently');
is($session->query_safe($q), $v2, 'the worker session uses version 2 at its next statement');
is($session->query_safe($q1), $v1, 'and version 1 when named');

# a rollback, and a deployment that fails: the copy follows the first only
$node->safe_psql('coord', q{SELECT mlsys.rollback('m')});
my ($r2, $o2, $e2) = $node->psql('coord', q{BEGIN; SELECT mlsys.deploy('m', 2); SELECT 1/0; COMMIT;});
is($node->safe_psql('coord', q{SELECT version FROM mlsys_replica.live}), '1', 'a rolled back deployment leaves the copy alone');
sync();
is($session->query_safe($q), $v1, 'the worker session follows the rollback');

# pruning and settings
$node->safe_psql('coord', q{SELECT version FROM mlsys.train('m', 't', 'y', ARRAY['z'], 'linear', deploy => 'never')});
$node->safe_psql('coord', q{SELECT mlsys.prune_versions('m', 0)});
is($node->safe_psql('coord', q{SELECT string_agg(version::text, ',' ORDER BY version) FROM mlsys_replica.model_versions}),
   $node->safe_psql('coord', q{SELECT string_agg(version::text, ',' ORDER BY version) FROM mlsys.model_versions}),
   'pruned versions leave the copy too');
$node->safe_psql('coord', q{SELECT mlsys.configure('m', '{"tolerance": 0.3}')});
is($node->safe_psql('coord', q{SELECT settings ->> 'tolerance' FROM mlsys_replica.models}), '0.3', 'settings reach the copy');

# a private model: its row only; the worker refuses it, and so does the session
$node->safe_psql('coord', q{SELECT mlsys.configure('m', '{"private": true}')});
is($node->safe_psql('coord', q{SELECT (SELECT count(*) FROM mlsys_replica.model_versions) || '/' ||
                                      (SELECT count(*) FROM mlsys_replica.live) || '/' ||
                                      (SELECT count(*) FROM mlsys_replica.models)}),
   '0/0/1', 'a private model keeps its parameters out of the copy');
sync();
($ret, $out, $err) = $node->psql('worker', $q, extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($err, qr/0A000.*private model "m" cannot be scored on a Citus worker/s, 'the worker refuses a private model');
my ($res, $failed) = $session->query($q);
ok($failed && $session->{stderr} =~ /cannot be scored on a Citus worker/, 'and so does the session that had it cached');
$session->{stderr} = '';
$node->safe_psql('coord', q{SELECT mlsys.configure('m', '{"private": false}')});
sync();
is($session->query_safe($q), $v1, 'made public again, it is copied and scored again');

# dropping the model empties the copy
$node->safe_psql('coord', q{SELECT mlsys.drop_model('m')});
is($node->safe_psql('coord', q{SELECT (SELECT count(*) FROM mlsys_replica.model_versions) + (SELECT count(*) FROM mlsys_replica.live)
                                      + (SELECT count(*) FROM mlsys_replica.models)}), '0', 'drop_model empties the copy');
sync();
($res, $failed) = $session->query($q);
ok($failed && $session->{stderr} =~ /model "m" does not exist/, 'and the worker session no longer finds it');

$session->quit;
$node->stop;
done_testing();
