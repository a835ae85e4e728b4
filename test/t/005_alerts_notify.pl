# Alerts reach listeners, and a team can live with them:
#  - a session LISTENing on mlsys_alerts hears an alert when it opens, with a
#    small JSON payload (id, model, kind, feature, event) that matches the row;
#    a check that finds nothing sends nothing;
#  - a check that finds an open condition again updates its row (last_seen_at,
#    value) and sends nothing; sixty checks leave one open alert per condition;
#  - an alert escalates once, when it becomes critical (twice its threshold);
#  - it resolves when a check evaluates the condition and no longer finds it,
#    by mlsys.resolve_alert, or when another version is deployed.
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
my $round = 0;
# the payloads the listener received since the last call
sub heard
{
    my $out = $listener->query_safe('SELECT ' . ++$round);
    return $out =~ /Asynchronous notification "mlsys_alerts" with payload "(.*?)" received/g;
}
sub sql { return $node->safe_psql('postgres', $_[0]); }
# how many payloads the listener received since the last call
sub nheard { my @h = heard(); return scalar(@h); }

# nothing has drifted: no alert, no notification
is(sql(q{SELECT count(*) FROM mlsys.check('m')}), '0', 'no drift, no alert');
is(nheard(), 0, 'no notification without an alert');

# plant a shift in a; a threshold of 2/3 of its PSI makes a warning
sql('UPDATE cur SET a = a + 40');
my $psi = sql(q{SELECT psi FROM mlsys.drift('m', 'cur') WHERE feature = 'a'});
cmp_ok($psi, '>', 0.2, "the shift drifts a (PSI $psi)");
sql(qq{SELECT mlsys.configure('m', jsonb_build_object('psi_threshold', $psi / 1.5))});
my $alerts = sql(q{SELECT string_agg(id || ':' || kind || ':' || feature || ':' || severity, ',' ORDER BY id) FROM mlsys.check('m')});
like($alerts, qr/^1:data_drift:a:warning(,\d+:\w+:[^,]+:\w+)*$/, 'check returns the alerts it opened, a\'s first');
my $opened = () = $alerts =~ /:/g;
$opened /= 3;
my @payloads = heard();
is(scalar(@payloads), $opened, 'one notification per alert');
like($payloads[0], qr/"id": 1\b/, 'payload names the alert id');
like($payloads[0], qr/"kind": "data_drift"/, 'payload names the kind');
like($payloads[0], qr/"model": "m"/, 'payload names the model');
like($payloads[0], qr/"feature": "a"/, 'payload names the feature');
like($payloads[0], qr/"event": "opened"/, 'payload names the event');
ok(length($payloads[0]) < 8000, 'payload is small');
is(sql(q{SELECT metric || ' ' || (value >= threshold) FROM mlsys.alerts WHERE id = 1}),
   'psi true', 'the alert row holds the figure');

# found again: the same rows, updated, and silence
my $seen = sql(q{SELECT last_seen_at FROM mlsys.alerts WHERE id = 1});
my $ids = sql(q{SELECT string_agg(id::text, ',' ORDER BY id) FROM mlsys.alerts});
is(sql(q{SELECT string_agg(id::text, ',' ORDER BY id) FROM mlsys.check('m')}), $ids,
   'a second check returns the same open alerts');
is(nheard(), 0, 'and notifies nobody');
is(sql(qq{SELECT count(*) FROM mlsys.alerts WHERE id = 1 AND last_seen_at > '$seen'}), '1',
   'the open alert was updated (last_seen_at)');
sql(q{DO $$ BEGIN FOR i IN 1..60 LOOP PERFORM mlsys.check('m'); COMMIT; END LOOP; END $$});
is(sql(q{SELECT count(*) || ' ' || count(*) FILTER (WHERE resolved_at IS NULL) FROM mlsys.alerts}), "$opened $opened",
   'sixty more checks of an unchanged drift leave one open alert per condition');
