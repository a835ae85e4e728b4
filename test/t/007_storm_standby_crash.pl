# Hardening under concurrency and failures (issue 7):
#  - a hot standby serves predict, predict_proba, recommend, similar_items and
#    drift read-only with the primary's answers, and follows deployments;
#  - a deployment storm: pgbench clients score (predict and recommend) while
#    another connection retrains and redeploys in a loop; every answer must
#    come from one complete version (any other answer fails the transaction);
#  - statement_timeout and pg_cancel_backend stop training quickly and leave
#    nothing behind;
#  - kill -9 of a backend running batch scoring or training, and an immediate
#    shutdown during each: after crash recovery the registry and the
#    predictions are consistent (whole runs or nothing).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $primary = PostgreSQL::Test::Cluster->new('storm_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "max_connections = 40\nrestart_after_crash = on\n");
$primary->start;
$primary->safe_psql('postgres', q{
    CREATE EXTENSION mlsys;
    -- a linear model whose two data sets give clearly different answers
    CREATE TABLE ta AS SELECT i AS id, (i % 17)::float8 AS a, 2 * (i % 17) + 1.0 AS y FROM generate_series(1, 2000) i;
    CREATE TABLE tb AS SELECT id, a, 5 * a - 3.0 AS y FROM ta;
    SELECT version FROM mlsys.train('storm', 'ta', 'y', ARRAY['a'], deploy => 'most_recent');
    -- a classifier with a categorical feature
    CREATE TABLE cust AS
      SELECT i AS id, (i % 23)::float8 AS logins,
             CASE i % 3 WHEN 0 THEN 'monthly' WHEN 1 THEN 'yearly' ELSE 'two-year' END AS contract,
             (hashint4(i) % 100 + 100) % 100 < CASE i % 3 WHEN 0 THEN 60 ELSE 15 END + (i % 23) AS churned
      FROM generate_series(1, 3000) i;
    SELECT version FROM mlsys.train('churn', 'cust', 'churned', ARRAY['logins', 'contract']);
    -- two recommenders' worth of ratings with planted tastes
    CREATE TABLE ratings AS
      SELECT u AS user_id, i AS item_id,
             least(5, greatest(1, round(3 + 1.5 * sin(u * 0.7) * cos(i * 0.9) + ((u * 31 + i * 17) % 7 - 3) * 0.1)))::float8 AS rating
      FROM generate_series(1, 120) u, generate_series(1, 80) i WHERE (u * 7 + i * 3) % 4 <> 0;
    CREATE TABLE ratings2 AS SELECT user_id, item_id, 6 - rating AS rating FROM ratings;
    SELECT version FROM mlsys.train_recommender('rec', 'ratings', rating_column => 'rating',
                                                hyperparams => '{"factors": 8, "iterations": 8}');
    SELECT version FROM mlsys.train_recommender('rec', 'ratings2', rating_column => 'rating',
                                                hyperparams => '{"factors": 8, "iterations": 8}', deploy => 'never');
});

# ---------------------------------------------------------------------------
# hot standby: the same answers, read-only, and deployments follow
# ---------------------------------------------------------------------------
$primary->backup('b');
my $standby = PostgreSQL::Test::Cluster->new('storm_standby');
$standby->init_from_backup($primary, 'b', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);

my %queries = (
    predict       => q{SELECT mlsys.predict('storm', '{"a": 3}'::jsonb)},
    predict_proba => q{SELECT mlsys.predict_proba('churn', '{"logins": 7, "contract": "monthly"}'::jsonb)},
    predict_label => q{SELECT mlsys.predict_label('churn', c) FROM cust c WHERE id = 5},
    recommend     => q{SELECT string_agg(item_id || ':' || round(score::numeric, 9), ',') FROM mlsys.recommend(7, 5, 'rec')},
    similar_items => q{SELECT string_agg(item_id::text, ',') FROM mlsys.similar_items(3, 5, 'rec')},
    drift         => q{SELECT string_agg(feature || ':' || round(psi::numeric, 9) || ':' || drifted, ',' ORDER BY feature)
                       FROM mlsys.drift('churn', 'cust')},
);
for my $name (sort keys %queries)
{
    my $p = $primary->safe_psql('postgres', $queries{$name});
    my $s = $standby->safe_psql('postgres', $queries{$name});
    ok($p ne '', "$name answers on the primary");
    is($s, $p, "the standby's $name equals the primary's");
}
is($standby->safe_psql('postgres', q{SELECT pg_is_in_recovery()}), 't', 'the standby is read-only');
my ($ret) = $standby->psql('postgres', q{SELECT * FROM mlsys.train('x', 'ta', 'y')});
isnt($ret, 0, 'training on the standby fails (read-only)');

