/*
 * security.c — the two facts the security model (src/sql/90_security.sql)
 * needs from the backend and SQL cannot state.
 *
 * The registry is written only through a few SECURITY DEFINER functions. Inside
 * them current_user is the extension's owner, so they need to know (1) who is
 * acting at the outer level — the role of SET ROLE or the session user, which
 * a SECURITY DEFINER call does not change — to record it in created_by and
 * deployed_by, and (2) whether a registry row was written by the current
 * transaction (a version that training has just registered), which is what
 * lets a trainer deploy or complete that version and no other.
 *
 * It also pins search_path around the registry queries that C code runs
 * through SPI with the caller's search_path (mlsys_pin_search_path), and
 * asks the SQL side whether the current user may use a private model
 * (mlsys_check_model_access), so the rule and its message live in one place.
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "common/common.h"

/* mlsys._outer_user() → name: the role acting outside any SECURITY DEFINER function */
PG_FUNCTION_INFO_V1(outer_user);
Datum
outer_user(PG_FUNCTION_ARGS)
{
	const char *user = GetUserNameFromId(GetOuterUserId(), false);

	PG_RETURN_DATUM(DirectFunctionCall1(namein, CStringGetDatum(user)));
}

/*
 * mlsys._xid_is_current(xid) → bool: whether the transaction id belongs to the
 * current transaction or one of its (sub)transactions, e.g. a row's xmin
 */
PG_FUNCTION_INFO_V1(xid_is_current);
Datum
xid_is_current(PG_FUNCTION_ARGS)
{
	TransactionId xid = DatumGetTransactionId(PG_GETARG_DATUM(0));

	PG_RETURN_BOOL(TransactionIdIsValid(xid) && TransactionIdIsCurrentTransactionId(xid));
}

/*
 * Pin search_path to pg_catalog, pg_temp for the SPI queries that follow, as
 * a function's SET clause would: an operator or function that the caller's
 * search_path puts before pg_catalog (a trap such as public.= on text) cannot
 * take over the registry queries. Returns the GUC nest level to pass to
 * mlsys_unpin_search_path; an error unwinds it with the (sub)transaction.
 */
int
mlsys_pin_search_path(void)
{
	int			nestlevel = NewGUCNestLevel();

	(void) set_config_option("search_path", "pg_catalog, pg_temp",
							 PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	return nestlevel;
}

/* restore the search_path that mlsys_pin_search_path replaced */
void
mlsys_unpin_search_path(int nestlevel)
{
	AtEOXact_GUC(true, nestlevel);
}

/*
 * Raise insufficient_privilege when the model is private and the current
 * user may not score it (mlsys._check_model_access). SPI must be connected
 * and search_path pinned.
 */
void
mlsys_check_model_access(Datum name_text)
{
	Oid			argtypes[1] = {TEXTOID};

	if (SPI_execute_with_args("SELECT mlsys._check_model_access($1)",
							  1, argtypes, &name_text, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not check the privileges on a model");
}
