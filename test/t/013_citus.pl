# mlsys on Citus: a coordinator and two workers on loopback, the same rows in
# a local table and in a distributed one (32 shards):
#  - CREATE EXTENSION mlsys on the coordinator reaches the workers;
#  - linreg_agg, linear and logistic training, the metric aggregates and the
#    drift statistics give on the distributed table what they give locally;
#  - predict and predict_label on the distributed table run on the workers
#    (mlsys.citus_setup's copy of the registry) and give the local answers,
#    right after a deployment, a rollback and a failed deployment too;
#    predict_batch, retrain and reproduce on the distributed table;
#  - the passes' and the trainings' times, distributed against local, are
#    reported (not asserted: the machine's load decides them).
# Skipped when Citus is not installed (test/citus.sh builds it). Rows:
# MLSYS_CITUS_ROWS (default 40000), 16 features.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $pg_config = $ENV{PG_CONFIG} || 'pg_config';
my $pkglibdir = `$pg_config --pkglibdir`;
chomp $pkglibdir;
plan skip_all => "Citus is not installed in $pkglibdir (build it with test/citus.sh)"
  unless -e "$pkglibdir/citus.so";

my $rows = $ENV{MLSYS_CITUS_ROWS} // 40000;
die "MLSYS_CITUS_ROWS must be a positive integer" unless $rows =~ /^[1-9][0-9]*$/;

# Citus must come first in shared_preload_libraries; its connections between
# nodes go over loopback TCP, without SSL
sub citus_node
{
	my ($name) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'citus,pg_cron,mlsys'
cron.database_name = 'postgres'
listen_addresses = '127.0.0.1'
max_worker_processes = 32
max_connections = 100
citus.node_conninfo = 'sslmode=disable'
});
	$node->append_conf('pg_hba.conf', "host all all 127.0.0.1/32 trust\n");
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION citus');
	return $node;
}

my $coord = citus_node('coordinator');
my @workers = (citus_node('worker1'), citus_node('worker2'));
$coord->safe_psql('postgres', "SELECT citus_set_coordinator_host('127.0.0.1', " . $coord->port . ")");
$coord->safe_psql('postgres', "SELECT citus_add_node('127.0.0.1', " . $_->port . ")") for @workers;
is($coord->safe_psql('postgres', 'SELECT count(*) FROM citus_get_active_worker_nodes()'),
	'2', 'two active workers');
note 'Citus ' . $coord->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'citus'});

$coord->safe_psql('postgres', 'CREATE EXTENSION mlsys');
for my $w (@workers)
{
	is($w->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'mlsys'}),
		$coord->safe_psql('postgres', q{SELECT extversion FROM pg_extension WHERE extname = 'mlsys'}),
		'CREATE EXTENSION mlsys reaches ' . $w->name);
}

# the same rows, local and distributed: 16 features, a linear target with
# a little deterministic noise, a label from a noisy logistic score
my $x = join(', ', map { "x$_ float8" } 1 .. 16);
my $xs = join(', ', map { "x$_" } 1 .. 16);
my $gen = join(",\n", map { "sin(i * 0.0137 * $_ + $_) * $_" } 1 .. 16);
my $lin = join(' + ', map { ($_ % 5 - 2) * 0.7 . " * x$_" } 1 .. 16);
$coord->safe_psql('postgres', qq{
    CREATE TABLE t_local (id bigint, $x, y float8, label bool);
    INSERT INTO t_local
      SELECT i, v.*, 0, false
      FROM generate_series(1, $rows) i,
           LATERAL (SELECT $gen) v;
    UPDATE t_local SET y = 3 + $lin + sin(id * 7.31) * 0.5,
                       label = (0.4 * x1 - 0.3 * x2 + 0.2 * x3 + sin(id * 3.77) * 1.5) > 0;
    CREATE TABLE t_dist (LIKE t_local);
    SELECT create_distributed_table('t_dist', 'id', shard_count => 32);
    INSERT INTO t_dist SELECT * FROM t_local;
    VACUUM ANALYZE t_local;
    VACUUM ANALYZE t_dist;
});
is($coord->safe_psql('postgres', 'SELECT count(*) FROM t_dist'), $rows, "$rows rows distributed");
note "$rows rows, 16 features, 32 shards";

# run a query on the coordinator: its output and its wall-clock seconds
sub timed
{
	my ($sql) = @_;
	my $t0 = time;
	my $out = $coord->safe_psql('postgres', $sql);
	return ($out, time - $t0);
}

