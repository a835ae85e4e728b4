# Recommenders across connections:
#  - a backend with a recommender cached picks up a deployment made by another
#    connection on its next call, also when the model is found by model NULL;
#  - model NULL notices a second deployed recommender (registry change);
#  - a tampered recommender blob is never served;
#  - training is cancellable (statement_timeout) and leaves nothing behind.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('rec');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
    CREATE EXTENSION mlsys;
    CREATE TABLE r AS
      SELECT u AS user_id, i AS item_id,
             5 + sin(u * 0.37) * cos(i * 0.51) + cos(u * 0.23) * sin(i * 0.29) AS rating
      FROM generate_series(1, 100) u, generate_series(1, 60) i WHERE (u * 31 + i * 17) % 3 = 0;
    SELECT * FROM mlsys.train_recommender('rec', 'r', rating_column => 'rating',
                                          hyperparams => '{"factors": 4, "regularization": 0.05}');
    SELECT * FROM mlsys.train_recommender('rec', 'r', rating_column => 'rating', deploy => 'never',
                                          hyperparams => '{"factors": 2, "regularization": 1, "iterations": 3}');
});

my $q = q{SELECT string_agg(item_id::text, ',' ORDER BY ordinality) FROM mlsys.recommend(5, 5) WITH ORDINALITY};
my $v1 = $node->safe_psql('postgres', $q);

my $session = $node->background_psql('postgres', on_error_stop => 0);
is($session->query_safe($q), $v1, 'cached session serves version 1');
$node->safe_psql('postgres', q{SELECT mlsys.deploy('rec', 2)});
my $v2 = $node->safe_psql('postgres', $q);
isnt($v2, $v1, 'version 2 recommends differently');
is($session->query_safe($q), $v2, 'cached session picks up the deployment on its next call');
$node->safe_psql('postgres', q{SELECT mlsys.rollback('rec')});
is($session->query_safe($q), $v1, 'and the rollback');

# a second deployed recommender makes model NULL ambiguous, in the cached session too
$node->safe_psql('postgres', q{
    SELECT * FROM mlsys.train_recommender('other', 'r', hyperparams => '{"factors": 2}')});
my $out = $session->query($q);
like($session->{stderr}, qr/more than one recommender is deployed/, 'model NULL sees the new recommender');
$session->{stderr} = '';
is($session->query_safe(q{SELECT count(*) FROM mlsys.recommend(5, 5, 'other')}), '5', 'named model still works');
$session->quit;

# a tampered blob is rejected
$node->safe_psql('postgres',
    q{UPDATE mlsys.model_versions SET params = set_byte(params, 100, get_byte(params, 100) # 255) WHERE model = 'rec' AND version = 1});
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{SELECT * FROM mlsys.recommend(5, 5, 'rec')});
isnt($ret, 0, 'tampered recommender raises an error');
like($stderr, qr/model parameters are corrupted/, 'with the corruption message');

# cancellable training
$node->safe_psql('postgres', q{
    CREATE TABLE big AS SELECT u AS user_id, i AS item_id FROM generate_series(1, 3000) u, generate_series(1, 300) i
      WHERE (u * 7 + i * 13) % 5 = 0});
($ret, $stdout, $stderr) = $node->psql('postgres', q{
    SET statement_timeout = '300ms';
    SELECT * FROM mlsys.train_recommender('big', 'big', hyperparams => '{"factors": 200, "iterations": 100}')});
like($stderr, qr/canceling statement due to statement timeout/, 'training is cancelled by statement_timeout');
is($node->safe_psql('postgres', q{SELECT count(*) FROM mlsys.models WHERE model = 'big'}), '0',
   'a cancelled training registers nothing');

$node->stop;
done_testing();
