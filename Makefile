# The two commands a new user needs: `make demo` and `make test`. Both install
# what is missing (apt-get, via scripts/install-deps.sh) before building.
JOBS ?= $(shell nproc)
BUILD ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
CMAKE_FLAGS ?=

.PHONY: all deps build demo test test-release test-asan install fuzz bench clean format

all: build

deps:
	@./scripts/install-deps.sh

$(BUILD)/build.ninja: CMakeLists.txt | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@mkdir -p .relay
	./$(BUILD)/relay run examples/hello.yaml

# Normal (Release) build, then the same suite under ASan + UBSan.
test: test-release test-asan

test-release: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DRELAY_SANITIZE=ON $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  RELAY_SANITIZED=1 ctest --output-on-failure -j $(JOBS)

install: build
	install -m 0755 $(BUILD)/relay /usr/local/bin/relay

# libFuzzer targets, 60 s each (clang).
fuzz: deps
	CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DRELAY_FUZZ=ON -DRELAY_SANITIZE=ON -DRELAY_WERROR=OFF
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target spec_fuzzer expr_fuzzer
	mkdir -p fuzz-out/spec fuzz-out/expr
	$(FUZZ_BUILD)/fuzz/spec_fuzzer -max_total_time=60 fuzz-out/spec fuzz/corpus/spec
	$(FUZZ_BUILD)/fuzz/expr_fuzzer -max_total_time=60 fuzz-out/expr fuzz/corpus/expr

bench: build
	python3 bench/run.py --build $(BUILD)

format:
	find src tests bench fuzz -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
