# Model cache across connections and on a hot standby:
#  - a backend that has a model cached picks up a deployment made by another
#    connection on its next call (relcache invalidation, no polling);
#  - a streaming-replication standby scores read-only with the same answers
#    and picks up a deployment once it has replayed it;
#  - a backend that trained and scored still runs a single thread (serial
#    OpenBLAS).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', q{
    CREATE EXTENSION mlsys;
    CREATE TABLE t AS
      SELECT i AS id, (i % 13)::float8 AS a, (i % 7)::float8 AS b,
             1 + 2 * (i % 13) - 3 * (i % 7) + (i % 5) * 0.01 AS y
      FROM generate_series(1, 5000) i;
    CREATE TABLE t2 AS SELECT id, a, b, y * 10 AS y FROM t;
    CREATE TABLE t3 AS SELECT id, a, b, y + 5 AS y FROM t;
    SELECT * FROM mlsys.train('m', 't', 'y', ARRAY['a', 'b']);
    SELECT * FROM mlsys.train('m', 't2', 'y', ARRAY['a', 'b'], deploy => 'never');
});

my $q = q{SELECT round(mlsys.predict('m', '{"a": 2, "b": 1}'::jsonb)::numeric, 6)};
my $v1 = $primary->safe_psql('postgres', $q);
my $v2 = $primary->safe_psql('postgres',
    q{SELECT round(mlsys.predict('m', 2, '{"a": 2, "b": 1}'::jsonb)::numeric, 6)});
isnt($v1, $v2, 'the two versions predict differently');

# one thread per backend, even after training and BLAS calls
my $threads = $primary->safe_psql('postgres', q{
    SELECT mlsys.linreg_agg(y, ARRAY[a, b]) IS NOT NULL FROM t;
    SELECT count(*) FROM pg_ls_dir('/proc/' || pg_backend_pid() || '/task');
});
is((split /\n/, $threads)[-1], '1', 'backend has one thread after training');

# a long-lived connection with the model cached
my $session = $primary->background_psql('postgres', on_error_stop => 0);
is($session->query_safe($q), $v1, 'cached session scores with version 1');
$primary->safe_psql('postgres', q{SELECT mlsys.deploy('m', 2)});
is($session->query_safe($q), $v2, 'cached session picks up the deployment on its next call');
$primary->safe_psql('postgres', q{SELECT mlsys.rollback('m')});
is($session->query_safe($q), $v1, 'and the rollback');

# a statement keeps its version while another session deploys mid-statement
my $live_before = $primary->safe_psql('postgres', $q);
my $long = $primary->background_psql('postgres');
$long->query_until(qr/started/, q{
    \echo started
    CREATE TABLE seen AS
      SELECT round(mlsys.predict('m', '{"a": 2, "b": 1}'::jsonb)::numeric, 6) AS p, pg_sleep(0.1)::text AS slept
      FROM generate_series(1, 20);
});
sleep(1);
$primary->safe_psql('postgres', q{SELECT mlsys.deploy('m', 2)});
$long->query_safe(q{SELECT 1});
is($primary->safe_psql('postgres', q{SELECT count(DISTINCT p) || ' ' || min(p) FROM seen}),
   "1 $live_before", 'a statement in flight keeps the version it started with');
is($long->query_safe($q), $v2, 'its next statement uses the new deployment');

# the cache reads the registry as committed now, even inside a repeatable-read transaction
$long->query_safe(q{BEGIN ISOLATION LEVEL REPEATABLE READ});
$long->query_safe(q{SELECT count(*) FROM t});
$primary->safe_psql('postgres', q{SELECT mlsys.rollback('m')});
my $after_rollback = $primary->safe_psql('postgres', $q);
is($long->query_safe($q), $after_rollback, 'a deployment committed during a repeatable-read transaction is served');
$long->query_safe(q{COMMIT});
is($long->query_safe($q), $after_rollback, 'and still after it');
$long->quit;

