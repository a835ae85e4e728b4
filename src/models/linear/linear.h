/*
 * linear.h — the linear family (models/linear/): least squares and ridge,
 * solved from the first pass's sufficient statistics (data/linreg_solve.c)
 * and evaluated by one holdout pass (evaluate.c); the family's callbacks and
 * training flow are in linear_family.c.
 */
#ifndef MLSYS_LINEAR_H
#define MLSYS_LINEAR_H

#include "models/toolkit.h"

extern const ModelFamily linear_family;

/* evaluate.c */
extern bool regression_eval_result(Datum state, const char *target, double *metrics,
								   int64 *rows, char **prediction_json, char **target_json);

#endif							/* MLSYS_LINEAR_H */
