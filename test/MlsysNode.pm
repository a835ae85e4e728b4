# Shared set-up for mlsys's TAP tests (test/t/*.pl add this directory to @INC).
package MlsysNode;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;

# a started node configured like the test and demo clusters: pg_cron preloaded
# for the database "postgres", running its jobs in background workers (the
# nodes listen on a socket only, so pg_cron cannot connect over TCP), and
# mlsys preloaded for online logging (its ring and writer workers)
sub cron_node
{
	my ($name, %init) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%init);
	$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'pg_cron,mlsys'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 16
});
	$node->start;
	return $node;
}

1;
