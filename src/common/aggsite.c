/*
 * aggsite.c — what a transition function keeps from one row to the next:
 * the states it has checked, and a call cache of its own.
 *
 * An aggregate site is one aggregate (its Aggref) of one Agg node, in one
 * aggregate context. PostgreSQL calls a transition function through the same
 * FmgrInfo on every row, so fn_extra would do; Citus's worker_partial_agg
 * calls the inner transition function through a fresh FmgrInfo on every row,
 * so fn_extra is always empty there, and a state would be checked on every
 * row (a sample-carrying state's check reads the whole sample). The sites are
 * therefore found by their aggregate context and Aggref, which both stay put
 * under Citus too.
 *
 * A site lives in its aggregate context and dies with it: a reset callback
 * unlinks it when the context is reset or deleted, so no remembered address
 * outlives the memory it points to. Only states that already live in the
 * aggregate context are remembered (a transition function's own argument 0,
 * returned updated in place); a state that a call replaces is forgotten
 * before the executor frees it. A state that arrives from outside (an
 * INITCOND copy, or a state deserialized for a combine function) is therefore
 * never known, and is checked in full once. Sites are used only under a plain
 * Agg node: a window aggregate's moving-aggregate inverse function may hand
 * the transition function a state that no mlsys function made.
 */
#include "postgres.h"

#include "fmgr.h"
#include "nodes/execnodes.h"
#include "nodes/primnodes.h"
#include "utils/memutils.h"

#include "common/common.h"

/*
 * More than one state per site, because a hash aggregate (rows grouped by
 * fold, say) interleaves its groups' states row by row; with one, every
 * switch of group meant a full check again.
 */
#define KNOWN_STATES 16

typedef struct AggSite
{
	struct AggSite *next;		/* the backend's list */
	MemoryContext cxt;			/* the aggregate context it lives in */
	const Aggref *aggref;		/* the aggregate it serves */
	Oid			fn_oid;			/* the transition function */
	void	   *extra;			/* the function's call cache */
	int			next_slot;		/* the slot the next new state takes */
	const void *states[KNOWN_STATES];
	MemoryContextCallback cb;
} AggSite;

/* the live sites of this backend, most recently used first */
static AggSite *agg_sites = NULL;

/* reset callback: the site's context (and the site) goes away */
static void
agg_site_unlink(void *arg)
{
	AggSite   **p;

	for (p = &agg_sites; *p != NULL; p = &(*p)->next)
		if (*p == (AggSite *) arg)
		{
			*p = (*p)->next;
			return;
		}
}

/* the site of this call, created when asked; NULL outside a plain Agg node */
static AggSite *
agg_site(FunctionCallInfo fcinfo, bool create)
{
	MemoryContext cxt;
	const Aggref *aggref;
	AggSite   **p,
			   *s;

	if (fcinfo->context == NULL || !IsA(fcinfo->context, AggState) ||
		!AggCheckCallContext(fcinfo, &cxt))
		return NULL;
	aggref = AggGetAggref(fcinfo);
	if (aggref == NULL)
		return NULL;
	for (p = &agg_sites; (s = *p) != NULL; p = &s->next)
		if (s->cxt == cxt && s->aggref == aggref && s->fn_oid == fcinfo->flinfo->fn_oid)
		{
			if (p != &agg_sites)
			{
				*p = s->next;
				s->next = agg_sites;
				agg_sites = s;
			}
			return s;
		}
	if (!create)
		return NULL;
	s = MemoryContextAllocZero(cxt, sizeof(AggSite));
	s->cxt = cxt;
	s->aggref = aggref;
	s->fn_oid = fcinfo->flinfo->fn_oid;
	s->cb.func = agg_site_unlink;
	s->cb.arg = s;
	MemoryContextRegisterResetCallback(cxt, &s->cb);
	s->next = agg_sites;
	agg_sites = s;
	return s;
}

/*
 * Is this row's state (argument 0) one this aggregate remembered? A
 * transition function may then skip mlsys_agg_context and its state check.
 */
bool
mlsys_state_is_known(FunctionCallInfo fcinfo)
{
	AggSite    *s;
	const void *state;
	int			i;

	if (PG_ARGISNULL(0) || (s = agg_site(fcinfo, false)) == NULL)
		return false;
	state = PG_GETARG_POINTER(0);
	for (i = 0; i < KNOWN_STATES; i++)
		if (s->states[i] == state)
			return true;
	return false;
}

/*
 * Remember the checked state a transition function returns. Only argument 0
 * updated in place is remembered (it is already in the aggregate context);
 * when the call returns another state, the executor frees argument 0, so it
 * is forgotten instead.
 */
void
mlsys_state_remember(FunctionCallInfo fcinfo, void *state)
{
	AggSite    *s;
	int			i;

	if (PG_ARGISNULL(0) || PG_GETARG_POINTER(0) != state)
	{
		if (!PG_ARGISNULL(0))
			mlsys_state_forget(fcinfo, PG_GETARG_POINTER(0));
		return;
	}
	if ((s = agg_site(fcinfo, true)) == NULL)
		return;
	for (i = 0; i < KNOWN_STATES; i++)
		if (s->states[i] == state)
			return;
	s->states[s->next_slot] = state;
	s->next_slot = (s->next_slot + 1) % KNOWN_STATES;
}

/* forget a state (one the call is about to replace) */
void
mlsys_state_forget(FunctionCallInfo fcinfo, const void *state)
{
	AggSite    *s = agg_site(fcinfo, false);
	int			i;

	if (s == NULL)
		return;
	for (i = 0; i < KNOWN_STATES; i++)
		if (s->states[i] == state)
			s->states[i] = NULL;
}

/*
 * The slot of a transition function's call cache, and the context to
 * allocate it in: the site's under an Agg node (it lasts as long as the
 * aggregate context), else fn_extra and fn_mcxt.
 */
void	  **
mlsys_call_cache(FunctionCallInfo fcinfo, MemoryContext *mcxt)
{
	AggSite    *s = agg_site(fcinfo, true);

	if (s == NULL)
	{
		*mcxt = fcinfo->flinfo->fn_mcxt;
		return &fcinfo->flinfo->fn_extra;
	}
	*mcxt = s->cxt;
	return &s->extra;
}
