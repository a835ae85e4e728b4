/*
 * monitor.h — what baseline capture (baseline.c) and the drift report
 * (drift_report.c) share: a version's monitoring information, and for the
 * report the binned column, the copied model and the one-pass scan (monitor.c).
 *
 * Vocabulary:
 *   baseline   the profile of a version's training relation, captured once per
 *              version (mlsys._capture_baseline, stored in mlsys.baselines):
 *              per feature column, the model's prediction and the target;
 *   grid       the quantile sketch of a numeric column: at most MON_BINS
 *              equal-width bins [k·2^e, (k+1)·2^e), k = k0 .. k0 + nbins - 1.
 *              It is built in one pass without knowing the range in advance:
 *              the bin width starts tiny and doubles (adjacent bins merge)
 *              whenever a value would make the occupied span exceed MON_BINS
 *              bins, so the final width is at most 2·(max - min)/(MON_BINS - 2)
 *              and the sketch's size never depends on the row count;
 *   PSI bins   10 equal-frequency bins of the baseline cut at grid edges (the
 *              first grid edge where the cumulative share reaches k/10),
 *              duplicate cuts merged; a value equal to a cut falls in the upper bin;
 *   drift      one pass over a relation binning every value against the
 *              baseline's grids and category lists (no sort), then PSI, KS,
 *              Wasserstein, JS distance and L-infinity per column
 *              (mlsys.drift). It reads the rows through SPI into a
 *              DestReceiver, so no tuple is copied. A baseline is gathered
 *              by the profile aggregates (metrics/profile.c) instead, which
 *              parallel query splits.
 *
 * Categorical columns (text, varchar, char, bool, enums) are counted per
 * category by a 64-bit hash of their text; a baseline keeps the MON_TOP_N most
 * frequent categories plus "other". Arrays (float8[] feature columns) are not
 * profiled.
 */
#ifndef MLSYS_MONITOR_H
#define MLSYS_MONITOR_H

#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "utils/hsearch.h"

#include "serve/serve.h"

#define MON_FLOOR 0.0001		/* PSI: empty bin proportion floor (Evidently) */

typedef struct CatEntry
{
	uint64		key;			/* hash of the category text */
	char	   *text;
	double		count;
	int			index;			/* drift: position in the baseline's list */
} CatEntry;

/* one profiled column: a feature, the prediction or the target */
typedef struct MonColumn
{
	char	   *name;
	bool		categorical;
	double		nulls;
	double		n;				/* non-null values */
	/* numeric */
	int			e;				/* bin width 2^e */
	int64		k0;				/* first bin index */
	int			nbins;
	double	   *counts;			/* MON_BINS (capture) or nbins (drift) */
	double	   *ref;			/* drift: the baseline's counts */
	double		ref_n,
				ref_nulls;
	double		under,
				over,
				under_sum,
				over_sum;		/* drift: current values outside the grid */
	/* categorical */
	MemoryContext cxt;			/* where the category texts live */
	HTAB	   *cats;
	int			ncats;			/* drift: baseline categories */
	double	   *cat_counts;		/* drift: ncats + 1 (other) */
	double	   *cat_ref;
} MonColumn;

/*
 * A linear or binary logistic model copied out of the model cache, with where
 * each of its source columns sits in the scan: the receiver computes the
 * prediction column itself instead of calling mlsys.predict per row.
 */
typedef struct MonModel
{
	ModelKind	kind;
	int			nfeat;
	double		intercept;
	double	   *coef;
	double	   *center;
	double	   *inv_scale;
	int			ncolumns;
	int		   *slot;			/* scan column of each source column */
	int		   *length;			/* 0: scalar; n: float8[] of n elements */
	double	   *x;				/* nfeat values: the row being scored */
} MonModel;

/*
 * What a model version's monitoring needs: its columns and how its
 * prediction is computed (SPI connected).
 */
typedef struct VersionInfo
{
	char	   *relation;
	Oid			relid;
	char	   *target;
	char	   *task;
	int			ncolumns;
	char	  **columns;
	int		   *lengths;
	char	   *pred_sql;		/* NULL: no prediction row */
	bool		pred_categorical;
	int			positive;		/* binary: the positive class's position in classes (1-based) */
} VersionInfo;

/* monitor.c */
extern HTAB *mon_new_cat_table(const char *name);
extern int64 mon_scan(const char *sql, MonColumn *cols, int ncols, MonModel *model,
					 int pred_col);
extern char *mon_column_expr(const MonColumn *c);
extern char *mon_spi_text(int row, int col);
extern void mon_load_version(const char *model, int32 version, VersionInfo *v);
extern Oid	mon_column_type(Oid relid, const char *column);
extern MonModel *mon_copy_model(const char *model, int32 version, const VersionInfo *v,
								const MonColumn *cols, int nprof, int hidden_start,
								StringInfo extra_sql);

#endif
