# moonlab: a machine-learning runtime in C, driven by Lua 5.4.
#   make            build/moonlab (the command) and build/moonlab.so (Lua C module)
#   make test       every C and Lua test; ends with "N passed, M failed"
#   make demo       the main job
#   make check-memory   the tests under AddressSanitizer + LeakSanitizer
#   make bench      the benchmarks (installs python3-torch for the side-by-side runs)
#   make install    PREFIX/bin/moonlab, PREFIX/lib/moonlab/moonlab.so, PREFIX/share/moonlab/lualib
#                   (PREFIX=/usr/local; DESTDIR for staging); make uninstall removes them
# Switches:
DEBUG ?= 0
ASAN  ?= 0

CC      ?= gcc
BUILD   ?= build
# OpenBLAS's OpenMP variant: it shares libgomp's thread pool with our own
# OpenMP loops, and runs single-threaded when called inside a parallel
# region, so the two never oversubscribe the cores. Linked by full path so
# Debian's libblas alternatives cannot swap the variant under us.
BLAS_DIR = /usr/lib/x86_64-linux-gnu/openblas-openmp
BLAS_INC = /usr/include/x86_64-linux-gnu/openblas-openmp
LUA_INC  = /usr/include/lua5.4

# -fwrapv: int64 overflow wraps (as in PyTorch) instead of being undefined
CFLAGS  = -std=gnu11 -fPIC -fopenmp -Wall -Wextra -Wno-unused-parameter -Wno-sign-compare \
          -fwrapv -I$(LUA_INC) -I$(BLAS_INC) -I/usr/include/cairo -MMD -MP
ifeq ($(DEBUG),1)
  CFLAGS += -O0 -g
else
  CFLAGS += -O3 -g -fno-math-errno -fno-trapping-math
endif
ifeq ($(ASAN),1)
  CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer
  LDFLAGS += -fsanitize=address,undefined
  BUILD   := build-asan
endif
LDFLAGS += -fopenmp -Wl,-rpath,$(BLAS_DIR)
BLAS_LIBS = -L$(BLAS_DIR) -lopenblas
# oneDNN (float32 products where it is faster, JIT for the CPU at hand; its
# OpenMP runtime is the same libgomp pool) and SLEEF (vectorized exp/log/tanh/erf).
# libmicrohttpd (HTTP for the model server and the dashboard; TLS through its GnuTLS),
# cairo (plots as PNG and SVG).
LIBS      = $(BLAS_LIBS) -ldnnl -lsleef -lpng -lmicrohttpd -lcairo -lz -lm -ldl -lpthread

# Every .c under runtime/ but the command's own two: a new folder needs no edit here.
RUNTIME_SRC = $(sort $(shell find runtime -name '*.c' ! -path runtime/main.c ! -path runtime/repl.c))
RUNTIME_OBJ = $(RUNTIME_SRC:%.c=$(BUILD)/%.o)
MAIN_OBJ    = $(BUILD)/runtime/main.o $(BUILD)/runtime/repl.o
C_TESTS     = $(patsubst tests/c/%.c,$(BUILD)/tests/%,$(wildcard tests/c/test_*.c))

# Debian packages the build, tests and demo need (make deps installs the missing ones).
DEPS_PKGS = liblua5.4-dev lua5.4 libopenblas-openmp-dev libdnnl-dev libsleef-dev lua-filesystem \
            libreadline-dev zlib1g-dev dataset-fashion-mnist python3-sklearn fortunes libpng-dev \
            libmicrohttpd-dev libcairo2-dev chromium python3-protobuf protobuf-compiler curl
BENCH_PKGS = python3-torch python3-numpy python3-pandas python3-sklearn python3-imblearn hyperfine python3-xgboost python3-optuna wrk python3-flask

.PHONY: all deps bench-deps test demo check-memory bench clean install uninstall vendor
all: $(BUILD)/moonlab $(BUILD)/moonlab.so

deps:
	@missing=""; for p in $(DEPS_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

bench-deps: deps
	@missing=""; for p in $(BENCH_PKGS); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/moonlab: $(RUNTIME_OBJ) $(MAIN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ -llua5.4 -lreadline $(LIBS)

# The Lua C module: Lua's own symbols come from the host interpreter.
$(BUILD)/moonlab.so: $(RUNTIME_OBJ)
	$(CC) $(LDFLAGS) -shared -o $@ $^ $(LIBS)

$(BUILD)/tests/%: tests/c/%.c $(RUNTIME_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(filter-out $(BUILD)/runtime/lua/%,$(RUNTIME_OBJ)) $(LIBS)

test: deps all $(C_TESTS)
	@rm -rf $(BUILD)/test-runs # run records the tests' recipes leave (ml.track), kept out of ./runs
	@MOONLAB_RUNS=$(CURDIR)/$(BUILD)/test-runs OMP_NUM_THREADS=1 ./$(BUILD)/moonlab tests/run.lua $(C_TESTS)

check-memory: deps
	$(MAKE) ASAN=1 all $(patsubst build/%,build-asan/%,$(C_TESTS))
	MOONLAB_RUNS=$(CURDIR)/build-asan/test-runs ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:allocator_may_return_null=1 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  OMP_NUM_THREADS=1 ./build-asan/moonlab tests/run.lua --memory $(patsubst build/%,build-asan/%,$(C_TESTS))

demo: deps all
	./$(BUILD)/moonlab examples/fashion_mlp.lua

bench: bench-deps all
	@for b in scripts/bench/*.sh; do echo "== $$b"; bash $$b; done

clean:
	rm -rf build build-asan

# The dashboard's front-end library (uPlot) from npm into lualib/moonlab/board/static/vendor/
# (committed: the build and the board need no network; this refreshes it).
vendor:
	sh scripts/vendor_frontend.sh

# The command finds share/moonlab/lualib from its own real location
# (/proc/self/exe), the module from its own (dladdr): the tree can move as one.
# lib/lua/5.4/moonlab.so links the module where lua5.4's require looks.
PREFIX  ?= /usr/local
DESTDIR ?=
INSTALL_BIN = $(DESTDIR)$(PREFIX)/bin
INSTALL_LIB = $(DESTDIR)$(PREFIX)/lib/moonlab
INSTALL_LUA = $(DESTDIR)$(PREFIX)/share/moonlab/lualib
install: all
	install -d $(INSTALL_BIN) $(INSTALL_LIB) $(DESTDIR)$(PREFIX)/lib/lua/5.4 $(dir $(INSTALL_LUA))
	install -m 755 $(BUILD)/moonlab $(INSTALL_BIN)/moonlab
	install -m 755 $(BUILD)/moonlab.so $(INSTALL_LIB)/moonlab.so
	ln -sf ../../moonlab/moonlab.so $(DESTDIR)$(PREFIX)/lib/lua/5.4/moonlab.so
	rm -rf $(INSTALL_LUA)
	cp -R lualib $(INSTALL_LUA)
	chmod -R a+rX $(INSTALL_LUA)

uninstall:
	rm -rf $(INSTALL_BIN)/moonlab $(INSTALL_LIB) $(DESTDIR)$(PREFIX)/lib/lua/5.4/moonlab.so $(dir $(INSTALL_LUA))

-include $(RUNTIME_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(C_TESTS:=.d)
