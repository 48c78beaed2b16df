# SPDX-License-Identifier: GPL-2.0
# tierwall: `make` builds, `make run` demos, `make test` tests, `make bench` measures.

OUTPUT    ?= build
CLANG     ?= clang
CC        ?= cc
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

# Userspace, one folder per layer, each using only those before it:
# common <- policy <- kernel <- resolve, log <- daemon, cli.
USER_DIRS := user/common user/policy user/kernel user/resolve user/log user/daemon user/cli
USER_HDRS := $(wildcard $(addsuffix /*.h,$(USER_DIRS)))
vpath %.c $(USER_DIRS)

# Warnings are errors everywhere: CI builds exactly what developers build.
CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation -Werror -std=gnu11 \
	     -D_GNU_SOURCE -I$(OUTPUT) -Imaps $(addprefix -I,$(USER_DIRS))
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	      -Ivmlinux -Imaps
LIBS_BPF  := -lbpf -lelf -lz
LIBS      := -ljansson -lcrypto -lz
# The QEMU guests get static binaries: their initramfs has no libraries.
LIBS_STATIC := -static -lbpf -lelf -lz -lzstd -ljansson -lcrypto -lcares

DEB_DEPS  := clang llvm libbpf-dev bpftool libelf-dev zlib1g-dev libjansson-dev \
	     libssl-dev libzstd-dev libmicrohttpd-dev libc-ares-dev pkg-config make gcc iproute2 \
	     nftables dnsmasq-base qemu-system-x86 busybox-static cpio

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps run test bench clean vmlinux vm

APPS      := tierwalld tierwall
COMMON    := policy cidr compile cgroup event evlog evquery ctl log lsm util
TESTS     := tw_tests tw_probe tw_bench

all: $(addprefix $(OUTPUT)/,$(APPS) tw_tests tw_probe)

# Install what is missing from Debian; silent and quick when all is present.
deps:
	$(Q)missing=$$(for p in $(DEB_DEPS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends $$missing; \
	fi

$(OUTPUT):
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h) maps/tierwall.h vmlinux/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

# The bench's own probe programs (tests/*.bpf.c), never loaded by tierwalld.
$(OUTPUT)/tests/%.bpf.o: tests/%.bpf.c vmlinux/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/%.o: %.c $(USER_HDRS) maps/tierwall.h | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The daemon's loader waits for its skeleton.
$(OUTPUT)/loader.o: $(OUTPUT)/net.skel.h $(OUTPUT)/files.skel.h $(OUTPUT)/dns.skel.h
$(OUTPUT)/guard.o: $(OUTPUT)/protect.skel.h

DAEMON_OBJS := $(addprefix $(OUTPUT)/,tierwalld.o state.o tags.o control.o status.o reload.o stream.o protect.o loader.o guard.o secrets.o dns.o follow.o metrics.o $(addsuffix .o,$(COMMON)))
CLI_OBJS    := $(addprefix $(OUTPUT)/,tierwall.o events.o $(addsuffix .o,$(COMMON)))

$(OUTPUT)/tierwalld: $(DAEMON_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS_BPF) $(LIBS) -lcares -lmicrohttpd -o $@

$(OUTPUT)/tierwall: $(CLI_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

# Tests and benchmarks.
TEST_SRCS := $(wildcard tests/*.c)
$(OUTPUT)/tests/%.o: tests/%.c $(wildcard tests/*.h) $(USER_HDRS) maps/tierwall.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

$(OUTPUT)/tests/test_dns.o: $(OUTPUT)/dns.skel.h $(OUTPUT)/net.skel.h $(OUTPUT)/files.skel.h

TEST_OBJS := $(patsubst tests/%.c,$(OUTPUT)/tests/%.o,$(filter tests/test_%.c,$(TEST_SRCS)))

TESTS_OBJS := $(addprefix $(OUTPUT)/tests/,runner.o net.o fixture.o fileops.o) $(TEST_OBJS) \
	      $(addprefix $(OUTPUT)/,loader.o guard.o $(addsuffix .o,$(COMMON)))

$(OUTPUT)/tw_tests: $(TESTS_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS_BPF) $(LIBS) -o $@

$(OUTPUT)/tw_probe: $(OUTPUT)/tests/probe.o $(OUTPUT)/tests/net.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@

$(OUTPUT)/tw_bench_events: $(OUTPUT)/tests/bench_events.o $(OUTPUT)/tests/net.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@

$(OUTPUT)/tw_bench: $(OUTPUT)/tests/bench.o $(OUTPUT)/tests/net.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@

# Static builds and the initramfs for the QEMU guests (tests/vm/).
PROBE_OBJS := $(OUTPUT)/tests/probe.o $(OUTPUT)/tests/net.o
$(OUTPUT)/static/metrics-none.o: user/daemon/metrics.c user/daemon/metrics.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -DTW_METRICS_NONE -c $< -o $@

$(OUTPUT)/static/tierwalld: $(filter-out $(OUTPUT)/metrics.o,$(DAEMON_OBJS)) $(OUTPUT)/static/metrics-none.o
$(OUTPUT)/static/tierwall: $(CLI_OBJS)
$(OUTPUT)/static/tw_tests: $(TESTS_OBJS)
$(OUTPUT)/static/tw_probe: $(PROBE_OBJS)
$(OUTPUT)/tests/bench_lsm.o: $(OUTPUT)/tests/hookcost.skel.h $(OUTPUT)/protect.skel.h
$(OUTPUT)/static/tw_bench_lsm: $(OUTPUT)/tests/bench_lsm.o $(OUTPUT)/tests/net.o \
			       $(OUTPUT)/guard.o $(OUTPUT)/log.o
$(OUTPUT)/static/%:
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS_STATIC) -o $@ 2> $@.log || { cat $@.log; exit 1; }

$(OUTPUT)/vm/initrd.gz: $(addprefix $(OUTPUT)/static/,tierwalld tierwall tw_tests tw_probe tw_bench_lsm) \
			tests/vm/init tests/vm/mkinitrd.sh
	$(call msg,INITRD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)tests/vm/mkinitrd.sh $@ $(OUTPUT)

vm: $(OUTPUT)/vm/initrd.gz

run: deps all
	$(Q)tests/demo.sh

test: deps all vm
	$(Q)tests/run.sh

bench: deps all vm $(OUTPUT)/tw_bench $(OUTPUT)/tw_bench_events
	$(Q)tests/bench.sh

# Regenerate vmlinux.h from the running kernel's BTF (see vmlinux/README.md).
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

clean:
	rm -rf $(OUTPUT)
