/*
 * registry.h — the registry (registry/): the table of model families
 * (families.c), and the model document shared by mlsys.export_model()
 * (export.c) and mlsys.import_model() (import.c).
 *
 * Vocabulary:
 *   model document  a jsonb object (format "mlsys-model", format_version 1)
 *                   holding everything needed to score a version — the
 *                   algorithm, task, spec (relation, target, feature columns
 *                   and lengths, expanded feature names, hyperparameters,
 *                   test_size, seed), preprocessing, classes, the
 *                   parameters as named JSON numbers — and what describes it
 *                   (metrics, profile, row counts, data fingerprint, the
 *                   extension and server versions it was trained with).
 */
#ifndef MLSYS_REGISTRY_H
#define MLSYS_REGISTRY_H

#include "models/family.h"

#define EXPORT_FORMAT "mlsys-model"
#define EXPORT_FORMAT_VERSION 1

/* families.c: every model family, and which one answers to a name or a blob */
extern const ModelFamily *const mlsys_families[];
extern const ModelFamily *mlsys_family_by_algorithm(const char *algorithm);
extern const ModelFamily *mlsys_family_by_kind(ModelKind kind);
extern const char *mlsys_algorithm_list(void);
extern const char *mlsys_algorithm_names(void);

#endif							/* MLSYS_REGISTRY_H */
