# wastebank build.  `make` builds bin/wastebankd and bin/wbctl; `make SAN=1`
# builds the same with AddressSanitizer + UndefinedBehaviorSanitizer into
# build-san/ and bin-san/ so the two builds never mix objects.
#
# Flags live in separate variables so `make CFLAGS=-O0` cannot drop the
# include paths or the warnings:
#   WARN      warnings (always on, -Werror)
#   PKG_*     from pkg-config
#   CFLAGS    user tunables (optimisation, debug info)

PKGS    := libevent libevent_pthreads hiredis libmariadb libjwt jansson \
           libqrencode libpng libsodium cairo fontconfig
CC      ?= cc
CFLAGS  ?= -O2 -g
WARN    := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
           -Wmissing-prototypes -Wwrite-strings -Wformat=2 -Wvla -fno-common
DEFS    := -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
INCS    := -I. -Ibuild-gen

ifeq ($(SAN),1)
BUILD   := build-san
BIN     := bin-san
SANFL   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
BUILD   := build
BIN     := bin
SANFL   :=
endif

ALL_CFLAGS  = $(WARN) $(DEFS) $(INCS) $(PKG_CFLAGS) $(SANFL) $(CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFL) $(LDFLAGS)
LIBS        = $(PKG_LIBS) -lroaring -lpthread -lm

# Layers.  admin-tools links db/ and qr/ (plus the two leaf modules of
# server/ it shares: config and log), never the HTTP process.
SHARED_SRC := server/config.c server/log.c server/clock.c server/pwpool.c
DB_SRC     := $(wildcard db/*.c)
QR_SRC     := $(wildcard qr/*.c)
API_SRC    := $(wildcard api/*.c)
SERVER_SRC := $(filter-out $(SHARED_SRC) server/main.c,$(wildcard server/*.c))
MIGR_SQL   := $(sort $(wildcard db/migrations/*.sql))
GEN_C      := build-gen/migrations_gen.c

CORE_OBJ   := $(patsubst %.c,$(BUILD)/%.o,$(SHARED_SRC) $(DB_SRC) $(QR_SRC)) \
              $(BUILD)/build-gen/migrations_gen.o
SERVER_OBJ := $(patsubst %.c,$(BUILD)/%.o,$(SERVER_SRC) $(API_SRC))
MAIN_OBJ   := $(BUILD)/server/main.o
WBCTL_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(wildcard admin-tools/*.c))

UNIT_SRC   := $(wildcard tests/unit/test_*.c)
UNIT_BIN   := $(patsubst tests/unit/%.c,$(BIN)/tests/%,$(UNIT_SRC))

.PHONY: all san unit unit-bins test run stop bench bench-reports clean install-deps fuzz web
all: $(BIN)/wastebankd $(BIN)/wbctl $(BIN)/dbrate

san:
	$(MAKE) SAN=1 all

$(BIN)/wastebankd: $(MAIN_OBJ) $(SERVER_OBJ) $(CORE_OBJ) | $(BIN)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BIN)/wbctl: $(WBCTL_OBJ) $(CORE_OBJ) | $(BIN)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# The raw-rate tool of `make bench` uses the store directly.
$(BIN)/dbrate: $(BUILD)/bench/dbrate.o $(CORE_OBJ) | $(BIN)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Unit tests link everything but main(): each test_*.c is its own program.
$(BIN)/tests/%: $(BUILD)/tests/unit/%.o $(SERVER_OBJ) $(CORE_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(shell pkg-config --libs cmocka)

$(BUILD)/tests/unit/%.o: tests/unit/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(shell pkg-config --cflags cmocka) -Wno-missing-prototypes -c -o $@ $<

$(BUILD)/%.o: %.c $(GEN_C)
	@mkdir -p $(dir $@)
	@echo "  CC    $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/build-gen/%.o: build-gen/%.c
	@mkdir -p $(dir $@)
	@$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -c -o $@ $<

# Migrations are compiled into the binaries so wbctl never has to find
# the source tree at run time.  The list of their names is a file that
# changes only when the set does, so a migration taken away rebuilds too
# (a newer file alone would not tell).
MIGR_LIST := build-gen/migrations.list
$(MIGR_LIST): FORCE
	@mkdir -p build-gen
	@echo '$(MIGR_SQL)' | cmp -s - $@ || echo '$(MIGR_SQL)' > $@

$(GEN_C): $(MIGR_SQL) $(MIGR_LIST) scripts/embed-sql.sh
	@mkdir -p build-gen
	scripts/embed-sql.sh $(MIGR_SQL) > $@.tmp && mv $@.tmp $@

FORCE:

$(BIN):
	@mkdir -p $@

unit-bins: $(UNIT_BIN)

# cmocka unit tests, always in the sanitizer build
unit:
	$(MAKE) SAN=1 unit-bins
	scripts/run-unit.sh bin-san/tests

install-deps:
	scripts/install-deps.sh

# make test: sanitizer build, the web apps, cmocka unit tests, then the
# black-box API and browser tests against private redis-server and
# mariadbd on free ports.
test: install-deps
	$(MAKE) SAN=1 all
	$(MAKE) web
	$(MAKE) unit
	python3 tests/api/run.py --bin bin-san

# The web apps (web/, Vue + Vite) into web/dist, which wastebankd serves
# (WB_WEB_DIR): `npm ci` when the lock file is newer than what is
# installed, then the build, when a source is newer than the last build.
WEB_SRC := $(shell find web/src web/build web/scripts web/console web/station web/till web/me \
              -type f 2>/dev/null) web/package.json web/package-lock.json web/vite.config.js
web: install-deps web/dist/.built

web/node_modules/.package-lock.json: web/package-lock.json
	cd web && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

web/dist/.built: web/node_modules/.package-lock.json $(WEB_SRC)
	cd web && npm run --silent build
	@touch $@

# Sub-makes so pkg-config runs after install-deps on a fresh machine.
run: install-deps
	$(MAKE) all web
	scripts/run.sh

stop:
	scripts/services.sh stop $${WB_VAR:-var}

bench: install-deps
	$(MAKE) all
	bench/run.sh

# The reports at province scale: worlds of 1M households with 1M and 10M
# drop-offs, generated once under var/bench-reports/ and reused.
bench-reports: install-deps
	$(MAKE) all
	bench/reports.sh

# libFuzzer targets for the parsers of untrusted input (needs clang and
# libclang-rt-14-dev; not part of `make test`).  FUZZ_SECONDS per target.
FUZZ_SECONDS ?= 30
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_LIB_SRC := qr/card.c db/import.c api/input.c db/db.c db/audit.c db/idem.c db/stats.c \
                server/web_path.c
fuzz:
	@mkdir -p bin-fuzz
	@for f in $(FUZZ_SRC); do \
	    n=$$(basename $$f .c); \
	    clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined $(DEFS) $(INCS) $(PKG_CFLAGS) \
	        -o bin-fuzz/$$n $$f $(FUZZ_LIB_SRC) server/clock.c $(PKG_LIBS) -lpthread -lm || exit 1; \
	    c=bin-fuzz/corpus-$${n#fuzz_}; mkdir -p $$c; \
	    cp tests/fuzz/corpus/$${n#fuzz_}/* $$c/; \
	    bin-fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -max_len=65536 $$c || exit 1; \
	done

clean:
	rm -rf build build-san bin bin-san build-gen bin-fuzz

-include $(shell find build build-san -name '*.d' 2>/dev/null)
