/*
 * train.h — the training driver (train/): mlsys.train and
 * mlsys.cross_validate read their arguments, pick the family, let it run its
 * passes, then register the version (train.c, cv.c); mlsys.train_recommender
 * reads the interactions and fits an ALS model (train_recommender.c).
 */
#ifndef MLSYS_TRAIN_H
#define MLSYS_TRAIN_H

#include "registry/registry.h"

extern void mlsys_training_source_args(FunctionCallInfo fcinfo, TrainArgs *a, int first);
extern void mlsys_resolve_algorithm(TrainArgs *a);
extern void mlsys_register_version(TrainArgs *a, TrainResult *r);
/* explain_sample.c: the version's sample for mlsys.feature_importance */
extern void mlsys_store_explain_sample(const TrainArgs *a, const TrainResult *r);
extern void mlsys_finish_training(FunctionCallInfo fcinfo, TrainArgs *a, TrainResult *r,
								  MemoryContext caller);

#endif							/* MLSYS_TRAIN_H */
