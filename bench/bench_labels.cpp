// What a label_guard costs to enter and leave, next to an empty scope in the same run.
//
//   BM_label_empty_scope          the loop with a compiler barrier and nothing else: baseline
//   BM_label_guard_literal        label_guard{"route", "/api/orders"}: literals, 5 + 11 bytes
//   BM_label_guard_string         the value from a std::string made outside the loop
//   BM_label_guard_64_byte_value  a value of exactly 64 bytes (the most a guard keeps)
//   BM_label_guard_cut_value      a 200-byte value: cut to 64 bytes at a UTF-8 boundary
//   BM_label_guard_nested_2       two guards, one inside the other (route, then span_id)
//   BM_label_macro                CPPROF_LABEL("route", "/api/orders")
//
// The barrier (benchmark::ClobberMemory) sits inside the scope: code in a labelled scope could
// read the label stack, so the compiler must really push before it and pop after it. Target:
// enter + exit <= 10 ns (issue 6). Numbers and the command: bench/README.md, "Labels".
//
//   g++ -std=c++17 -O2 -DNDEBUG -Iinclude bench/main.cpp bench/bench_labels.cpp -lbenchmark -lpthread

#include <benchmark/benchmark.h>

#include <cpprof/macros.hpp>

#include <string>

namespace {

void BM_label_empty_scope(benchmark::State& state) {
    for (auto _ : state) {
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_label_empty_scope);

void BM_label_guard_literal(benchmark::State& state) {
    for (auto _ : state) {
        cpprof::label_guard g{"route", "/api/orders"};
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_label_guard_literal);

void BM_label_guard_string(benchmark::State& state) {
    const std::string value = "/api/orders/12345";
    for (auto _ : state) {
        cpprof::label_guard g{"route", value};
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_label_guard_string);

void BM_label_guard_64_byte_value(benchmark::State& state) {
    const std::string value(64, 'v');
    for (auto _ : state) {
        cpprof::label_guard g{"trace_id", value};
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_label_guard_64_byte_value);

void BM_label_guard_cut_value(benchmark::State& state) {
    const std::string value(200, 'v');
    for (auto _ : state) {
        cpprof::label_guard g{"url", value};
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_label_guard_cut_value);

void BM_label_guard_nested_2(benchmark::State& state) {
    for (auto _ : state) {
        cpprof::label_guard route{"route", "/api/orders"};
        cpprof::label_guard span{"span_id", "00f067aa0ba902b7"};
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_label_guard_nested_2);

void BM_label_macro(benchmark::State& state) {
    for (auto _ : state) {
        CPPROF_LABEL("route", "/api/orders");
        benchmark::ClobberMemory();
    }
}
BENCHMARK(BM_label_macro);

}  // namespace
