/*
 * linear.h — the linear family (models/linear/): least squares and ridge,
 * solved from the first pass's sufficient statistics (data/linreg_solve.c)
 * and evaluated by one holdout pass (evaluate.c); the family's callbacks and
 * training flow are in linear_family.c.
 */
#ifndef MLSYS_LINEAR_H
#define MLSYS_LINEAR_H

#include "models/family.h"

extern const ModelFamily linear_family;

#endif							/* MLSYS_LINEAR_H */
