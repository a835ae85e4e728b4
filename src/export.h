/*
 * export.h — the model document shared by mlsys.export_model() (export.c)
 * and mlsys.import_model() (import.c).
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
#ifndef MLSYS_EXPORT_H
#define MLSYS_EXPORT_H

#define EXPORT_FORMAT "mlsys-model"
#define EXPORT_FORMAT_VERSION 1

#endif
