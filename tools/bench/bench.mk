# `make bench`: egresswatch's cost, measured side by side with baselines in one
# run (tools/bench/bench.py). Included from the Makefile; also usable alone:
#   make -f tools/bench/bench.mk bench [BENCH_ARGS=--quick]
#   make bench-quick
# Needs root, iperf3, nethogs, libssl-dev (static libssl.a for the server).
BUILD ?= build
CC ?= cc
CLANG ?= clang
BPFTOOL ?= bpftool
PKG_CONFIG ?= pkg-config
PYTHON ?= /usr/bin/python3
BENCH_ARGS ?=
BENCH_DIR := $(BUILD)/bench
BENCH_ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BENCH_CFLAGS := -O2 -g -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE
BENCH_BINS := $(BENCH_DIR)/empty_loader $(BENCH_DIR)/client $(BENCH_DIR)/server

.PHONY: bench bench-quick bench-build
bench:
	$(MAKE) egresswatch
	$(MAKE) -f tools/bench/bench.mk bench-build
	$(PYTHON) tools/bench/bench.py $(BENCH_ARGS)

bench-quick:
	$(MAKE) -f tools/bench/bench.mk bench BENCH_ARGS="--quick $(BENCH_ARGS)"

bench-build: $(BENCH_BINS)

# vmlinux.h comes from the main build (make egresswatch makes it).
$(BENCH_DIR)/empty.bpf.o: tools/bench/empty.bpf.c $(BUILD)/vmlinux.h
	@mkdir -p $(BENCH_DIR)
	$(CLANG) -g -O2 -target bpf -D__TARGET_ARCH_$(BENCH_ARCH) -I$(BUILD) -Wall -c $< -o $@

$(BENCH_DIR)/empty.skel.h: $(BENCH_DIR)/empty.bpf.o
	$(BPFTOOL) gen skeleton $< > $@.tmp && mv $@.tmp $@

# It finds the internal OpenSSL functions with egresswatch's own code.
BENCH_INNER_SRCS := user/openssl_inner.c user/elf_code.c
$(BENCH_DIR)/empty_loader: tools/bench/empty_loader.c $(BENCH_DIR)/empty.skel.h $(BENCH_INNER_SRCS) \
		user/openssl_inner.h user/elf_code.h
	$(CC) $(BENCH_CFLAGS) -I$(BENCH_DIR) -Iuser $(shell $(PKG_CONFIG) --cflags libbpf) $< \
		$(BENCH_INNER_SRCS) $(shell $(PKG_CONFIG) --libs libbpf) -lelf -lz -o $@

# The client uses the system's libssl.so.3, where the uprobes go.
$(BENCH_DIR)/client: tools/bench/client.c
	@mkdir -p $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) $< -lssl -lcrypto -lpthread -o $@

# The server links OpenSSL statically: no uprobe fires in it.
$(BENCH_DIR)/server: tools/bench/server.c
	@mkdir -p $(BENCH_DIR)
	$(CC) $(BENCH_CFLAGS) $< -Wl,-Bstatic -lssl -lcrypto -Wl,-Bdynamic -lpthread -ldl -o $@
