# mlsys.report's page in a real browser: Debian's chromium, headless, renders
# the report of a model with a week of history (daily checks of a drifting
# feature, labelled batch predictions, a retrained second version):
#  - a screenshot that is not blank: many colours, among them the report's
#    palette (Okabe–Ito blue and orange, the baseline and the current window);
#  - the DOM chromium built keeps every chart of the page, and runs nothing
#    (no script element, nothing fetched);
# MLSYS_REPORT_SCREENSHOT=path copies the screenshot there (docs/report.png).
use strict;
use warnings;
use File::Copy;
use IPC::Run;
use Compress::Zlib;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $chromium = (grep { -x $_ } '/usr/bin/chromium', '/usr/bin/chromium-browser')[0];
ok(defined $chromium, 'chromium is installed (test/lib.sh installs it)') or BAIL_OUT('no chromium');

my $node = PostgreSQL::Test::Cluster->new('report');
$node->init;
$node->start;
sub sql { return $node->safe_psql('postgres', $_[0]); }

# a week in the life of a churn model: tenure drifts a little more every
# day; each day's batch is scored, labelled and checked, then moved back to
# its day
sql(q{
    CREATE EXTENSION mlsys;
    SELECT setseed(0.42);
    CREATE TABLE customers AS
    SELECT i AS id, (random() * 60)::int::float8 AS tenure, round((random() * 20)::numeric, 1)::float8 AS logins,
           (ARRAY['basic', 'pro', 'premium'])[1 + (random() * 2.4)::int] AS plan, NULL::bool AS churned
    FROM generate_series(1, 6000) i;
    UPDATE customers SET churned = random() < 1 / (1 + exp(-(1.5 - 0.05 * tenure - 0.15 * logins
                                  + CASE plan WHEN 'basic' THEN 0.6 WHEN 'premium' THEN -0.6 ELSE 0 END)));
    SELECT version FROM mlsys.train('churn', 'customers', 'churned', ARRAY['tenure', 'logins', 'plan'], 'logistic');
    UPDATE mlsys.model_versions SET created_at = now() - interval '7 days' WHERE model = 'churn';
    UPDATE mlsys.deployments SET deployed_at = now() - interval '7 days' + interval '1 hour' WHERE model = 'churn';
    CREATE TABLE today (id int, tenure float8, logins float8, plan text, churned bool);
    SELECT mlsys.configure('churn', '{"relation": "today"}');
});
for my $day (reverse 0 .. 6)
{
    my $shift = 3 * (6 - $day);
    sql(qq{
        TRUNCATE today;
        INSERT INTO today
        SELECT 100000 * $day + i, greatest(0, (random() * 60)::int - $shift)::float8, round((random() * 20)::numeric, 1)::float8,
               (ARRAY['basic', 'pro', 'premium'])[1 + (random() * (2.4 - $day * 0.1))::int], NULL
        FROM generate_series(1, 1500) i;
        UPDATE today SET churned = random() < 1 / (1 + exp(-(1.5 - 0.08 * tenure - 0.1 * logins)));
        SELECT mlsys.predict_batch('churn', 'today', 'id');
        SELECT mlsys.record_outcomes('churn', 'today', 'id', 'churned');
        UPDATE mlsys.predictions SET predicted_at = predicted_at - interval '$day days'
         WHERE model = 'churn' AND run_id = (SELECT max(run_id) FROM mlsys.prediction_runs);
        UPDATE mlsys.prediction_runs SET started_at = started_at - interval '$day days'
         WHERE run_id = (SELECT max(run_id) FROM mlsys.prediction_runs);
    });
    sql(q{SELECT count(*) FROM mlsys.check('churn')});
    sql(qq{
        UPDATE mlsys.drift_history SET checked_at = checked_at - interval '$day days'
         WHERE check_id = (SELECT max(check_id) FROM mlsys.drift_history);
        UPDATE mlsys.alerts SET created_at = created_at - interval '$day days' WHERE created_at > now() - interval '1 minute';
    });
}
sql(q{SELECT version FROM mlsys.train('churn', 'customers', 'churned', ARRAY['tenure', 'logins', 'plan'], 'logistic',
                                      deploy => 'never')});

my $html = sql(q{SELECT mlsys.report('churn', 1)});
my $dir = PostgreSQL::Test::Utils::tempdir();
my $page = "$dir/churn-report.html";
open(my $fh, '>:raw', $page) or die "could not write $page: $!";
print $fh $html;
close($fh);
my $svgs = () = $html =~ /<svg /g;
cmp_ok($svgs, '>=', 10, "the page has its charts ($svgs)");

# chromium as the test's user, with a profile of its own; --no-sandbox
# because a chroot or container has no user namespaces for its sandbox
my @chrome = ($chromium, '--headless', '--no-sandbox', '--disable-gpu', '--hide-scrollbars',
              "--user-data-dir=$dir/profile", '--window-size=1000,1800');
