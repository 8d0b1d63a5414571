# Fuzzing the parsers of hostile bytes (tests/fuzz/). Included by the main
# Makefile, or run standalone from the repository root:
#   make -f tests/fuzz/fuzz.mk fuzz-replay       replay the committed corpora under
#                                                ASan/UBSan (part of `make test`)
#   make -f tests/fuzz/fuzz.mk fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="dns names"]
#                                                libFuzzer, each target in turn
#   make -f tests/fuzz/fuzz.mk fuzz-crashes      replay tests/fuzz/crashes/ (known
#                                                crashes: fails until they are fixed)
#   make -f tests/fuzz/fuzz.mk fuzz-valgrind     replay corpora under valgrind, no
#                                                sanitizers (FUZZ_VALGRIND_TARGETS)
#   make -f tests/fuzz/fuzz.mk fuzz-clean
# Everything here is prefixed FUZZ_ / fuzz- so as not to clash with the main
# Makefile. Builds are quiet (FUZZ_V=1 shows the commands) so that
# fuzz-replay prints one line per target.

FUZZ_SAVED_DEFAULT_GOAL := $(.DEFAULT_GOAL)

FUZZ_CC ?= clang
FUZZ_PKG_CONFIG ?= pkg-config
FUZZ_DIR := tests/fuzz
FUZZ_BUILD ?= $(or $(BUILD),build)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_MAX_LEN ?= 4096
# extra libFuzzer flags, e.g. FUZZ_FLAGS=-only_ascii=1
FUZZ_FLAGS ?=
FUZZ_TARGETS ?= dns tls_hello http_request config patterns names proc \
	http1 http2 body usage plaintext openssl_inner

FUZZ_CFLAGS := -g -O1 -fno-omit-frame-pointer -std=gnu11 -D_GNU_SOURCE -Wall -Wextra \
	-Wno-unused-parameter -Wno-missing-field-initializers -Iheaders -Iuser
FUZZ_REPLAY_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_LIBFUZZER_SAN := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined

# The parser sources each target links, and its libraries.
FUZZ_SRCS_dns := user/dns.c
FUZZ_SRCS_tls_hello := user/tls_hello.c
FUZZ_SRCS_http_request := user/http_request.c
FUZZ_SRCS_config := user/config.c user/catalog.c user/catalog_builtin.c user/hashtab.c
FUZZ_LIBS_config = $(shell $(FUZZ_PKG_CONFIG) --libs inih)
FUZZ_SRCS_patterns := user/catalog.c user/catalog_builtin.c user/hashtab.c
FUZZ_SRCS_names := user/names.c user/dns.c user/tls_hello.c user/http_request.c user/hashtab.c
# TLS plaintext: HTTP/1.1, HTTP/2 (HPACK), bodies (zlib), usage (jansson),
# fingerprints (libsodium); the streams table links libbpf for the kernel's
# map of ignored connections (not touched with ignored_fd -1).
FUZZ_SRCS_proc := user/procinfo.c user/cgroup.c
FUZZ_SRCS_openssl_inner := user/openssl_inner.c user/elf_code.c
FUZZ_LIBS_openssl_inner := -lelf
FUZZ_SRCS_usage := user/usage.c
FUZZ_LIBS_usage = $(shell $(FUZZ_PKG_CONFIG) --libs jansson)
FUZZ_SRCS_body := user/body.c user/eventstream.c user/usage.c
FUZZ_LIBS_body = $(shell $(FUZZ_PKG_CONFIG) --libs zlib jansson libsodium)
FUZZ_SRCS_http1 := user/http1.c user/exchange.c $(FUZZ_SRCS_body) user/fingerprint.c
FUZZ_LIBS_http1 = $(shell $(FUZZ_PKG_CONFIG) --libs zlib jansson libsodium)
FUZZ_SRCS_http2 := user/http2.c $(FUZZ_SRCS_http1)
FUZZ_LIBS_http2 = $(shell $(FUZZ_PKG_CONFIG) --libs libnghttp2 zlib jansson libsodium)
FUZZ_SRCS_plaintext := user/plaintext.c user/hashtab.c $(FUZZ_SRCS_http2)
FUZZ_LIBS_plaintext = $(shell $(FUZZ_PKG_CONFIG) --libs libbpf libnghttp2 jansson libsodium) -lelf -lz

