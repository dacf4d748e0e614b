# ngx_skip: skip-aware caching for nginx.
#
#   make            install missing Debian packages, build skipctl and the module
#   make test       the whole suite through prove (unit TAP programs + Perl .t)
#   make SANITIZE=1 test   the same, built with AddressSanitizer + UBSan
#   make demo       the main job end to end (see README.md)
#   make bench      benchmarks in bench/ (figures for the README)
#
# Everything is built under build/ (build-asan/ with SANITIZE=1); nothing is
# installed outside the tree.

SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD    := build-asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
            -fno-sanitize-recover=undefined
else
BUILD    := build
SANFLAGS :=
endif

CC      ?= cc
OPT     ?= -O2
CFLAGS  := $(OPT) -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
           -D_GNU_SOURCE $(SANFLAGS) $(EXTRA_CFLAGS)
LDFLAGS := $(SANFLAGS)
LDLIBS  := -lhiredis -llinear -lcjson -lm

# src/ is one folder per component (docs/CONTRIBUTING.md, "Layout").
# src/core and src/nginx are the module (built only by nginx's own build, see
# ./config; core is plain C and also goes into libskip.a); src/cli is
# skipctl's command layer; src/fuzz the libFuzzer targets (t/lib/SkipFuzz.pm).
# Every other folder is plain-C tooling in libskip.a, linked into skipctl and
# every unit test.  Sources include each other relative to their own folder
# ("x.h", "../core/x.h"), so no include path is set.
LIB_SRCS  := $(filter-out src/nginx/% src/cli/% src/fuzz/%, \
               $(wildcard src/*/*.c))
CLI_SRCS  := $(wildcard src/cli/*.c)
LIB_OBJS  := $(LIB_SRCS:src/%.c=$(BUILD)/obj/%.o)
CLI_OBJS  := $(CLI_SRCS:src/%.c=$(BUILD)/obj/%.o)
HEADERS   := $(wildcard src/*/*.h)

UNIT_SRCS := $(wildcard t/unit/*.c)
UNIT_BINS := $(UNIT_SRCS:t/unit/%.c=$(BUILD)/t/%)

SKIPCTL   := $(BUILD)/skipctl
MODULE    := $(BUILD)/ngx_skip_module.so

.PHONY: all deps test unit demo bench fuzz clean distclean
all: deps $(SKIPCTL) $(MODULE) $(UNIT_BINS)

# A stamp keeps `make` from asking dpkg on every run; delete it (or run
# `make deps`) after removing packages by hand.
deps: $(BUILD)/.deps
$(BUILD)/.deps: scripts/deps.sh
	@mkdir -p $(BUILD)
	sh scripts/deps.sh
	@touch $@

$(BUILD)/obj/%.o: src/%.c $(HEADERS) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(BUILD)/libskip.a: $(LIB_OBJS)
	rm -f $@
	ar rcs $@ $^

$(SKIPCTL): $(CLI_OBJS) $(BUILD)/libskip.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libskip.a $(LDLIBS)

$(BUILD)/t/%: t/unit/%.c t/unit/tap.h $(BUILD)/libskip.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -iquote t/unit -iquote src -o $@ $< $(BUILD)/libskip.a $(LDLIBS)

# The module is built out of tree exactly as Debian builds its own dynamic
# modules: a writable copy of /usr/share/nginx/src, configured with the
# distribution's conf_flags so that the .so is binary compatible with
# /usr/sbin/nginx (nginx refuses anything else).
NGX_SRC   := $(BUILD)/nginx-src
NGX_BLD   := $(CURDIR)/$(BUILD)/nginx
NGX_CC    := $(shell dpkg-buildflags --get CFLAGS 2>/dev/null) -fPIC \
             $(shell dpkg-buildflags --get CPPFLAGS 2>/dev/null) $(SANFLAGS)
NGX_LD    := $(shell dpkg-buildflags --get LDFLAGS 2>/dev/null) -fPIC $(SANFLAGS)
MOD_SRCS  := ngx_skip_module.c $(wildcard src/core/* src/nginx/*)

# configure lists src/core/*.c and src/nginx/*.c (see ./config): adding or
# removing one needs a rerun, editing one does not.  The list file changes
# only then.
NGX_LIST  := $(BUILD)/nginx-srcs.list
NGX_SKIPS := $(sort $(wildcard src/core/*.c src/nginx/*.c))
$(shell mkdir -p $(BUILD); echo '$(NGX_SKIPS)' | cmp -s - $(NGX_LIST) \
          || echo '$(NGX_SKIPS)' > $(NGX_LIST))

$(NGX_BLD)/Makefile: config $(NGX_LIST) | $(BUILD)/.deps
	rm -rf $(NGX_SRC) $(NGX_BLD)
	mkdir -p $(BUILD)
	cp -r /usr/share/nginx/src $(NGX_SRC)
	cd $(NGX_SRC) && bash -c '. ./conf_flags && ./configure \
	    --with-cc-opt="$(NGX_CC)" --with-ld-opt="$(NGX_LD)" \
	    "$${NGX_CONF_FLAGS[@]}" --add-dynamic-module="$(CURDIR)" \
	    --builddir="$(NGX_BLD)"' > $(CURDIR)/$(BUILD)/nginx-configure.log 2>&1 \
	  || { tail -20 $(CURDIR)/$(BUILD)/nginx-configure.log; exit 1; }

$(MODULE): $(NGX_BLD)/Makefile $(MOD_SRCS)
	$(MAKE) -s -f $(NGX_BLD)/Makefile -C $(NGX_SRC) modules
	@# a new inode, not an overwrite: nginx processes running the old .so
	@# (a bench, a demo left running) keep their mapping intact
	cp $(NGX_BLD)/ngx_http_skip_module.so $@.tmp && mv -f $@.tmp $@

# prove runs the unit programs (they print TAP) and the Perl tests alike.
# t/lib/SkipTest.pm reads SKIP_BUILD to find the binaries under test.
PROVE_ARGS ?=
test: all
	SKIP_BUILD=$(CURDIR)/$(BUILD) SKIP_SANITIZE=$(SANITIZE) \
	  prove -I t/lib $(PROVE_ARGS) $(UNIT_BINS) t/*.t

unit: all
	prove $(UNIT_BINS)

# The libFuzzer targets (src/fuzz/*.c) alone: each test builds its target
# with clang into $(BUILD)/fuzz and runs it on its seeds, then fuzzes for
# SKIP_FUZZ_SECONDS (`make fuzz SKIP_FUZZ_SECONDS=600` for a longer run).
fuzz: deps
	SKIP_BUILD=$(CURDIR)/$(BUILD) prove -I t/lib $(PROVE_ARGS) \
	  t/30-fuzz-reader.t t/32-fuzz-records.t t/33-fuzz-cmcd.t

demo: all
	SKIP_BUILD=$(CURDIR)/$(BUILD) sh scripts/demo.sh

bench: all
	SKIP_BUILD=$(CURDIR)/$(BUILD) sh bench/run.sh

clean:
	rm -rf build build-asan

distclean: clean

# Debian packages libnginx-mod-http-skip and skipctl, built from a copy of
# the checkout under build/deb/ (scripts/deb.sh, docs/packaging.md).
.PHONY: deb
deb:
	sh scripts/deb.sh