# the standby follows a deployment once it has replayed it
my $rec_v1 = $standby->safe_psql('postgres', $queries{recommend});
$primary->safe_psql('postgres', q{SELECT mlsys.deploy('rec', 2)});
$primary->wait_for_catchup($standby);
my $rec_v2 = $primary->safe_psql('postgres', $queries{recommend});
isnt($rec_v2, $rec_v1, 'the second recommender version answers differently');
is($standby->safe_psql('postgres', $queries{recommend}), $rec_v2, 'the standby follows the recommender deployment');
$primary->safe_psql('postgres', q{SELECT mlsys.rollback('rec')});
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $queries{recommend}), $rec_v1, 'and the rollback');
$standby->stop;

# ---------------------------------------------------------------------------
# deployment storm
# ---------------------------------------------------------------------------
my $fa = $primary->safe_psql('postgres', q{SELECT mlsys.predict('storm', '{"a": 3}'::jsonb)});
$primary->safe_psql('postgres', q{SELECT version FROM mlsys.train('storm', 'tb', 'y', ARRAY['a'], deploy => 'most_recent')});
my $fb = $primary->safe_psql('postgres', q{SELECT mlsys.predict('storm', '{"a": 3}'::jsonb)});
isnt($fa, $fb, 'the two storm versions predict differently');

# each client transaction checks that its answer is one of the two complete versions'
my $script = $primary->basedir . '/storm.sql';
open(my $fh, '>', $script) or die;
print $fh <<"SQL";
SELECT CASE WHEN p IN ($fa, $fb) THEN 1 ELSE ('mixed answer ' || p)::int END FROM (SELECT mlsys.predict('storm', '{"a": 3}'::jsonb) AS p) s;
SELECT CASE WHEN r IN ('$rec_v1', '$rec_v2') THEN 1 ELSE ('mixed answer ' || r)::int END
  FROM (SELECT string_agg(item_id || ':' || round(score::numeric, 9), ',') AS r FROM mlsys.recommend(7, 5, 'rec')) s;
SQL
close $fh;

# the storm: retrain (new versions) and redeploy in a loop while pgbench scores
my $storm = $primary->background_psql('postgres');
$storm->query_until(qr/storming/, q{
    \echo storming
    DO $$
    BEGIN
        FOR i IN 1..200 LOOP
            PERFORM mlsys.train('storm', CASE WHEN i % 2 = 0 THEN 'ta' ELSE 'tb' END, 'y', ARRAY['a'],
                                deploy => 'most_recent');
            PERFORM mlsys.deploy('rec', 1 + i % 2);
            COMMIT;
        END LOOP;
    END $$;
});
my ($stdout, $stderr) = ('', '');
my $t0 = time();
my $ok = IPC::Run::run(
    [ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '6', '-f', $script,
      '-h', $primary->host, '-p', $primary->port, 'postgres' ],
    '>', \$stdout, '2>', \$stderr);
