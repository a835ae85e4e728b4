/*
 * fuzz.h — what the stubs (stubs.c) share with the harness (fuzz_model.c).
 */
#ifndef MLSYS_FUZZ_H
#define MLSYS_FUZZ_H

#include <setjmp.h>

extern sigjmp_buf *fuzz_error_jmp;
extern int	fuzz_last_sqlstate;
extern void fuzz_free_all(void);

#endif
