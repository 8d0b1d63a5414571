# egresswatch: eBPF egress monitor for LLM API traffic.
#   make            build ./egresswatch
#   make test       unit and integration tests (root, real kernel)
#   make install    PREFIX=/usr/local DESTDIR=
VERSION := $(shell cat VERSION)
BUILD := build
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config
# Debian's python3, where the tests' pytest is installed (not a pyenv shim).
PYTHON ?= /usr/bin/python3
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

LIBS := libbpf jansson libcap inih libnghttp2 libsodium zlib ncursesw
CFLAGS ?= -O2 -g
CFLAGS += -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -std=gnu11 -D_GNU_SOURCE \
	  -DEW_VERSION='"$(VERSION)"' -Iheaders -Iuser -I$(BUILD) \
	  $(shell $(PKG_CONFIG) --cflags $(LIBS))
LDLIBS += $(shell $(PKG_CONFIG) --libs $(LIBS)) -lelf -lz -lm
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I$(BUILD) -Iheaders -Wall

ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer
LDFLAGS += -fsanitize=address,undefined
endif

# CO-RE: compile against the running kernel's BTF (or VMLINUX_BTF=FILE); the
# committed headers/vmlinux.h serves where neither exists.
VMLINUX_BTF ?= $(wildcard /sys/kernel/btf/vmlinux)

USER_SRCS := $(filter-out user/main.c,$(wildcard user/*.c))
USER_OBJS := $(patsubst user/%.c,$(BUILD)/%.o,$(USER_SRCS))
BPF_OBJS := $(BUILD)/egresswatch.bpf.o $(BUILD)/tls.bpf.o
SKELS := $(BUILD)/egresswatch.skel.h $(BUILD)/tls.skel.h
UNIT_TESTS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))

.SECONDARY:
.PHONY: all test unit-test memcheck integration-test install clean deps run-top deploy-check
all: egresswatch

deps:
	tools/install-deps.sh

$(BUILD):
	mkdir -p $(BUILD)/tests

$(BUILD)/vmlinux.h: | $(BUILD)
ifneq ($(VMLINUX_BTF),)
	$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@
else
	cp headers/vmlinux.h $@
endif

$(BUILD)/%.bpf.o: bpf/%.bpf.c bpf/sock_key.h headers/egresswatch.h headers/tls.h $(BUILD)/vmlinux.h
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

$(BUILD)/%.o: user/%.c $(wildcard user/*.h) headers/egresswatch.h $(SKELS) | $(BUILD)
	$(CC) $(CFLAGS) -c $< -o $@

egresswatch: $(BUILD)/main.o $(USER_OBJS)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(USER_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) $< $(USER_OBJS) $(LDLIBS) -lcmocka -o $@

# Libraries shaped like OpenSSL's for test_openssl_inner, beside it; .text is
# placed away from its file offset, as in a real library.
OPENSSL_SHAPES := $(foreach n,1 2 3 4 5,$(BUILD)/tests/openssl_shape_$(n).so)
$(BUILD)/tests/openssl_shape_%.so: tests/fixtures/openssl_shapes.S | $(BUILD)
	$(CC) -shared -nostdlib -DSHAPE=$* -Wl,--build-id=none -Wl,--section-start=.text=0x200000 $< -o $@
$(BUILD)/tests/test_openssl_inner: $(OPENSSL_SHAPES)

# For test_elf_code: the first shape without .gnu.hash (the lookup then reads
# every symbol), and a real library with thousands of exports.
$(BUILD)/tests/openssl_shape_sysv.so: tests/fixtures/openssl_shapes.S | $(BUILD)
	$(CC) -shared -nostdlib -DSHAPE=1 -Wl,--build-id=none -Wl,--hash-style=sysv $< -o $@
$(BUILD)/tests/test_elf_code: $(BUILD)/tests/openssl_shape_1.so $(BUILD)/tests/openssl_shape_sysv.so
$(BUILD)/tests/test_elf_code: CFLAGS += -DMANY_EXPORTS='"$(shell $(CC) -print-file-name=libcrypto.so.3)"'

unit-test: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do echo "== $$t"; $$t; done

# The unit tests again under valgrind: no invalid access, no leak.
memcheck: $(UNIT_TESTS)
	@set -e; for t in $(UNIT_TESTS); do \
		valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
			--error-exitcode=9 $$t > /dev/null && echo "memcheck: $$t clean"; done

integration-test: egresswatch
	$(PYTHON) -m pytest -v tests/integration

test: deps
	$(MAKE) unit-test
	$(if $(filter 1,$(SANITIZE)),,$(MAKE) memcheck) # valgrind cannot run ASan binaries
	$(MAKE) fuzz-replay
	$(MAKE) deploy-check
	$(MAKE) integration-test

deploy-check: egresswatch
	deploy/check.sh

run-top: deps
	$(MAKE) egresswatch
	./egresswatch top

PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR ?= /lib/systemd/system
# The unit names $(PREFIX)/sbin/egresswatch; an existing configuration is kept.
install: egresswatch
	install -D -m 0755 egresswatch $(DESTDIR)$(PREFIX)/sbin/egresswatch
	install -d -m 0755 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSCONFDIR)/egresswatch
	sed 's|/usr/local/sbin/egresswatch|$(PREFIX)/sbin/egresswatch|' deploy/systemd/egresswatch.service \
		> $(DESTDIR)$(UNITDIR)/egresswatch.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/egresswatch.service
	test -e $(DESTDIR)$(SYSCONFDIR)/egresswatch/egresswatch.conf || \
		install -m 0644 deploy/config/egresswatch.conf $(DESTDIR)$(SYSCONFDIR)/egresswatch/egresswatch.conf

clean:
	rm -rf $(BUILD) egresswatch

include tests/fuzz/fuzz.mk
include tools/bench/bench.mk
