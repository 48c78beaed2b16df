# SPDX-License-Identifier: GPL-2.0
# tierwall: `make` builds, `make run` demos, `make test` tests, `make bench` measures.

OUTPUT    ?= build
CLANG     ?= clang
CC        ?= cc
BPFTOOL   ?= bpftool
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

# Userspace, one folder per layer, each using only those before it:
# common <- policy <- kernel <- resolve, log <- runtime <- daemon, cli.
USER_DIRS := user/common user/policy user/kernel user/resolve user/log user/runtime user/daemon user/cli
USER_HDRS := $(wildcard $(addsuffix /*.h,$(USER_DIRS)))
vpath %.c $(USER_DIRS)

# Warnings are errors everywhere: CI builds exactly what developers build.
CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Wno-unused-parameter -Wno-format-truncation -Werror -std=gnu11 \
	     -D_GNU_SOURCE -I$(OUTPUT) -Imaps $(addprefix -I,$(USER_DIRS)) $(SAN)
BPF_CFLAGS := -g -O2 -Wall -Werror -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) \
	      -Ivmlinux -Imaps
LIBS_BPF  := -lbpf -lelf -lz
LIBS      := -ljansson -lcrypto -lz -lm
# The QEMU guests get static binaries: their initramfs has no libraries.
LIBS_STATIC := -static -lbpf -lelf -lz -lzstd -ljansson -lcrypto -lcares -lnghttp2 -lm

# What building, installing and running needs (`make deps`, `make run`): the
# toolchain, the libraries tierwalld and tierwall link, scdoc for the man pages
# `make install` installs.
DEB_DEPS  := clang libbpf-dev bpftool libelf-dev zlib1g-dev libjansson-dev libssl-dev \
	     libmicrohttpd-dev libc-ares-dev libnghttp2-dev make gcc scdoc
# What only the tests, guests, fuzzers and benchmarks need (`make test-deps`,
# which `make test` and `make bench` run): QEMU and the guests' initramfs
# (static libzstd for the static builds), netns and nft tools, dnsmasq, the
# container runtime and its gRPC tools, filesystem images, systemd-analyze,
# libFuzzer's runtime, podman (reads the image as docker and OCI archives).
# Debian 13's kustomize is unpacked into the build tree by tests/trixie.sh.
DEB_TEST_DEPS := llvm libclang-rt-14-dev libzstd-dev iproute2 nftables dnsmasq-base \
	     qemu-system-x86 busybox-static cpio systemd containerd runc podman python3-grpcio \
	     python3-grpc-tools python3-yaml e2fsprogs btrfs-progs openssl

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps test-deps run test bench clean vmlinux vm install image man k8s-test-deps \
	fuzz fuzz-build asan mutants

APPS      := tierwalld tierwall
HOOK_OBJS := $(addprefix $(OUTPUT)/,hook.o install.o layout.o cgroup.o cgroupns.o cgroupfs.o ctl.o)
NRI_OBJS  := $(addprefix $(OUTPUT)/,tierwall-nri.o nri.o) $(HOOK_OBJS)
OCI_OBJS  := $(addprefix $(OUTPUT)/,tierwall-oci-hook.o ocihook.o) $(HOOK_OBJS)
NRI2_OBJS := $(addprefix $(OUTPUT)/,tierwall-nri-plugin.o nri2.o nri2mux.o nri2rpc.o nri2msg.o pb.o) $(HOOK_OBJS)
COMMON := \
	policy \
	sign \
	diag \
	tierref \
	dests \
	dirtab \
	kube \
	driftcfg \
	grantcfg \
	cidr \
	compile \
	rulesort \
	ruleref \
	jsonhint \
	lint \
	cgroup \
	cgroupns \
	cgroupfs \
	ident \
	event \
	dnsnames \
	secretev \
	evlog \
	batch \
	segments \
	evread \
	evquery \
	seal \
	ctl \
	log \
	lsm \
	pins \
	util \
	text \
	explainer \
	fill \
	chain \
	levels
TESTS     := tw_tests tw_probe tw_bench

all: $(addprefix $(OUTPUT)/,$(APPS) tierwall-nri tierwall-oci-hook tierwall-nri-plugin tw_tests tw_probe)

# Install what is missing from Debian; silent and quick when all is present.
define apt_install
	$(Q)missing=$$(for p in $(1); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive \
		apt-get install -y -q --no-install-recommends $$missing; \
	fi
endef
deps:
	$(call apt_install,$(DEB_DEPS))
test-deps:
	$(call apt_install,$(DEB_TEST_DEPS))

$(OUTPUT):
	$(Q)mkdir -p $@

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h) $(wildcard maps/*.h) vmlinux/vmlinux.h | $(OUTPUT)
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

$(OUTPUT)/%.o: %.c $(USER_HDRS) $(wildcard maps/*.h) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Every object whose source includes a skeleton (directly or through
# loader_int.h) waits for them all: found by grep, so a new includer cannot
# be forgotten (make -j8 on a clean tree once built handover.o too early).
SKELS := $(addprefix $(OUTPUT)/,net.skel.h sock.skel.h dns.skel.h files.skel.h netlsm.skel.h protect.skel.h explain.skel.h)
SKEL_USERS := $(notdir $(shell grep -lE '\.skel\.h"|loader_int\.h"' $(addsuffix /*.c,$(USER_DIRS))))
$(addprefix $(OUTPUT)/,$(SKEL_USERS:.c=.o)): $(SKELS)

DAEMON_SRCS := \
	tierwalld \
	ask \
	access \
	reloadreq \
	pods \
	pending \
	podtier \
	adopt \
	cri \
	pb \
	hook \
	layout \
	ready \
	policywatch \
	options \
	state \
	tags \
	tagwatch \
	persist \
	statewrite \
	lock \
	uninstall \
	control \
	reply \
	status \
	reload \
	reloadinplace \
	dirdiff \
	blkpool \
	ruleslots \
	stream \
	drain \
	sealing \
	protect \
	trusted \
	policysig \
	runs \
	runpid \
	attestd \
	drift \
	grants \
	grantreq \
	grantsave \
	loader \
	grantmap \
	handover \
	pendmap \
	objects \
	objshare \
	filemaps \
	guard \
	secrets \
	identities \
	names \
	secretwatch \
	dns \
	dnsview \
	fingerprint \
	endpoints \
	driftscan \
	follow \
	metrics
DAEMON_OBJS := $(addprefix $(OUTPUT)/,$(addsuffix .o,$(DAEMON_SRCS) $(COMMON)))
CLI_SRCS := \
	tierwall \
	cli_status \
	events \
	evshow \
	explain \
	policycmd \
	simulate \
	simjudge \
	simanswer \
	logcmd \
	run \
	attest \
	grant
CLI_OBJS    := $(addprefix $(OUTPUT)/,$(addsuffix .o,$(CLI_SRCS) $(COMMON)))

$(OUTPUT)/tierwalld: $(DAEMON_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS_BPF) $(LIBS) -lcares -lmicrohttpd -lnghttp2 -lpthread -o $@

# The runtime hook runs on the host, outside any image: static, whatever the host has.
$(OUTPUT)/tierwall-nri: $(NRI_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -static -ljansson -o $@

$(OUTPUT)/tierwall-oci-hook: $(OCI_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -static -ljansson -o $@

# The NRI v2 plugin: on the host too (pre-installed in /opt/nri/plugins), so static as well.
$(OUTPUT)/tierwall-nri-plugin: $(NRI2_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -static -ljansson -o $@

$(OUTPUT)/tierwall: $(CLI_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS_BPF) $(LIBS) -o $@

# Tests and benchmarks.
TEST_SRCS := $(wildcard tests/*.c)
$(OUTPUT)/tests/%.o: tests/%.c $(wildcard tests/*.h) $(USER_HDRS) $(wildcard maps/*.h)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -Itests -c $< -o $@

TEST_OBJS := $(patsubst tests/%.c,$(OUTPUT)/tests/%.o,$(filter tests/test_%.c,$(TEST_SRCS)))
$(TEST_OBJS) $(OUTPUT)/tests/dnsguard.o: $(SKELS)

TESTS_HELPERS := \
	runner \
	net \
	fixture \
	fxlog \
	fxshare \
	fxsock \
	fxdns \
	dnse2e \
	std \
	schema \
	dnsguard \
	sockets \
	reference \
	fileops \
	tamperops \
	podhook \
	grantfix \
	runhelp \
	secfix \
	lsmfix \
	uring
TESTS_USER := \
	loader \
	dirdiff \
	blkpool \
	ruleslots \
	grantmap \
	handover \
	objects \
	objshare \
	filemaps \
	guard \
	podtier \
	layout \
	nri \
	ocihook \
	hook \
	install \
	cri \
	pb \
	nri2mux \
	nri2rpc \
	nri2msg \
	fingerprint \
	endpoints
TESTS_OBJS := $(addprefix $(OUTPUT)/tests/,$(addsuffix .o,$(TESTS_HELPERS))) $(TEST_OBJS) \
	      $(addprefix $(OUTPUT)/,$(addsuffix .o,$(TESTS_USER) $(COMMON)))

$(OUTPUT)/tw_tests: $(TESTS_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS_BPF) $(LIBS) -lnghttp2 -lpthread -o $@

$(OUTPUT)/tw_probe: $(OUTPUT)/tests/probe.o $(OUTPUT)/tests/net.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@

$(OUTPUT)/tw_bench_events: $(OUTPUT)/tests/bench_events.o $(OUTPUT)/tests/net.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@

$(OUTPUT)/tw_bench_reload: $(OUTPUT)/tests/bench_reload.o $(OUTPUT)/tests/benchd.o $(OUTPUT)/tests/benchset.o \
			   $(OUTPUT)/cgroupfs.o $(OUTPUT)/util.o $(OUTPUT)/log.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -lcrypto -o $@

$(OUTPUT)/tw_bench_v6: $(OUTPUT)/tests/bench_v6.o $(OUTPUT)/tests/benchd.o $(OUTPUT)/tests/net.o \
		       $(OUTPUT)/cgroupfs.o $(OUTPUT)/util.o $(OUTPUT)/log.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -lcrypto -o $@

$(OUTPUT)/tw_bench_pods: $(OUTPUT)/tests/bench_pods.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -ljansson -lpthread -o $@

$(OUTPUT)/tw_bench: $(OUTPUT)/tests/bench.o $(OUTPUT)/tests/benchset.o $(OUTPUT)/tests/net.o
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@

# Static builds and the initramfs for the QEMU guests (tests/vm/).
PROBE_OBJS := $(OUTPUT)/tests/probe.o $(OUTPUT)/tests/net.o
$(OUTPUT)/static/metrics-none.o: user/daemon/metrics.c user/daemon/metrics.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) -DTW_METRICS_NONE -c $< -o $@

$(OUTPUT)/static/tierwalld: $(filter-out $(OUTPUT)/metrics.o,$(DAEMON_OBJS)) $(OUTPUT)/static/metrics-none.o
# libbpf's parses of the kernel BTF share the daemon's one (user/kernel/lsm.c).
$(OUTPUT)/static/tierwalld: LIBS_STATIC += -Wl,--wrap=btf__load_vmlinux_btf -Wl,--wrap=btf__free
$(OUTPUT)/static/tierwall: $(CLI_OBJS)
$(OUTPUT)/static/tw_tests: $(TESTS_OBJS)
$(OUTPUT)/static/tw_probe: $(PROBE_OBJS)
$(OUTPUT)/tests/bench_lsm.o: $(OUTPUT)/tests/hookcost.skel.h $(OUTPUT)/protect.skel.h
$(OUTPUT)/static/tw_bench_lsm: $(OUTPUT)/tests/bench_lsm.o $(OUTPUT)/tests/net.o \
			       $(OUTPUT)/guard.o $(OUTPUT)/lsm.o $(OUTPUT)/log.o
$(OUTPUT)/static/%:
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS_STATIC) -o $@ 2> $@.log || { cat $@.log; exit 1; }

$(OUTPUT)/vm/initrd.gz: $(addprefix $(OUTPUT)/static/,tierwalld tierwall tw_tests tw_probe tw_bench_lsm) $(OUTPUT)/tierwall-nri \
			tests/vm/init tests/vm/mkinitrd.sh
	$(call msg,INITRD,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)tests/vm/fetch-kernels.sh $(OUTPUT)/vm/kernels >/dev/null	# their modules go in
	$(Q)tests/vm/mkinitrd.sh $@ $(OUTPUT)

vm: $(OUTPUT)/vm/initrd.gz

# Man pages from scdoc sources.
MAN_PAGES := $(OUTPUT)/man/tierwalld.8 $(OUTPUT)/man/tierwall.8
$(OUTPUT)/man/%.8: doc/%.8.scd
	$(call msg,SCDOC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)scdoc < $< > $@
man: $(MAN_PAGES)
# The bash completion, from the option tables the binary parses with (its --help).
COMPLETION := $(OUTPUT)/completion/tierwall
$(COMPLETION): $(OUTPUT)/tierwall $(OUTPUT)/tierwalld user/cli/completion.sh
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)user/cli/completion.sh $< $(OUTPUT)/tierwalld > $@.tmp && mv $@.tmp $@

# A plain host under systemd. PREFIX, DESTDIR as usual; the policy is kept if present.
PREFIX     ?= /usr/local
SYSCONFDIR ?= /etc
UNITDIR    ?= $(PREFIX)/lib/systemd/system
install: all man $(COMPLETION)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/libexec/tierwall \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(SYSCONFDIR)/tierwall \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions
	install -m 0755 $(OUTPUT)/tierwalld $(DESTDIR)$(PREFIX)/sbin/tierwalld
	install -m 0755 $(OUTPUT)/tierwall $(DESTDIR)$(PREFIX)/bin/tierwall
	install -m 0755 $(OUTPUT)/tierwall-nri $(DESTDIR)$(PREFIX)/libexec/tierwall/tierwall-nri
	install -m 0755 $(OUTPUT)/tierwall-nri-plugin $(DESTDIR)$(PREFIX)/libexec/tierwall/tierwall-nri-plugin
	install -m 0755 $(OUTPUT)/tierwall-oci-hook $(DESTDIR)$(PREFIX)/libexec/tierwall/tierwall-oci-hook
	sed -e 's#@BINDIR@#$(PREFIX)/sbin#g' -e 's#@SYSCONFDIR@#$(SYSCONFDIR)#g' \
		deploy/systemd/tierwalld.service > $(DESTDIR)$(UNITDIR)/tierwalld.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/tierwalld.service
	install -m 0644 $(MAN_PAGES) $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 $(COMPLETION) $(DESTDIR)$(PREFIX)/share/bash-completion/completions/tierwall
	install -m 0644 $(COMPLETION) $(DESTDIR)$(PREFIX)/share/bash-completion/completions/tierwalld
	[ -e $(DESTDIR)$(SYSCONFDIR)/tierwall/policy.json ] || \
		install -m 0644 deploy/systemd/policy.json $(DESTDIR)$(SYSCONFDIR)/tierwall/policy.json

# The node agent's image: an OCI archive that `ctr images import` and `podman load` read.
# Our binaries and exactly the Debian libraries they link, on an empty root: no
# package manager, shell or network in the image, nothing fetched to build it.
IMAGE_VERSION := $(shell sed -n 's/^\#define TW_VERSION[^"]*"\(.*\)"/\1/p' user/common/version.h)
IMAGE_NAME ?= docker.io/tierwall/tierwall:$(IMAGE_VERSION)
# The OCI labels; "created" is the last commit's time, so two builds of one tree stay identical.
IMAGE_LABELS = org.opencontainers.image.title=tierwall org.opencontainers.image.version=$(IMAGE_VERSION) org.opencontainers.image.licenses=GPL-2.0-only \
	org.opencontainers.image.revision=$(shell git rev-parse HEAD 2>/dev/null || echo unknown) \
	org.opencontainers.image.created=$(shell git log -1 --format=%cI 2>/dev/null || echo 1970-01-01T00:00:00Z) \
	org.opencontainers.image.ref.name=$(IMAGE_VERSION)
$(OUTPUT)/tierwall-image.tar: $(addprefix $(OUTPUT)/,tierwalld tierwall tierwall-nri tierwall-oci-hook tierwall-nri-plugin) deploy/image/mkimage.py
	$(call msg,IMAGE,$@)
	$(Q)python3 deploy/image/mkimage.py $@ $(IMAGE_NAME) --libs --strip --entrypoint /usr/bin/tierwalld \
		$(foreach l,$(IMAGE_LABELS),--label "$(l)") --label "org.opencontainers.image.description=\
	tierwall node agent: environment tiers on cgroups, enforced by eBPF" \
		/usr/bin/tierwalld=$(OUTPUT)/tierwalld /usr/bin/tierwall=$(OUTPUT)/tierwall \
		/usr/bin/tierwall-nri=$(OUTPUT)/tierwall-nri /usr/bin/tierwall-oci-hook=$(OUTPUT)/tierwall-oci-hook \
		/usr/bin/tierwall-nri-plugin=$(OUTPUT)/tierwall-nri-plugin /etc/tierwall/ /run/tierwall/ \
		/var/log/tierwall/ /tmp/ /sys/fs/bpf/
image: $(OUTPUT)/tierwall-image.tar

# The runtime tests' own images (a static pause; busybox and tw_probe for workloads)
# and their CRI messages for Python.
$(OUTPUT)/k8s/pause: tests/k8s/pause.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) -O2 -static $< -o $@
$(OUTPUT)/k8s/pause.tar: $(OUTPUT)/k8s/pause deploy/image/mkimage.py
	$(Q)python3 deploy/image/mkimage.py $@ tierwall.test/pause:1 --entrypoint /pause /pause=$< > /dev/null
$(OUTPUT)/k8s/work.tar: $(OUTPUT)/static/tw_probe deploy/image/mkimage.py
	$(Q)python3 deploy/image/mkimage.py $@ tierwall.test/work:1 /bin/sh=/bin/busybox \
		/bin/busybox=/bin/busybox /usr/bin/tw_probe=$< /tmp/ > /dev/null
$(OUTPUT)/k8s/py/cri_harness_pb2.py: user/runtime/cri.proto tests/k8s/cri_harness.proto
	$(Q)mkdir -p $(dir $@)
	$(Q)/usr/bin/python3 -m grpc_tools.protoc -Iuser/runtime -Itests/k8s --python_out=$(dir $@) $^
k8s-test-deps: $(addprefix $(OUTPUT)/,k8s/pause.tar k8s/work.tar k8s/py/cri_harness_pb2.py tierwall-image.tar)

# libFuzzer targets (tests/fuzz/): clang with ASan and UBSan, every parser of
# outside input; `make fuzz FUZZ_SECONDS=N` runs each N seconds.
FUZZ_SECONDS ?= 60
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -g -O1 $(FUZZ_SAN) -Wall -Werror -Wno-unused-parameter -std=gnu11 \
		-D_GNU_SOURCE -I$(OUTPUT) -Imaps $(addprefix -I,$(USER_DIRS)) -Itests -Itests/fuzz
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_USER := \
	follow \
	loader \
	dirdiff \
	blkpool \
	ruleslots \
	handover \
	objects \
	objshare \
	filemaps \
	guard \
	dns \
	dnsview \
	fingerprint \
	endpoints \
	cri \
	pb \
	nri2mux \
	nri2rpc \
	nri2msg
FUZZ_LIB     := $(addprefix $(OUTPUT)/fuzz/obj/,$(addsuffix .o,$(COMMON) $(FUZZ_USER)) \
		tests/reference.o tests/dnsguard.o tests/net.o)

$(OUTPUT)/fuzz/obj/%.o: %.c $(USER_HDRS) $(wildcard maps/*.h) $(SKELS)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(OUTPUT)/fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(FUZZ_LIB)
	$(call msg,FUZZ-LD,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_LIB) $(LIBS_BPF) $(LIBS) -lcares -lnghttp2 -o $@

fuzz-build: all $(addprefix $(OUTPUT)/fuzz/,$(FUZZ_TARGETS))

fuzz: fuzz-build
	$(Q)tests/fuzz/run.sh $(FUZZ_SECONDS)

# The bugs that once went uncaught, planted one at a time: each must fail its test.
mutants: deps test-deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/mutants.sh

# The unit and host tests built with ASan and UBSan (gcc), for `make test`.
asan:
	$(Q)$(MAKE) --no-print-directory OUTPUT=$(OUTPUT)/asan \
		SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer" \
		$(OUTPUT)/asan/tw_tests

run: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/demo.sh

# The packages first, then what make test builds (at any -j), one job per
# CPU unless make was given -j itself: on a fresh clone the build alone took
# minutes, one file at a time.
TEST_BUILD := all vm k8s-test-deps fuzz-build asan
test: deps test-deps
	$(Q)$(MAKE) --no-print-directory $(if $(filter -j%,$(MAKEFLAGS)),,-j$(shell nproc)) $(TEST_BUILD)
	$(Q)tests/run.sh

bench: deps test-deps
	$(Q)$(MAKE) --no-print-directory all vm $(OUTPUT)/tw_bench $(OUTPUT)/tw_bench_events $(OUTPUT)/tw_bench_pods \
		$(OUTPUT)/tw_bench_v6 $(OUTPUT)/tw_bench_reload
	$(Q)tests/bench.sh

# Regenerate vmlinux.h from the running kernel's BTF (see vmlinux/README.md).
vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

clean:
	rm -rf $(OUTPUT)
