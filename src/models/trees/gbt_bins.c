/*
 * gbt_bins.c — each feature's cut points, chosen from the sample pass's rows
 * (gbt_pass.c). A row's bin is the number of cut points at or below its
 * value, so a split "bins 0 .. b go left" is the threshold x < cut[b], which
 * scoring applies to raw values with the same outcome. A feature with at
 * most max_bins distinct sampled values gets those values as cut points
 * (bar the smallest): every value has a bin of its own. Otherwise the cut
 * points are the sample's quantiles k / max_bins, duplicates dropped. Missing
 * values (NaN) have no bin: they take a split's learned default direction.
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"

#include "models/trees/trees.h"

static int
double_cmp(const void *a, const void *b)
{
	double		x = *(const double *) a,
				y = *(const double *) b;

	return x < y ? -1 : x > y;
}

/*
 * cuts[j · (GBT_MAX_BINS − 1) ..] gets feature j's ncuts[j] increasing cut
 * points, from n sample rows of p values
 */
void
gbt_cut_points(const double *rows, int n, int p, int max_bins, double *cuts, int *ncuts)
{
	double	   *v = palloc(sizeof(double) * Max(n, 1));
	int			j;

	for (j = 0; j < p; j++)
	{
		double	   *out = cuts + (Size) j * (GBT_MAX_BINS - 1);
		int			m = 0,
					distinct = 0,
					i,
					k;

		CHECK_FOR_INTERRUPTS();
		for (i = 0; i < n; i++)
		{
			double		x = rows[(Size) i * p + j];

			if (!isnan(x))
				v[m++] = x;
		}
		ncuts[j] = 0;
		if (m == 0)
			continue;
		qsort(v, m, sizeof(double), double_cmp);
		for (i = 0; i < m; i++)
			if (i == 0 || v[i] != v[i - 1])
				distinct++;
		if (distinct <= max_bins)
		{
			for (i = 1; i < m; i++)
				if (v[i] != v[i - 1])
					out[ncuts[j]++] = v[i];
			continue;
		}
		for (k = 1; k < max_bins; k++)
		{
			double		c = v[(Size) k * m / max_bins];

			if (c > v[0] && (ncuts[j] == 0 || c > out[ncuts[j] - 1]))
				out[ncuts[j]++] = c;
		}
	}
	pfree(v);
}
