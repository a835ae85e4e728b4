# Precomputed recommendations under concurrency: pgbench clients call
# mlsys.recommend while another connection refreshes the lists with
# mlsys.recommend_batch and deploys the other version (with and without a
# refresh in the same transaction). Every answer must be one version's
# complete answer, computed beforehand: recommend returns no version, so a
# stale list or a mix would show as a wrong list of items.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('precomputed');
$node->init;
$node->append_conf('postgresql.conf', "max_connections = 40\n");
$node->start;
$node->safe_psql('postgres', q{
    CREATE EXTENSION mlsys;
    -- 300 users, 30 clicks each over 3,000 items, popular items drawn more often
    CREATE TABLE clicks AS
    SELECT u AS user_id, (floor(exp((abs(hashtext(u || ':' || c)) % 100000) / 100000.0 * ln(3001))) - 1)::bigint AS item_id
    FROM generate_series(1, 300) u, generate_series(1, 30) c;
    SELECT version FROM mlsys.train_recommender('rp', 'clicks', hyperparams => '{"factors": 8, "iterations": 4}',
                                                deploy => 'most_recent');
    SELECT version FROM mlsys.train_recommender('rp', 'clicks', hyperparams => '{"factors": 8, "iterations": 4}',
                                                seed => 1, deploy => 'never');
    CREATE FUNCTION answer(p_user bigint) RETURNS text LANGUAGE sql AS $$
        SELECT string_agg(item_id::text, ',' ORDER BY o) FROM mlsys.recommend(p_user, 10, 'rp') WITH ORDINALITY x(item_id, score, o)
    $$;
    -- each version's live answers, computed beforehand
    CREATE TABLE expected AS SELECT u AS user_id, answer(u) AS v1 FROM generate_series(1, 300) u;
    SELECT mlsys.deploy('rp', 2);
    ALTER TABLE expected ADD COLUMN v2 text;
    UPDATE expected SET v2 = answer(user_id);
    SELECT mlsys.rollback('rp');
});
is($node->safe_psql('postgres', q{SELECT count(*) FROM expected WHERE v1 IS DISTINCT FROM v2}), '300',
   'the two versions answer every user differently');

# serve from the lists; precomputed answers equal live ones
$node->safe_psql('postgres', q{SELECT mlsys.configure('rp', '{"serve": "precomputed"}')});
is($node->safe_psql('postgres', q{SELECT mlsys.recommend_batch('rp', k => 20)}), '300', 'the batch wrote every user');
is($node->safe_psql('postgres', q{SELECT count(*) FROM expected WHERE answer(user_id) IS DISTINCT FROM v1}), '0',
   'precomputed answers equal the live ones');

my $script = $node->basedir . '/recommend.sql';
open(my $fh, '>', $script) or die;
print $fh <<'SQL';
\set uid random(1, 300)
SELECT CASE WHEN a IN (e.v1, e.v2) THEN 1 ELSE ('wrong answer ' || a)::int END
  FROM (SELECT answer(:uid) AS a) s, expected e WHERE e.user_id = :uid;
SQL
close $fh;

# the churn: refresh, deploy the other version with a refresh in the same
# transaction, deploy without a refresh (live answers until the next one)
my $churn = $node->background_psql('postgres');
$churn->query_until(qr/churning/, q{
    \echo churning
    DO $$
    DECLARE
        v int := 1;
    BEGIN
        FOR i IN 1..300 LOOP
            IF i % 3 = 0 THEN
                PERFORM mlsys.recommend_batch('rp', k => 20);
            ELSE
                v := 3 - v;
                PERFORM mlsys.deploy('rp', v);
                IF i % 3 = 1 THEN
                    PERFORM mlsys.recommend_batch('rp', k => 20);
                END IF;
            END IF;
            COMMIT;
            PERFORM pg_catalog.pg_sleep(0.01);
        END LOOP;
    END $$;
});
my ($stdout, $stderr) = ('', '');
my $t0 = time();
my $ok = IPC::Run::run(
    [ 'pgbench', '-n', '-c', '2', '-j', '2', '-T', '6', '-f', $script,
      '-h', $node->host, '-p', $node->port, 'postgres' ],
    '>', \$stdout, '2>', \$stderr);
my $churned = time() - $t0;
$churn->query_safe(q{SELECT 1});
$churn->quit;
ok($ok, 'pgbench: no error, every answer one version\'s') or diag($stdout . $stderr);
my ($tx) = $stdout =~ /number of transactions actually processed: (\d+)/;
ok(defined $tx && $tx > 100, "pgbench ran transactions during the churn (" . ($tx // 'none') . ")");
unlike($stdout . $stderr, qr/aborted|wrong answer/, 'no client aborted, no wrong answer');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM mlsys.deployments WHERE model = 'rp'}), '>', 100,
       'deployments happened meanwhile');
cmp_ok($churned, '>', 6, 'pgbench ran for its whole time');

# after the churn: a deployment without a refresh is never answered from the
# other version's lists; a refresh makes them the live version's again
my $live = $node->safe_psql('postgres', q{SELECT version FROM mlsys.deployments WHERE model = 'rp' ORDER BY id DESC LIMIT 1});
$node->safe_psql('postgres', q{SELECT mlsys.recommend_batch('rp', k => 20)});
$live = 3 - $live;
$node->safe_psql('postgres', qq{SELECT mlsys.deploy('rp', $live)});
is($node->safe_psql('postgres', qq{SELECT count(*) FROM expected WHERE answer(user_id) IS DISTINCT FROM v$live}), '0',
   'a deployment without a refresh answers live, not from the other version\'s lists');
$node->safe_psql('postgres', q{SELECT mlsys.recommend_batch('rp', k => 20)});
is($node->safe_psql('postgres', qq{SELECT count(*) FROM expected WHERE answer(user_id) IS DISTINCT FROM v$live}), '0',
   'after a refresh every answer is the live version\'s');

$node->stop;
done_testing();
