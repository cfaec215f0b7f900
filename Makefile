# l2bpf build. `make` builds the BPF objects and the TypeScript; `make test`
# installs what is missing, builds and runs every test tier.
CLANG    ?= $(shell for c in clang-19 clang-16 clang-15; do command -v $$c >/dev/null && { echo $$c; break; }; done)
ARCH_INC := /usr/include/$(shell uname -m)-linux-gnu
BPF_CPU  ?= v3
BUILD    ?= build
BPF_EXTRA ?=
BPF_CFLAGS := -target bpf -mcpu=$(BPF_CPU) -g -O2 -Wall -Werror -I maps -I bpf/include -I bpf -I $(ARCH_INC) $(BPF_EXTRA)

BPF_SRC  := $(wildcard bpf/*.bpf.c)
BPF_OBJ  := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRC))
BPF_HDR  := $(wildcard bpf/include/*.h bpf/lib/*.h maps/*.h)
TS_SRC   := $(shell find src test lab -name '*.ts' 2>/dev/null)

.PHONY: all bpf ts gen deps test test-unit test-prog test-netns fuzz lab bench clean
all: bpf ts

bpf: $(BPF_OBJ)
$(BUILD)/%.bpf.o: bpf/%.bpf.c $(BPF_HDR)
	@mkdir -p $(BUILD)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

ts: dist/.built
dist/.built: $(TS_SRC) tsconfig.json package.json
	npx tsc -p .
	@chmod +x dist/src/cli/main.js
	@touch $@

# src/generated/bpf.ts (map names, limits, flags) from the objects' BTF; run
# after changing maps/ (test/unit/generated.test.ts fails while it is stale).
gen: bpf ts
	node dist/src/tools/gen-bpf.js $(BUILD) > src/generated/bpf.ts
	npx tsc -p .

# Installs Debian packages and npm modules only when something is missing.
deps:
	@bash lab/deps.sh

JEST := npx jest
JEST_FLAGS ?=
# Every tier; needs root (BPF, namespaces). Installs what is missing first.
test: deps all
	$(JEST) --runInBand $(JEST_FLAGS)
test-unit: all
	$(JEST) unit
test-prog: all
	$(JEST) --runInBand prog
test-netns: all
	$(JEST) --runInBand netns
# The differential fuzz tier at full size with a new seed (make test runs it
# with 100,000 frames per entry and a fixed seed); FUZZ_SEED=N replays a run.
FUZZ_FRAMES ?= 1000000
FUZZ_SEED ?= random
fuzz: deps all
	FUZZ_FRAMES=$(FUZZ_FRAMES) FUZZ_SEED=$(FUZZ_SEED) $(JEST) --runInBand fuzz

lab: deps all
	bash lab/lab.sh
bench: deps all
	bash lab/bench.sh
	bash lab/bench-gre.sh
	node dist/lab/bench-openvpn.js
	node dist/lab/bench-router.js

clean:
	rm -rf build dist
