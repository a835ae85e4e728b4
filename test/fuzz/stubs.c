/*
 * stubs.c — the few backend services the blob parsers need, for running it
 * outside the server under libFuzzer (see fuzz_model.c and run.sh).
 *
 * Memory: palloc and friends are malloc'd and remembered, and freed in one go
 * by fuzz_free_all() after each input (a stand-in for a memory context
 * reset). Errors: errstart() says whether a report at that level is emitted;
 * errfinish() at ERROR or above longjmps to fuzz_error_jmp, which the harness
 * set, as elog.c's PG_TRY machinery would; lower levels are ignored.
 */
#include "postgres.h"

#include <setjmp.h>

#include "port/pg_crc32c.h"
#include "utils/memutils.h"

#include "fuzz.h"

sigjmp_buf *fuzz_error_jmp = NULL;
int			fuzz_last_sqlstate = 0;

static void **allocs = NULL;
static size_t nallocs = 0;
static size_t maxallocs = 0;

/* the memory context globals some inline functions and macros refer to */
MemoryContext CurrentMemoryContext = NULL;
MemoryContext TopMemoryContext = NULL;
MemoryContext CacheMemoryContext = NULL;
MemoryContext ErrorContext = NULL;

static void *
remember(void *p)
{
	if (p == NULL)
		abort();
	if (nallocs == maxallocs)
	{
		maxallocs = maxallocs ? 2 * maxallocs : 256;
		allocs = realloc(allocs, maxallocs * sizeof(void *));
		if (allocs == NULL)
			abort();
	}
	allocs[nallocs++] = p;
	return p;
}

/* what palloc would refuse: more than MaxAllocSize */
static void
check_size(Size size)
{
	if (!AllocSizeIsValid(size))
	{
		errstart(ERROR, NULL);
		errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED);
		errfinish(__FILE__, __LINE__, __func__);
	}
}

void *
palloc(Size size)
{
	check_size(size);
	return remember(malloc(size ? size : 1));
}

void *
palloc0(Size size)
{
	check_size(size);
	return remember(calloc(1, size ? size : 1));
}

void *
palloc_extended(Size size, int flags)
{
	check_size(size);
	return remember((flags & MCXT_ALLOC_ZERO) ? calloc(1, size ? size : 1) : malloc(size ? size : 1));
}

void *
MemoryContextAlloc(MemoryContext context, Size size)
{
	return palloc(size);
}

void *
MemoryContextAllocZero(MemoryContext context, Size size)
{
	return palloc0(size);
}

void
pfree(void *pointer)
{
	/* freed with everything else after the input */
}

void
fuzz_free_all(void)
{
	for (size_t i = 0; i < nallocs; i++)
		free(allocs[i]);
	nallocs = 0;
}

bool
errstart(int elevel, const char *domain)
{
	return elevel >= ERROR;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	if (fuzz_error_jmp == NULL)
		abort();				/* an ERROR outside a parser call */
	siglongjmp(*fuzz_error_jmp, 1);
}

int
errcode(int sqlerrcode)
{
	fuzz_last_sqlstate = sqlerrcode;
	return 0;
}

int
errmsg(const char *fmt,...)
{
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	return 0;
}

int
errdetail(const char *fmt,...)
{
	return 0;
}

int
errhint(const char *fmt,...)
{
	return 0;
}

/* PostgreSQL 16 dropped the errorType argument */
#if PG_VERSION_NUM >= 160000
void
ExceptionalCondition(const char *conditionName, const char *fileName, int lineNumber)
{
	abort();
}
#else
void
ExceptionalCondition(const char *conditionName, const char *errorType,
					 const char *fileName, int lineNumber)
{
	abort();
}
#endif

/* CRC-32C (Castagnoli), bit by bit: slow, and independent of the CPU */
static pg_crc32c
crc32c_sw(pg_crc32c crc, const void *data, size_t len)
{
	const unsigned char *p = data;

	while (len-- > 0)
	{
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
	}
	return crc;
}

pg_crc32c	(*pg_comp_crc32c) (pg_crc32c crc, const void *data, size_t len) = crc32c_sw;