is(nheard(), 0, 'and send nothing');

# critical at twice the threshold: escalated, once
sql(qq{SELECT mlsys.configure('m', jsonb_build_object('psi_threshold', $psi / 2.5))});
sql(q{SELECT count(*) FROM mlsys.check('m')});
@payloads = grep { /"feature": "a"/ } heard();
is(scalar(@payloads), 1, 'one notification for a when it became critical');
like($payloads[0] // '', qr/"event": "escalated"/, 'an escalation');
is(sql(q{SELECT severity FROM mlsys.alerts WHERE id = 1}), 'critical', 'the alert is critical');
sql(q{SELECT count(*) FROM mlsys.check('m')});
is(scalar(my @again = grep { /"feature": "a"/ } heard()), 0, 'escalated once only');

# a check that cannot evaluate (no rows) resolves nothing
sql(q{CREATE TABLE cur_empty AS SELECT * FROM cur WHERE false});
sql(q{SELECT mlsys.configure('m', '{"relation": "cur_empty"}')});
sql(q{SELECT count(*) FROM mlsys.check('m')});
is(sql(q{SELECT count(*) FROM mlsys.alerts WHERE resolved_at IS NULL}), sql(q{SELECT count(*) FROM mlsys.alerts}),
   'a check over no rows resolves nothing');

# the data comes back: resolved, with an event
sql(q{SELECT mlsys.configure('m', '{"relation": "cur"}')});
heard();
sql('UPDATE cur SET a = a - 40');
is(sql(q{SELECT count(*) FROM mlsys.check('m')}), '0', 'no drift any more');
@payloads = heard();
is(scalar(my @resolved = grep { /"event": "resolved"/ } @payloads), sql(q{SELECT count(*) FROM mlsys.alerts}),
   'every alert resolved, with an event each');
is(sql(q{SELECT string_agg(DISTINCT resolution, ',') || ' ' || count(*) FILTER (WHERE resolved_at IS NULL) FROM mlsys.alerts}),
   'cleared 0', 'their resolution says the check cleared them');

# by hand
sql('UPDATE cur SET a = a + 40');
my $id = sql(q{SELECT min(id) FROM mlsys.check('m')});
cmp_ok($id, '>', 2, 'a new drift opens a new alert');
heard();
is(sql(qq{SELECT mlsys.resolve_alert($id)}), 't', 'mlsys.resolve_alert resolves it');
like(join(' ', heard()), qr/"id": $id, .*"event": "resolved"/, 'with an event');
is(sql(qq{SELECT resolution FROM mlsys.alerts WHERE id = $id}), 'manual', 'and the resolution manual');
is(sql(qq{SELECT mlsys.resolve_alert($id)}), 'f', 'resolving it again changes nothing');
my ($ret, $stdout, $stderr) = $node->psql('postgres', q{SELECT mlsys.resolve_alert(999999)});
like($stderr, qr/alert 999999 does not exist/, 'an unknown alert is an error');

# a deployment supersedes the open alerts of the version it replaces
sql(q{SELECT count(*) FROM mlsys.check('m')});
cmp_ok(sql(q{SELECT count(*) FROM mlsys.alerts WHERE resolved_at IS NULL}), '>', 0, 'open alerts of version 1');
heard();
sql(q{SELECT version FROM mlsys.train('m', 't', 'y', ARRAY['a', 'b'], deploy => 'most_recent')});
is(sql(q{SELECT count(*) FROM mlsys.alerts WHERE resolved_at IS NULL}), '0', 'deploying version 2 resolved them');
is(sql(q{SELECT DISTINCT resolution FROM mlsys.alerts WHERE version = 1 AND resolved_at > now() - interval '1 minute'
         AND resolution LIKE 'superseded%'}), 'superseded by version 2', 'with the reason');
ok(scalar(grep { /"event": "resolved"/ } heard()), 'and listeners heard it');

$listener->quit;
$node->stop;
done_testing();