$storm->query_safe(q{SELECT 1});
$storm->quit;
ok($ok, 'pgbench: every scoring transaction got a complete version\'s answer') or diag($stdout . $stderr);
my ($tx) = $stdout =~ /number of transactions actually processed: (\d+)/;
ok(defined $tx && $tx > 100, "pgbench ran transactions during the storm (" . ($tx // 'none') . ")");
unlike($stdout . $stderr, qr/aborted|mixed answer/, 'no client aborted');
cmp_ok($primary->safe_psql('postgres', q{SELECT last_version FROM mlsys.models WHERE model = 'storm'}), '>=', 200,
       'the storm trained 200 versions meanwhile');
cmp_ok(time() - $t0, '>', 6, 'and it outlasted the pgbench run');

# ---------------------------------------------------------------------------
# cancellation: statement_timeout and pg_cancel_backend stop training
# ---------------------------------------------------------------------------
$primary->safe_psql('postgres', q{
    CREATE TABLE big AS
      SELECT i AS id, ARRAY[(i % 101)::float8, (i % 37)::float8, (i % 7)::float8, random()] AS x,
             random() < 0.5 AS label, (i % 101) * 0.5 + random() AS y
      FROM generate_series(1, 600000) i;
});
my $versions_before = $primary->safe_psql('postgres', q{SELECT count(*) FROM mlsys.model_versions});
$t0 = time();
($ret, $stdout, $stderr) = $primary->psql('postgres',
    q{SET statement_timeout = '300ms'; SET max_parallel_workers_per_gather = 0;
      SELECT * FROM mlsys.train('slow', 'big', 'label', ARRAY['x'], hyperparams => '{"tol": 1e-14, "max_iter": 200}')});
my $elapsed = time() - $t0;
like($stderr, qr/statement timeout/, 'statement_timeout cancels training');
cmp_ok($elapsed, '<', 1.5, sprintf('within a second of the timeout (%.2f s in all)', $elapsed));

my $bg = $primary->background_psql('postgres', on_error_stop => 0);
$bg->query_until(qr/training/, q{
    \echo training
    SET max_parallel_workers_per_gather = 0;
    SELECT * FROM mlsys.train('slow', 'big', 'label', ARRAY['x'], hyperparams => '{"tol": 1e-14, "max_iter": 200}');
});
my $pid;
for (1 .. 100)
{
    $pid = $primary->safe_psql('postgres',
        q{SELECT pid FROM pg_stat_activity WHERE query LIKE '%mlsys.train(''slow''%' AND pid <> pg_backend_pid()});
    last if $pid;
    select(undef, undef, undef, 0.05);
}
ok($pid, 'found the training backend');
select(undef, undef, undef, 0.3);
$t0 = time();
$primary->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
for (1 .. 200)
{
    last unless $primary->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND state = 'active'");
    select(undef, undef, undef, 0.02);
}
$elapsed = time() - $t0;
cmp_ok($elapsed, '<', 1.0, sprintf('pg_cancel_backend stops training within a second (%.2f s)', $elapsed));
$bg->quit;
is($primary->safe_psql('postgres', q{SELECT count(*) FROM mlsys.model_versions}), $versions_before,
   'cancelled trainings left no version');
is($primary->safe_psql('postgres', q{SELECT count(*) FROM mlsys.models WHERE model = 'slow'}), '0',
   'and no model row');

# pg_terminate_backend mid-training: the session ends, the registry is untouched
$primary->safe_psql('postgres', q{
    CREATE FUNCTION slow_row_t() RETURNS bool LANGUAGE sql VOLATILE AS 'SELECT pg_sleep(0.00002) IS NOT NULL';
    CREATE VIEW big_slow_t AS SELECT id, x, label FROM big WHERE slow_row_t();
});
my $term = $primary->background_psql('postgres', on_error_stop => 0);
$term->query_until(qr/go/, q{
    \echo go
    SET max_parallel_workers_per_gather = 0;
    SELECT /* terminate-me */ * FROM mlsys.train('terminated', 'big_slow_t', 'label', ARRAY['x']);
});
my $tpid;
for (1 .. 200)
{
    $tpid = $primary->safe_psql('postgres',
        q{SELECT pid FROM pg_stat_activity WHERE query LIKE '%terminate-me%' AND pid <> pg_backend_pid() AND state = 'active'});
    last if $tpid;
    select(undef, undef, undef, 0.02);
}
select(undef, undef, undef, 0.3);
is($primary->safe_psql('postgres', "SELECT pg_terminate_backend($tpid)"), 't', 'pg_terminate_backend mid-training');
$SIG{PIPE} = 'IGNORE';
eval { $term->quit };
is($primary->safe_psql('postgres', q{SELECT count(*) FROM mlsys.models WHERE model = 'terminated'}), '0',
   'the terminated training left nothing');

# ---------------------------------------------------------------------------
# kill -9 during batch scoring and during training; immediate shutdown
# ---------------------------------------------------------------------------
$primary->safe_psql('postgres', q{SELECT version FROM mlsys.train('bigreg', 'big', 'y', ARRAY['x'])});
$primary->safe_psql('postgres', q{SELECT version FROM mlsys.train('bigclf', 'big', 'label', ARRAY['x'])});
# a view that makes every pass slow (20 µs a row), so a kill always lands mid-training
$primary->safe_psql('postgres', q{
    CREATE FUNCTION slow_row() RETURNS bool LANGUAGE sql VOLATILE AS 'SELECT pg_sleep(0.00002) IS NOT NULL';
    CREATE VIEW big_slow AS SELECT id, x, label FROM big WHERE slow_row();
});

# a killed backend's psql goes away: writing to it must not kill this script
$SIG{PIPE} = 'IGNORE';

# wait for crash recovery to finish (psql cannot connect meanwhile)
sub wait_until_up
{
    for (1 .. 600)
    {
        my $up = eval { $primary->safe_psql('postgres', 'SELECT 1') };
        return if defined $up && $up eq '1';
        select(undef, undef, undef, 0.1);
    }
    die 'the server did not come back after the crash';
}

sub kill_during
{
    my ($sql, $marker) = @_;
    my $s = $primary->background_psql('postgres', on_error_stop => 0);
    $s->query_until(qr/go/, "\\echo go\n$sql\n");
    my $victim;
    for (1 .. 200)
    {
        $victim = $primary->safe_psql('postgres',
            "SELECT pid FROM pg_stat_activity WHERE query LIKE '%$marker%' AND pid <> pg_backend_pid() AND state = 'active'");
        last if $victim;
        select(undef, undef, undef, 0.02);
    }
    select(undef, undef, undef, 0.4);
    kill 'KILL', $victim if $victim;
    eval { $s->quit };
    # the postmaster reinitializes every backend (crash recovery)
    wait_until_up();
    return $victim;
}

my $runs_before = $primary->safe_psql('postgres', q{SELECT count(*) FROM mlsys.prediction_runs});
ok(kill_during(q{SET max_parallel_workers_per_gather = 0; SELECT mlsys.predict_batch('bigreg', 'big', 'id');}, 'predict_batch'),
   'killed a backend in the middle of batch scoring');
is($primary->safe_psql('postgres', q{
    SELECT count(*) FROM mlsys.prediction_runs r
    WHERE r.rows IS DISTINCT FROM (SELECT count(*) FROM mlsys.predictions p WHERE p.run_id = r.run_id)}),
   '0', 'after crash recovery every batch run is whole');
is($primary->safe_psql('postgres', q{SELECT count(*) FROM mlsys.prediction_runs}), $runs_before,
   'and the killed run left nothing');

my $last_before = $primary->safe_psql('postgres', q{SELECT last_version FROM mlsys.models WHERE model = 'bigclf'});
ok(kill_during(q{SET max_parallel_workers_per_gather = 0;
                 SELECT /* kill-me-train */ * FROM mlsys.train('bigclf', 'big_slow', 'label', ARRAY['x']);},
               'kill-me-train'),
   'killed a backend in the middle of training');
is($primary->safe_psql('postgres', q{SELECT last_version FROM mlsys.models WHERE model = 'bigclf'}), $last_before,
   'after crash recovery the version counter is unchanged');
is($primary->safe_psql('postgres', q{
    SELECT count(*) FROM mlsys.models m
    WHERE m.last_version <> (SELECT coalesce(max(version), 0) FROM mlsys.model_versions v WHERE v.model = m.model)
      AND EXISTS (SELECT 1 FROM mlsys.model_versions v WHERE v.model = m.model)}),
   '0', 'every model\'s counter matches its versions');

# immediate shutdown during training, then a restart
my $s = $primary->background_psql('postgres', on_error_stop => 0);
$s->query_until(qr/go/, q{
    \echo go
    SET max_parallel_workers_per_gather = 0;
    SELECT * FROM mlsys.train('bigclf', 'big_slow', 'label', ARRAY['x']);
});
select(undef, undef, undef, 0.5);
$primary->stop('immediate');
eval { $s->quit };
ok(1, 'immediate shutdown during training');
$primary->start;
is($primary->safe_psql('postgres', q{SELECT last_version FROM mlsys.models WHERE model = 'bigclf'}), $last_before,
   'an immediate shutdown mid-training left no version');
is($primary->safe_psql('postgres', q{SELECT mlsys.predict('storm', '{"a": 3}'::jsonb) IN (} . "$fa, $fb)"), 't',
   'scoring works after recovery');

# immediate shutdown during batch scoring (over the slow view: surely mid-run)
my $runs_before_batch = $primary->safe_psql('postgres', q{SELECT count(*) FROM mlsys.prediction_runs});
$s = $primary->background_psql('postgres', on_error_stop => 0);
$s->query_until(qr/go/, q{
    \echo go
    SET max_parallel_workers_per_gather = 0;
    SELECT mlsys.predict_batch('bigreg', 'big_slow', 'id');
});
select(undef, undef, undef, 0.5);
$primary->stop('immediate');
eval { $s->quit };
$primary->start;
is($primary->safe_psql('postgres', q{SELECT count(*) FROM mlsys.prediction_runs}), $runs_before_batch,
   'an immediate shutdown mid-batch left no run');
is($primary->safe_psql('postgres', q{
    SELECT count(*) FROM mlsys.prediction_runs r
    WHERE r.rows IS DISTINCT FROM (SELECT count(*) FROM mlsys.predictions p WHERE p.run_id = r.run_id)}),
   '0', 'and every batch run is whole');
is($primary->safe_psql('postgres', q{SELECT count(*) FROM mlsys.deployments d
    WHERE NOT EXISTS (SELECT 1 FROM mlsys.model_versions v WHERE v.model = d.model AND v.version = d.version)}),
   '0', 'every deployment names an existing version');

done_testing();
