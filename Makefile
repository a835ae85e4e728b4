# mlsys — PGXS build.
#
# `make demo` and `make test` work on a fresh Debian 12 machine as root: they run
# test/setup.sh first, which installs the Debian packages this build needs (so
# this file must not require pg_config before that has happened).

# The source tree: this file's folder. Debian's pg_buildext builds out of tree
# (make -f SRC/Makefile VPATH=SRC in a build folder per PostgreSQL version), where
# a bare $(wildcard src/...) would match nothing; srcdir itself is only set by PGXS.
mlsys_srcdir := $(dir $(lastword $(MAKEFILE_LIST)))
# $(call mlsys_files,PATTERN): the source files matching PATTERN, named relative
# to the source tree (VPATH finds them; PGXS's DATA etc. want them so)
mlsys_files = $(patsubst $(mlsys_srcdir)%,%,$(sort $(wildcard $(addprefix $(mlsys_srcdir),$(1)))))

EXTENSION  = mlsys
EXTVERSION = 0.2

MODULE_big = mlsys
# src/ is in layers, one folder each (docs/architecture.md); every .c file of
# them is an object, except the BLAS module's (src/blas/, built on its own)
SRC_DIRS = common data metrics models models/linear models/logistic models/trees models/als \
	registry train serve monitor
OBJS = $(patsubst %.c,%.o,$(call mlsys_files,$(foreach d,$(SRC_DIRS),src/$(d)/*.c)))

# the current install script is built from src/; earlier versions' install
# scripts and the upgrade scripts are kept as they are (docs/operations.md)
DATA_built = $(EXTENSION)--$(EXTVERSION).sql
DATA = $(call mlsys_files,src/upgrade/$(EXTENSION)--*.sql)
EXTRA_CLEAN = $(EXTENSION)--$(EXTVERSION).sql

REGRESS = $(patsubst sql/%.sql,%,$(call mlsys_files,sql/*.sql))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

TAP_TESTS = 1
PROVE_TESTS = $(call mlsys_files,test/t/*.pl)

# OpenBLAS inside a backend must never start threads. Debian's default
# (pthread) OpenBLAS starts its thread pool as soon as the library is loaded,
# so the module maps the serial build by its explicit path (dlopen, see
# src/blas/mlsys_blas.c), never the alternatives symlink in the default path
# (which may point at the pthread build). LAPACK (dpotrf & co.) comes from the
# same library; we use liblapacke-dev's lapack.h prototypes but do not link
# liblapacke.so, whose liblapack.so.3 dependency also goes through alternatives.
# Debian installs them under the multiarch triplet, which the compiler names.
MULTIARCH := $(shell $(or $(CC),cc) -print-multiarch 2>/dev/null)
OPENBLAS_DIR ?= /usr/lib/$(MULTIARCH)/openblas-serial
OPENBLAS_INC ?= /usr/include/$(MULTIARCH)/openblas-serial

# PostgreSQL's headers are included as system headers, so -Wextra judges our code only
PG_CPPFLAGS = -I$(OPENBLAS_INC) -I$(srcdir)/src -isystem $(includedir_server)
PG_CFLAGS   = -Wall -Wextra -Werror -Wno-unused-parameter
SHLIB_LINK  = -lm

# OpenBLAS lives behind a module of its own, mlsys_blas, which mlsys.so loads on
# a process's first BLAS call (src/blas_load.c) and which maps OpenBLAS on its
# own first call: mapping it costs a process 2-3 ms, which parallel workers of
# passes without BLAS save.
BLAS_MODULE = mlsys_blas$(DLSUFFIX)
EXTRA_CLEAN += $(BLAS_MODULE) src/blas/mlsys_blas.o

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs 2>/dev/null)

# The two commands of the README. They come first so that `make` alone builds.
.DEFAULT_GOAL := all

.PHONY: demo test bench setup valgrind fuzz deb test-debian13 test-sid
setup:
	bash test/setup.sh
demo:
	bash test/demo.sh
test:
	bash test/run_tests.sh
# the same suite in a fresh Debian 13 (PostgreSQL 17) or sid (PostgreSQL 18)
# system made with debootstrap (test/chroot.sh; CI runs both after make test)
test-debian13:
	bash test/chroot.sh trixie
test-sid:
	bash test/chroot.sh sid
bench:
	bash test/bench_all.sh
valgrind:
	bash test/valgrind.sh
# libFuzzer on the model blob parsers (test/fuzz/run.sh); FUZZ_SECONDS=60 by default
fuzz:
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),60) bash test/fuzz/run.sh
# Debian packages postgresql-N-mlsys for the installed PostgreSQL versions, in build/deb/
deb:
	bash test/deb.sh

# the install script: the registry and core objects first, then one file per
# capability (src/sql/*.sql, in name order)
$(EXTENSION)--$(EXTVERSION).sql: src/mlsys.sql $(call mlsys_files,src/sql/*.sql)
	cat $^ > $@

ifneq ($(wildcard $(PGXS)),)
include $(PGXS)
else
all install installcheck:
	@echo "PostgreSQL's PGXS is not installed: run 'make test' or 'make demo' (as root) to install the Debian packages first" >&2; exit 1
endif

# the per-row and per-block loops of the training aggregates are worth vectorizing
# (PostgreSQL builds its page checksums the same way)
src/data/linreg_stats.o src/data/split.o src/models/linear/evaluate.o: CFLAGS += -ftree-vectorize

# every object depends on every header of src/ (PGXS does not track headers)
$(OBJS): $(call mlsys_files,$(foreach d,$(SRC_DIRS),src/$(d)/*.h)) src/blas/mlsys_blas.h

# out of tree, the objects' folders are made in the build folder (named
# absolutely, or VPATH would find the source tree's own)
mlsys_objdirs = $(patsubst %/,%,$(addprefix $(CURDIR)/,$(sort $(dir $(OBJS) src/blas/))))
$(OBJS) $(OBJS:.o=.bc) src/blas/mlsys_blas.o: | $(mlsys_objdirs)
$(mlsys_objdirs):
	$(MKDIR_P) $@

# the BLAS module: built, installed and removed with the extension
src/blas/mlsys_blas.o: src/blas/mlsys_blas.h
src/blas/mlsys_blas.o: CPPFLAGS += -DMLSYS_OPENBLAS_LIBRARY='"$(OPENBLAS_DIR)/libopenblas.so.0"'
$(BLAS_MODULE): src/blas/mlsys_blas.o
	$(CC) $(CFLAGS) $< $(LDFLAGS) $(LDFLAGS_SL) -shared -o $@
all: $(BLAS_MODULE)
install: install-blas-module
.PHONY: install-blas-module uninstall-blas-module
install-blas-module: $(BLAS_MODULE)
	$(INSTALL_SHLIB) $(BLAS_MODULE) '$(DESTDIR)$(pkglibdir)/$(BLAS_MODULE)'
uninstall: uninstall-blas-module
uninstall-blas-module:
	rm -f '$(DESTDIR)$(pkglibdir)/$(BLAS_MODULE)'