# a tampered version is not served from the cache
$primary->safe_psql('postgres',
    q{UPDATE mlsys.model_versions SET params = set_byte(params, 40, get_byte(params, 40) # 255) WHERE model = 'm' AND version = 1});
my ($ret, $out, $err) = $primary->psql('postgres', $q);
isnt($ret, 0, 'tampered blob raises an error in a new session');
like($err, qr/model parameters are corrupted/, 'with a clear message');
$session->query($q);
like($session->{stderr}, qr/model parameters are corrupted/, 'the cached session does not serve the tampered version either');
$session->{stderr} = '';
$primary->safe_psql('postgres', q{SELECT mlsys.deploy('m', 2)});
is($session->query_safe($q), $v2, 'after deploying a sound version the session scores again');

# hot standby
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby, 'replay');
is($standby->safe_psql('postgres', $q), $v2, 'standby serves the live version');
is($standby->safe_psql('postgres', q{SELECT pg_is_in_recovery()}), 't', 'standby is read-only');
is($standby->safe_psql('postgres',
    q{SELECT round(sum(mlsys.predict('m', t))::numeric, 3) FROM t}),
   $primary->safe_psql('postgres',
    q{SELECT round(sum(mlsys.predict('m', t))::numeric, 3) FROM t}),
   'standby scores rows like the primary');

my $standby_session = $standby->background_psql('postgres');
is($standby_session->query_safe($q), $v2, 'standby session caches version 2');
$primary->safe_psql('postgres', q{
    SELECT * FROM mlsys.train('m', 't3', 'y', ARRAY['a', 'b'], deploy => 'most_recent')});
my $v3 = $primary->safe_psql('postgres', $q);
isnt($v3, $v2, 'version 3 predicts differently');
$primary->wait_for_catchup($standby, 'replay');
is($standby_session->query_safe($q), $v3, 'standby session picks up the deployment after replay');

# a private model on the standby: the same refusal, the same hidden rows
$primary->safe_psql('postgres', q{
    CREATE ROLE sb_reader LOGIN IN ROLE mlsys_reader;
    CREATE ROLE sb_scorer LOGIN IN ROLE mlsys_reader;
    SELECT mlsys.configure('m', '{"private": true}');
    SELECT mlsys.grant('m', 'sb_scorer', 'score')});
$primary->wait_for_catchup($standby, 'replay');
is($standby_session->query_safe($q), $v3, 'the superuser session still scores the private model on the standby');
my ($sb_ret, $sb_out, $sb_err) = $standby->psql('postgres', "SET ROLE sb_reader; $q",
                                                extra_params => [ '-v', 'VERBOSITY=verbose' ]);
like($sb_err, qr/42501.*permission denied for model "m"/s, 'the standby refuses a reader without the privilege');
is($standby->safe_psql('postgres', q{SET ROLE sb_reader; SELECT count(*) FROM mlsys.model_versions WHERE model = 'm'}),
   '0', 'and hides its versions from that reader');
is($standby->safe_psql('postgres', "SET ROLE sb_scorer; $q"), $v3, 'a role granted score scores it on the standby');
# one standby session, two roles after the model is cached
my $roles_session = $standby->background_psql('postgres', on_error_stop => 0);
$roles_session->query_safe('SET ROLE sb_scorer');
is($roles_session->query_safe($q), $v3, 'a standby session scores as the granted role');
$roles_session->query_safe('SET ROLE sb_reader');
my ($res, $failed) = $roles_session->query($q);
ok($failed && $res eq '' && $roles_session->{stderr} =~ /permission denied for model "m"/,
   'and not after SET ROLE to another role');
$roles_session->{stderr} = '';    # query() leaves the error for the next query to see
$roles_session->query_safe('SET ROLE sb_scorer');
is($roles_session->query_safe($q), $v3, 'and again after SET ROLE back');
$roles_session->quit;

$session->quit;
$standby_session->quit;
$standby->stop;
$primary->stop;
done_testing();
