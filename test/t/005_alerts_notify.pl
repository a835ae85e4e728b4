# Alerts reach listeners: a session LISTENing on mlsys_alerts receives one
# notification per alert of mlsys.check, with a small JSON payload (alert id,
# model, kind, feature) that matches the row in mlsys.alerts; a check that
# finds nothing sends nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('main');
$node->init;
$node->start;
$node->safe_psql('postgres', q{
    CREATE EXTENSION mlsys;
    CREATE TABLE t AS
      SELECT i AS id, (i % 100)::float8 AS a, ((i * 37) % 101)::float8 AS b,
             3 * (i % 100) - 2 * ((i * 37) % 101) AS y
      FROM generate_series(1, 5000) i;
    SELECT * FROM mlsys.train('m', 't', 'y', ARRAY['a', 'b']);
    CREATE TABLE cur AS SELECT id, a, b FROM t;
    SELECT mlsys.configure('m', '{"relation": "cur"}');
});

my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN mlsys_alerts');

# nothing has drifted: no alert, no notification
is($node->safe_psql('postgres', 'SELECT count(*) FROM mlsys.check(\'m\')'), '0', 'no drift, no alert');
my $out = $listener->query_safe('SELECT 1');
unlike($out, qr/Asynchronous notification/, 'no notification without an alert');

# plant a shift in a: one data_drift and one prediction_drift alert
$node->safe_psql('postgres', 'UPDATE cur SET a = a + 40');
my $alerts = $node->safe_psql('postgres',
    q{SELECT string_agg(id || ':' || kind || ':' || feature, ',' ORDER BY id) FROM mlsys.check('m')});
is($alerts, '1:data_drift:a,2:prediction_drift:<prediction>', 'check returns the alerts');

$out = $listener->query_safe('SELECT 2');
my @payloads = $out =~ /Asynchronous notification "mlsys_alerts" with payload "(.*?)" received/g;
is(scalar(@payloads), 2, 'one notification per alert');
like($payloads[0], qr/"id": 1\b/, 'payload names the alert id');
like($payloads[0], qr/"kind": "data_drift"/, 'payload names the kind');
like($payloads[0], qr/"model": "m"/, 'payload names the model');
like($payloads[0], qr/"feature": "a"/, 'payload names the feature');
like($payloads[1], qr/"kind": "prediction_drift"/, 'second payload is the prediction drift');
ok(length($payloads[0]) < 8000, 'payload is small');

# the payload's id leads to the details in the table
my ($id) = $payloads[0] =~ /"id": (\d+)/;
is($node->safe_psql('postgres', "SELECT metric || ' ' || (value >= threshold) FROM mlsys.alerts WHERE id = $id"),
   'psi true', 'the alert row holds the figure');

$listener->quit;
$node->stop;
done_testing();