FUZZ_HDRS := $(wildcard user/*.h) headers/egresswatch.h headers/tls.h $(FUZZ_DIR)/fuzz_common.h \
	$(FUZZ_DIR)/fuzz_exchange.h
FUZZ_V ?= 0
FUZZ_Q := $(if $(filter 1,$(FUZZ_V)),,@)

# Sanitizer settings for every run: stop at the first finding, with a stack.
FUZZ_ENV := ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# The targets whose replay also runs under valgrind (leaks and uninitialised
# reads that ASan does not see, in a build without sanitizers; DWARF 4, which
# this valgrind reads).
FUZZ_VALGRIND_TARGETS ?= plaintext
FUZZ_VALGRIND ?= valgrind --quiet --error-exitcode=1 --leak-check=full \
	--errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect

.PHONY: fuzz fuzz-replay fuzz-crashes fuzz-build fuzz-replay-build fuzz-clean fuzz-valgrind

# $(1): target name. The replay binary (replay.c's main) and the libFuzzer one.
define FUZZ_RULES
$(FUZZ_BUILD)/replay_$(1): $(FUZZ_DIR)/fuzz_$(1).c $(FUZZ_DIR)/replay.c $(FUZZ_SRCS_$(1)) $(FUZZ_HDRS)
	@mkdir -p $$(@D)
	$(FUZZ_Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_REPLAY_SAN) -DFUZZ_TARGET_NAME='"$(1)"' \
		$(FUZZ_DIR)/fuzz_$(1).c $(FUZZ_DIR)/replay.c $(FUZZ_SRCS_$(1)) $$(FUZZ_LIBS_$(1)) -o $$@

$(FUZZ_BUILD)/valgrind_$(1): $(FUZZ_DIR)/fuzz_$(1).c $(FUZZ_DIR)/replay.c $(FUZZ_SRCS_$(1)) $(FUZZ_HDRS)
	@mkdir -p $$(@D)
	$(FUZZ_Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -gdwarf-4 -DFUZZ_TARGET_NAME='"$(1) (valgrind)"' \
		$(FUZZ_DIR)/fuzz_$(1).c $(FUZZ_DIR)/replay.c $(FUZZ_SRCS_$(1)) $$(FUZZ_LIBS_$(1)) -o $$@

$(FUZZ_BUILD)/fuzz_$(1): $(FUZZ_DIR)/fuzz_$(1).c $(FUZZ_SRCS_$(1)) $(FUZZ_HDRS)
	@mkdir -p $$(@D)
	$(FUZZ_Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LIBFUZZER_SAN) \
		$(FUZZ_DIR)/fuzz_$(1).c $(FUZZ_SRCS_$(1)) $$(FUZZ_LIBS_$(1)) -o $$@
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call FUZZ_RULES,$(t))))

fuzz-replay-build: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/replay_%)
fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

# One line per target from the replayer; stops at the first failure.
fuzz-replay: fuzz-replay-build
	@set -e; for t in $(FUZZ_TARGETS); do \
		$(FUZZ_ENV) $(FUZZ_BUILD)/replay_$$t $(FUZZ_DIR)/corpus/$$t; \
	done

fuzz-valgrind: $(FUZZ_VALGRIND_TARGETS:%=$(FUZZ_BUILD)/valgrind_%)
	@set -e; for t in $(FUZZ_VALGRIND_TARGETS); do \
		$(FUZZ_VALGRIND) $(FUZZ_BUILD)/valgrind_$$t $(FUZZ_DIR)/corpus/$$t; \
	done

# Each known crash on its own: reports which still crash (expected until the
# parser is fixed: then move the input into the corpus).
fuzz-crashes: fuzz-replay-build
	@status=0; for f in $(wildcard $(FUZZ_DIR)/crashes/*); do \
		t=$$(basename $$f); t=$${t%%-*}; \
		if $(FUZZ_ENV) $(FUZZ_BUILD)/replay_$$t $$f >/dev/null 2>&1; then \
			echo "$$f: fixed"; else echo "$$f: still crashes"; status=1; fi; \
	done; exit $$status

# Each target for FUZZ_SECONDS over a copy of its corpus: new inputs go to
# $(FUZZ_BUILD)/corpus-<name> (kept between runs), findings to
# $(FUZZ_BUILD)/artifacts-<name>/. Runs every target, fails if any found something.
fuzz: fuzz-build
	@status=0; for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_BUILD)/corpus-$$t $(FUZZ_BUILD)/artifacts-$$t; \
		cp -n $(FUZZ_DIR)/corpus/$$t/* $(FUZZ_BUILD)/corpus-$$t/ 2>/dev/null || true; \
		dict=; [ -f $(FUZZ_DIR)/$$t.dict ] && dict=-dict=$(FUZZ_DIR)/$$t.dict; \
		echo "== fuzz_$$t for $(FUZZ_SECONDS) s"; \
		if ! $(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_$$t -max_len=$(FUZZ_MAX_LEN) \
			-max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-print_final_stats=1 $$dict \
			-artifact_prefix=$(FUZZ_BUILD)/artifacts-$$t/ $(FUZZ_FLAGS) \
			$(FUZZ_BUILD)/corpus-$$t > $(FUZZ_BUILD)/fuzz_$$t.log 2>&1; then \
			echo "fuzz_$$t: FOUND A CRASH, see $(FUZZ_BUILD)/fuzz_$$t.log and $(FUZZ_BUILD)/artifacts-$$t/"; \
			grep -E '^(==[0-9]+==ERROR|SUMMARY|.*check failed|.*runtime error)' $(FUZZ_BUILD)/fuzz_$$t.log | head -5; \
			status=1; \
		fi; \
		grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' $(FUZZ_BUILD)/fuzz_$$t.log | tail -1; \
		grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' $(FUZZ_BUILD)/fuzz_$$t.log | tr '\n' ' '; echo; \
	done; exit $$status

fuzz-clean:
	rm -rf $(FUZZ_BUILD)

# Included: leave the main Makefile's default goal alone. Standalone: replay.
ifneq ($(FUZZ_SAVED_DEFAULT_GOAL),)
.DEFAULT_GOAL := $(FUZZ_SAVED_DEFAULT_GOAL)
else ifeq ($(words $(MAKEFILE_LIST)),1)
.DEFAULT_GOAL := fuzz-replay
else
.DEFAULT_GOAL :=
endif
