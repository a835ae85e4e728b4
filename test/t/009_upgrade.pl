# Upgrades: a database that runs mlsys 0.1 (models trained, deployed, scored
# in batch) is updated with ALTER EXTENSION mlsys UPDATE:
#  - every registry row survives, and every score is the same to the last bit;
#  - the updated extension has exactly the objects of a fresh install of the
#    current version (functions with their definitions, attributes, comments
#    and grants; tables with their columns in order, defaults, constraints,
#    indexes and triggers; views, types and sequences), attribute-number gaps
#    aside.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->start;

my $current = $node->safe_psql('postgres',
	q{SELECT default_version FROM pg_available_extensions WHERE name = 'mlsys'});
isnt($current, '0.1', "the current version ($current) is not 0.1");

$node->safe_psql('postgres', q{CREATE DATABASE up});
$node->safe_psql('postgres', q{CREATE DATABASE fresh});
$node->safe_psql('up', q{
    CREATE EXTENSION mlsys VERSION '0.1';
    CREATE TABLE cust AS
    SELECT i AS id, (i % 17)::float8 AS x, (ARRAY['red', 'green', 'blue'])[1 + i % 3] AS color,
           i % 5 = 0 AS flag, 1 + 2 * (i % 17) + (i % 3) + (i % 7) * 0.1 AS y,
           (i % 17) + (i % 3) * 2 + (i % 7) > 14 AS churned
    FROM generate_series(1, 2000) i;
    SELECT version FROM mlsys.train('lin', 'cust', 'y', ARRAY['x', 'color', 'flag']);
    SELECT version FROM mlsys.train('lin', 'cust', 'y', ARRAY['x', 'color'], 'ridge', '{"alpha": 0.5}', deploy => 'never');
    SELECT version FROM mlsys.train('churn', 'cust', 'churned', ARRAY['x', 'color', 'flag'], 'logistic');
    SELECT mlsys.deploy('lin', 2);
    SELECT mlsys.predict_batch('lin', 'cust', 'id');
    SELECT mlsys.predict_batch('churn', 'cust', 'id');
});
is($node->safe_psql('up', q{SELECT extversion FROM pg_extension WHERE extname = 'mlsys'}), '0.1',
   'version 0.1 is installed');

# every row of every mlsys table (the columns 0.1 has: the update may add
# some), and the scores of every version
$node->safe_psql('up', q{
    CREATE TABLE public.columns_01 AS
    SELECT c.relname, string_agg('t.' || quote_ident(a.attname), ', ' ORDER BY a.attnum) AS cols
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = 'mlsys'
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relkind = 'r' GROUP BY c.relname
});
my $rows = q{
    SELECT string_agg(c.relname || ': ' || t.rows, E'\n' ORDER BY c.relname)
    FROM public.columns_01 c
    CROSS JOIN LATERAL (SELECT (xpath('/row/r/text()',
        query_to_xml(format('SELECT md5(string_agg(ROW(%s)::text, %L ORDER BY ROW(%s)::text)) AS r FROM mlsys.%I t',
                            c.cols, E'\n', c.cols, c.relname), false, true, '')))[1]::text AS rows) t
};
my $scores = q{
    SET extra_float_digits = 3;
    SELECT string_agg(v.model || ' ' || v.version || ' ' || md5(s.scores), E'\n' ORDER BY v.model, v.version)
    FROM mlsys.model_versions v
    CROSS JOIN LATERAL (SELECT string_agg(CASE WHEN v.model = 'churn'
                                               THEN (mlsys.predict_proba(v.model, v.version, c))[2]
                                               ELSE mlsys.predict(v.model, v.version, c) END::text,
                                          ',' ORDER BY c.id) AS scores FROM cust c) s
};
my $rows_before = $node->safe_psql('up', $rows);
my $scores_before = $node->safe_psql('up', $scores);
like($rows_before, qr/model_versions: [0-9a-f]{32}/, 'the registry has rows');

$node->safe_psql('up', q{ALTER EXTENSION mlsys UPDATE});
is($node->safe_psql('up', q{SELECT extversion FROM pg_extension WHERE extname = 'mlsys'}), $current,
   "ALTER EXTENSION mlsys UPDATE reaches $current");
is($node->safe_psql('up', $rows), $rows_before, 'every registry row survives the update');
is($node->safe_psql('up', $scores), $scores_before, 'every version scores the same after the update');
is($node->safe_psql('up', q{SELECT mlsys.predict_batch('lin', 'cust', 'id')}), '2000',
   'batch scoring works after the update');
is($node->safe_psql('up', q{SELECT count(*) FILTER (WHERE owner::text = quote_ident(created_by)) || '/' || count(*) FROM mlsys.models}),
   $node->safe_psql('up', q{SELECT count(*) || '/' || count(*) FROM mlsys.models}),
   'every model is owned by its creator after the update');