# are two outputs (rows of numbers separated by | , { } or newlines) equal to
# a relative tolerance?
sub close_enough
{
	my ($a, $b, $tol) = @_;
	my @a = split /[|,{}\n=]+/, $a;
	my @b = split /[|,{}\n=]+/, $b;
	return 0 unless @a == @b && @a > 0;
	for my $i (0 .. $#a)
	{
		my ($u, $v) = ($a[$i], $b[$i]);
		if ($u =~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/i && $v =~ /^-?[0-9.]+(e[-+]?[0-9]+)?$/i)
		{
			return 0 if abs($u - $v) > $tol * (1 + abs($u));
		}
		elsif ($u ne $v)
		{
			return 0;
		}
	}
	return 1;
}

# does Citus push an aggregate down (worker_partial_agg on the shards)?
sub pushed_down
{
	my ($select) = @_;
	my $plan = $coord->safe_psql('postgres', "SET citus.explain_all_tasks = off; EXPLAIN (VERBOSE) $select");
	return $plan =~ /worker_partial_agg/;
}

my %time;

# a pass: the least-squares aggregate
my $agg = "SELECT mlsys.linreg_agg(y, ARRAY[$xs])";
ok(pushed_down("$agg FROM t_dist"), 'linreg_agg runs as worker_partial_agg on the shards');
timed("$agg FROM t_local");    # warm both
timed("$agg FROM t_dist");
my ($l, $tl) = timed("$agg FROM t_local");
my ($d, $td) = timed("$agg FROM t_dist");
ok(close_enough($l, $d, 1e-9), 'linreg_agg: distributed equals local');
$time{linreg_agg} = [ $tl, $td ];

# the metric and drift aggregates
my $metrics = q{SELECT mlsys.rmse(x1, y), mlsys.mae(x1, y), mlsys.r2(x1, y), mlsys.log_loss(0.5 + 0.4 * sin(x2), label),
                       mlsys.auc(x1, label), (mlsys.ks_test(x3, id % 3 = 0)).*, mlsys.wasserstein(x4, id % 3 = 0),
                       mlsys.psi(x5, id % 3 = 0), mlsys.js_distance((x6 > 0)::text, id % 3 = 0),
                       mlsys.linf_distance((x7 > 1)::text, id % 3 = 0)};
ok(pushed_down("$metrics FROM t_dist"), 'the metric and drift aggregates push down');
($l, $tl) = timed("$metrics FROM t_local");
($d, $td) = timed("$metrics FROM t_dist");
ok(close_enough($l, $d, 1e-9), 'metric and drift aggregates: distributed equal local')
  or diag "local: $l\ndistributed: $d";
$time{metrics} = [ $tl, $td ];

# training, with and without the baseline capture
my $features = 'ARRAY[' . join(', ', map { "'x$_'" } 1 .. 16) . ']';
for my $capture ('off', 'on')
{
	for my $algo ('linear', 'logistic')
	{
		my $target = $algo eq 'linear' ? 'y' : 'label';
		my %coef;
		for my $rel ('t_local', 't_dist')
		{
			my $m = "${algo}_${rel}_$capture";
			my (undef, $t) = timed(qq{
                SET mlsys.capture_baseline = $capture;
                SELECT version FROM mlsys.train('$m', '$rel', '$target', $features, '$algo')});
			$time{"train $algo, baseline $capture"}{$rel} = $t;
			$coef{$rel} = $coord->safe_psql('postgres',
				"SELECT ordinal, feature, coefficient FROM mlsys.features('$m') ORDER BY ordinal");
			$coef{"$rel metrics"} = $coord->safe_psql('postgres',
				qq{SELECT string_agg(key || '=' || value, ',' ORDER BY key)
                   FROM mlsys.model_versions v, jsonb_each_text(v.metrics)
                   WHERE v.model = '$m' AND jsonb_typeof(v.metrics -> key) = 'number'});
		}
		ok(close_enough($coef{t_local}, $coef{t_dist}, 1e-9),
			"$algo training (baseline capture $capture): distributed coefficients equal local")
		  or diag "local:\n$coef{t_local}\ndistributed:\n$coef{t_dist}";
		ok(close_enough($coef{'t_local metrics'}, $coef{'t_dist metrics'}, 1e-9),
			"$algo training (baseline capture $capture): the same holdout metrics")
		  or diag "local: $coef{'t_local metrics'}\ndistributed: $coef{'t_dist metrics'}";
	}
}

# drift of a table against the baseline, local and distributed
my $drift = q{SELECT feature, rows, round(psi::numeric, 9), round(ks::numeric, 9), drifted
              FROM mlsys.drift('linear_t_local_on', '%s') ORDER BY feature};
my ($dl, $tdl) = timed(sprintf($drift, 't_local'));
my ($dd, $tdd) = timed(sprintf($drift, 't_dist'));
ok(close_enough($dl, $dd, 1e-9), 'drift: distributed equals local')
  or diag "local:\n$dl\ndistributed:\n$dd";
$time{drift} = [ $tdl, $tdd ];

# scoring on the distributed table, on the workers, from the registry's copy
# that mlsys.citus_setup() makes (reference tables kept by triggers)
$coord->safe_psql('postgres', 'SELECT mlsys.citus_setup()');
my $model = 'linear_t_local_off';
my $score = q{SELECT count(*), round(sum(mlsys.predict('%1$s', t))::numeric, 6),
                     round(mlsys.rmse(mlsys.predict('%1$s', t), y)::numeric, 9),
                     count(*) FILTER (WHERE mlsys.predict_label('logistic_t_local_off', t) = 'true')
              FROM %2$s t};
like($coord->safe_psql('postgres', 'SET citus.explain_all_tasks = off; EXPLAIN (VERBOSE) ' . sprintf($score, $model, 't_dist')),
	qr/Query: SELECT .*mlsys\.predict/, 'scoring runs in the shards\' queries, on the workers');
my %scored;
for my $stage ('deployed', 'after a deployment', 'after a rollback')
{
	if ($stage eq 'after a deployment')
	{
		$coord->safe_psql('postgres', qq{
            SELECT version FROM mlsys.train('$model', 't_local', 'y', $features, 'ridge',
                                            '{"alpha": 100000}', deploy => 'never');
            SELECT mlsys.deploy('$model', 2)});
	}
	elsif ($stage eq 'after a rollback')
	{
		$coord->safe_psql('postgres', "SELECT mlsys.rollback('$model')");
	}
	my ($sl, $tsl) = timed(sprintf($score, $model, 't_local'));
	my ($sd, $tsd) = timed(sprintf($score, $model, 't_dist'));
	is($sd, $sl, "predict and predict_label on the distributed table, $stage: the local answers");
	$scored{$stage} = $sl;
	$time{"scoring, $stage"} = [ $tsl, $tsd ];
}
isnt($scored{'after a deployment'}, $scored{deployed}, 'the deployed version scores differently');
is($scored{'after a rollback'}, $scored{deployed}, 'and the rollback scores as before');

# a deployment that fails changes nothing on any node
$coord->psql('postgres', "BEGIN; SELECT mlsys.deploy('$model', 2); SELECT 1/0; COMMIT;");
is($coord->safe_psql('postgres', sprintf($score, $model, 't_dist')), $scored{deployed},
	'a rolled back deployment leaves the workers scoring the live version');

# predict_batch, retrain (champion and challenger scored on the workers, in
# the transaction that registers the challenger) and reproduce
my %batch;
for my $rel ('t_local', 't_dist')
{
	$batch{$rel} = $coord->safe_psql('postgres', qq{
        SELECT mlsys.predict_batch('$model', '$rel', 'id');
        SELECT count(*) || ' ' || round(sum(prediction)::numeric, 6) FROM mlsys.predictions
         WHERE run_id = (SELECT max(run_id) FROM mlsys.prediction_runs)});
}
is($batch{t_dist}, $batch{t_local}, 'predict_batch on the distributed table: the local rows and predictions');
my %retrained;
for my $rel ('t_local', 't_dist')
{
	my (undef, $t) = timed(qq{SELECT decision FROM mlsys.retrain('logistic_${rel}_off')});
	$time{'retrain logistic'}{$rel} = $t;
	$retrained{$rel} = $coord->safe_psql('postgres', qq{
        SELECT decision, round(champion_score::numeric, 9), round(challenger_score::numeric, 9)
          FROM mlsys.retrain_decisions WHERE model = 'logistic_${rel}_off' ORDER BY id DESC LIMIT 1});
}
is($retrained{t_dist}, $retrained{t_local}, 'retrain on the distributed table: the local decision and scores');
like($coord->safe_psql('postgres', q{SELECT data_unchanged, params_match FROM mlsys.reproduce('linear_t_dist_off', 1)}),
	qr/^t\|t$/, 'reproduce of a version trained on the distributed table');

# the figures
for my $k (sort keys %time)
{
	my ($tl, $td) = ref $time{$k} eq 'HASH' ? @{ $time{$k} }{qw(t_local t_dist)} : @{ $time{$k} };
	diag sprintf('%-36s local %7.3f s  distributed %7.3f s  ratio %5.2f', $k, $tl, $td, $td / $tl);
}

$_->stop for ($coord, @workers);
done_testing();