my $png = "$dir/report.png";
my ($out, $err) = ('', '');
my $ok = IPC::Run::run([ @chrome, "--screenshot=$png", "file://$page" ],
                       '<', \undef, '>', \$out, '2>', \$err, IPC::Run::timeout(180));
ok($ok && -s $png, 'chromium took a screenshot') or diag($err);

# decode the PNG (8-bit RGB or RGBA, non-interlaced) and count its colours
sub png_colours
{
    my ($file) = @_;
    open(my $in, '<:raw', $file) or die "could not read $file: $!";
    local $/;
    my $data = <$in>;
    close($in);
    substr($data, 0, 8) eq "\x89PNG\r\n\x1a\n" or return;
    my ($w, $h, $depth, $ctype, $interlace) = (0, 0, 0, 0, 0);
    my $idat = '';
    my $pos = 8;
    while ($pos < length($data))
    {
        my ($len, $type) = unpack('N a4', substr($data, $pos, 8));
        my $body = substr($data, $pos + 8, $len);
        ($w, $h, $depth, $ctype, undef, undef, $interlace) = unpack('N N C C C C C', $body) if $type eq 'IHDR';
        $idat .= $body if $type eq 'IDAT';
        $pos += 12 + $len;
    }
    return unless $depth == 8 && ($ctype == 2 || $ctype == 6) && !$interlace;
    my $bpp = $ctype == 6 ? 4 : 3;
    my $raw = uncompress($idat);
    return unless defined $raw && length($raw) == $h * ($w * $bpp + 1);
    my %colours;
    my @prev = (0) x ($w * $bpp);
    for my $y (0 .. $h - 1)
    {
        my $off = $y * ($w * $bpp + 1);
        my $filter = ord(substr($raw, $off, 1));
        my @cur = unpack('C*', substr($raw, $off + 1, $w * $bpp));
        for my $i (0 .. $#cur)
        {
            my $a = $i >= $bpp ? $cur[$i - $bpp] : 0;
            my $b = $prev[$i];
            my $c = $i >= $bpp ? $prev[$i - $bpp] : 0;
            if ($filter == 1) { $cur[$i] = ($cur[$i] + $a) & 255; }
            elsif ($filter == 2) { $cur[$i] = ($cur[$i] + $b) & 255; }
            elsif ($filter == 3) { $cur[$i] = ($cur[$i] + (($a + $b) >> 1)) & 255; }
            elsif ($filter == 4)
            {
                my $p = $a + $b - $c;
                my ($pa, $pb, $pc) = (abs($p - $a), abs($p - $b), abs($p - $c));
                $cur[$i] = ($cur[$i] + ($pa <= $pb && $pa <= $pc ? $a : $pb <= $pc ? $b : $c)) & 255;
            }
        }
        for (my $i = 0; $i < @cur; $i += $bpp)
        {
            $colours{sprintf('%02x%02x%02x', @cur[$i .. $i + 2])}++;
        }
        @prev = @cur;
    }
    return ($w, $h, \%colours);
}
my ($w, $h, $colours) = png_colours($png);
ok(defined $colours, 'the screenshot is an 8-bit PNG') or BAIL_OUT('cannot read the screenshot');
is("$w x $h", '1000 x 1800', 'the screenshot has the window\'s size');
my $ncolours = scalar(keys %$colours);
cmp_ok($ncolours, '>', 50, "the screenshot is not blank ($ncolours colours)");
my ($top) = sort { $colours->{$b} <=> $colours->{$a} } keys %$colours;
cmp_ok($colours->{$top} / ($w * $h), '<', 0.95, "no colour covers the page (the commonest, #$top, covers "
       . sprintf('%.0f%%', 100 * $colours->{$top} / ($w * $h)) . ')');
cmp_ok($colours->{'0072b2'} // 0, '>', 200, 'the baseline blue is drawn');
cmp_ok($colours->{'e69f00'} // 0, '>', 200, 'the current window\'s orange is drawn');
if ($ENV{MLSYS_REPORT_SCREENSHOT})
{
    copy($png, $ENV{MLSYS_REPORT_SCREENSHOT}) or diag("could not copy the screenshot: $!");
}

# the DOM chromium built from the page keeps every chart and runs nothing
($out, $err) = ('', '');
$ok = IPC::Run::run([ @chrome, '--dump-dom', "file://$page" ],
                    '<', \undef, '>', \$out, '2>', \$err, IPC::Run::timeout(180));
ok($ok && $out =~ /<\/html>/, 'chromium dumped the DOM') or diag($err);
my $dom_svgs = () = $out =~ /<svg /g;
is($dom_svgs, $svgs, 'the rendered DOM keeps every chart');
my $dom_sections = () = $out =~ /<section id="/g;
is($dom_sections, 8, 'and every section');
unlike($out, qr/<script/i, 'no script element');
unlike($out, qr/(?:src|href)=/i, 'nothing to fetch');

$node->stop;
done_testing();