# the objects of the extension, described in full, one line each
my $catalog = q{
    WITH members AS (
        SELECT d.classid, d.objid FROM pg_depend d
        JOIN pg_extension e ON d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
        WHERE e.extname = 'mlsys' AND d.deptype = 'e'),
    described AS (
        -- functions and procedures
        SELECT p.oid::regprocedure::text || E'\n' ||
               CASE WHEN p.prokind = 'a' THEN
                    (SELECT format('aggregate sfunc=%s stype=%s combine=%s final=%s serial=%s deserial=%s initcond=%s parallel=%s',
                                   a.aggtransfn, format_type(a.aggtranstype, NULL), a.aggcombinefn, a.aggfinalfn,
                                   a.aggserialfn, a.aggdeserialfn, a.agginitval, p.proparallel)
                       FROM pg_aggregate a WHERE a.aggfnoid = p.oid)
                    ELSE pg_get_functiondef(p.oid) END ||
               E'\ncomment: ' || coalesce(obj_description(p.oid, 'pg_proc'), '-') ||
               E'\nacl: ' || coalesce(p.proacl::text, '-') AS line
        FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
        UNION ALL
        -- tables, views, sequences and indexes of the extension
        SELECT format('%s %s (%s)', c.relkind, c.oid::regclass,
                      (SELECT string_agg(format('%I %s%s%s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                                CASE WHEN a.attnotnull THEN ' not null' ELSE '' END,
                                                coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''),
                                                coalesce(' comment ' || col_description(c.oid, a.attnum), '')),
                                         ', ' ORDER BY a.attnum)
                         FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                        WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)) ||
               coalesce(E'\nview: ' || pg_get_viewdef(c.oid), '') ||
               coalesce(E'\nconstraints: ' || (SELECT string_agg(format('%s %s', co.conname, pg_get_constraintdef(co.oid)), '; ' ORDER BY co.conname)
                                                 FROM pg_constraint co WHERE co.conrelid = c.oid), '') ||
               coalesce(E'\nindexes: ' || (SELECT string_agg(pg_get_indexdef(i.indexrelid), '; ' ORDER BY i.indexrelid::regclass::text)
                                             FROM pg_index i WHERE i.indrelid = c.oid), '') ||
               coalesce(E'\ntriggers: ' || (SELECT string_agg(pg_get_triggerdef(t.oid), '; ' ORDER BY t.tgname)
                                              FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal), '') ||
               E'\nrow security: ' || c.relrowsecurity ||
               coalesce(E'\npolicies: ' || (SELECT string_agg(format('%s %s %s %s to %s using %s check %s', po.polname,
                                                                     po.polpermissive, po.polcmd, c.oid::regclass, po.polroles::regrole[],
                                                                     pg_get_expr(po.polqual, po.polrelid),
                                                                     pg_get_expr(po.polwithcheck, po.polrelid)), '; ' ORDER BY po.polname)
                                              FROM pg_policy po WHERE po.polrelid = c.oid), '') ||
               E'\noptions: ' || coalesce(c.reloptions::text, '-') ||
               E'\ncomment: ' || coalesce(obj_description(c.oid, 'pg_class'), '-') ||
               E'\nacl: ' || coalesce(c.relacl::text, '-')
        FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
        UNION ALL
        -- types (enums with their labels in order, composite types through their relation)
        SELECT format('type %s %s %s', t.oid::regtype, t.typtype,
                      (SELECT string_agg(e.enumlabel, ',' ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = t.oid))
        FROM members m JOIN pg_type t ON m.classid = 'pg_type'::regclass AND t.oid = m.objid
        UNION ALL
        -- anything else, by its description
        SELECT pg_describe_object(m.classid, m.objid, 0)
        FROM members m WHERE m.classid NOT IN ('pg_proc'::regclass, 'pg_class'::regclass, 'pg_type'::regclass)
        UNION ALL
        -- the tables pg_dump keeps, and the schema's own grants
        SELECT 'config ' || coalesce((SELECT string_agg(x::regclass::text, ',' ORDER BY x::regclass::text)
                                        FROM pg_extension e, unnest(e.extconfig) x WHERE e.extname = 'mlsys'), '-')
        UNION ALL
        SELECT 'schema acl ' || coalesce(n.nspacl::text, '-') FROM pg_namespace n WHERE n.nspname = 'mlsys')
    SELECT string_agg(line, E'\n----\n' ORDER BY line) FROM described
};
$node->safe_psql('fresh', q{CREATE EXTENSION mlsys});
my $fresh = $node->safe_psql('fresh', $catalog);
my $upgraded = $node->safe_psql('up', $catalog);
like($fresh, qr/mlsys\.train\(/, 'the catalog description lists the functions');
if ($fresh eq $upgraded)
{
	pass('an upgraded installation has the objects of a fresh one');
}
else
{
	# say which objects differ, not two whole catalogs
	my %f = map { $_ => 1 } split /\n----\n/, $fresh;
	my %u = map { $_ => 1 } split /\n----\n/, $upgraded;
	diag("only in a fresh install:\n$_\n") for grep { !$u{$_} } sort keys %f;
	diag("only after the upgrade:\n$_\n") for grep { !$f{$_} } sort keys %u;
	fail('an upgraded installation has the objects of a fresh one');
}

$node->stop;
done_testing();
