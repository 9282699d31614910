// Flame graph rendering speed on the anchors' kind of input (reference/anchors.md): synthetic
// profiles of 50,000 and 200,000 distinct stacks, depth 10-40, over 2,000 function names,
// about 500 samples per stack (100 M samples for 200,000 stacks). flamegraph.pl takes 4.7 s
// and 20.5 s on them; cpprof's target is at least 20x faster.
//
// Frames are drawn the way real profiles branch: each frame's callee is one of a few likely
// ones (geometrically distributed), so prefixes are shared and the graph has structure, while
// the depth and the tail make every stack distinct.
#include <cpprof/output/flamegraph.hpp>
#include <cpprof/output/folded.hpp>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <streambuf>
#include <string>
#include <vector>

namespace {

/// Counts what is written and throws it away.
class counting_null_buffer : public std::streambuf {
public:
    std::uint64_t bytes = 0;

protected:
    std::streamsize xsputn(const char*, std::streamsize n) override {
        bytes += static_cast<std::uint64_t>(n);
        return n;
    }
    int_type overflow(int_type c) override {
        ++bytes;
        return traits_type::not_eof(c);
    }
};

class random_source {
public:
    explicit random_source(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {  // splitmix64
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
    }
    std::uint64_t below(std::uint64_t n) { return next() % n; }

private:
    std::uint64_t state_;
};

const cpprof::profile& synthetic_profile(std::size_t stacks) {
    static std::map<std::size_t, std::unique_ptr<cpprof::profile>> cache;
    auto& slot = cache[stacks];
    if (slot) return *slot;

    constexpr std::size_t names = 2000;
    slot = std::make_unique<cpprof::profile>(
        std::vector<cpprof::value_type>{{"samples", "count"}});
    cpprof::profile& p = *slot;
    std::vector<cpprof::frame_id> ids;
    for (std::size_t i = 0; i < names; ++i) {
        cpprof::frame f;
        f.address = 0x400000 + 16 * i;
        f.function = "app::module_" + std::to_string(i % 37) + "::Worker<int>::step_" +
                     std::to_string(i) + "(std::string const&)";
        ids.push_back(p.intern(f));
    }

    random_source rng(42 + stacks);
    std::set<std::vector<cpprof::frame_id>> seen;
    std::vector<cpprof::frame_id> stack;
    while (seen.size() < stacks) {
        const std::size_t depth = 10 + rng.below(31);
        stack.clear();
        std::uint64_t caller = rng.below(8);  // a few entry points
        for (std::size_t d = 0; d < depth; ++d) {
            std::uint64_t choice = 0;  // 0 half the time, 1 a quarter, ...
            while (choice < 40 && (rng.next() & 1)) ++choice;
            caller = (caller * 0x9e3779b97f4a7c15ULL + choice * 0x632be59bd9b4e019ULL + d) % names;
            stack.push_back(ids[caller]);
        }
        if (!seen.insert(stack).second) continue;
        p.add_sample(std::vector<cpprof::frame_id>(stack.rbegin(), stack.rend()),  // leaf first
                     {static_cast<std::int64_t>(1 + rng.below(999))});
    }
    return p;
}

void BM_flamegraph(benchmark::State& state) {
    const auto stacks = static_cast<std::size_t>(state.range(0));
    const cpprof::profile& p = synthetic_profile(stacks);
    counting_null_buffer buffer;
    std::ostream out(&buffer);
    for (auto _ : state) cpprof::write_flamegraph(p, out);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * stacks));
    state.counters["svg_bytes"] = static_cast<double>(buffer.bytes / state.iterations());
    state.counters["samples"] = static_cast<double>(p.total(0));
}
BENCHMARK(BM_flamegraph)->Arg(50000)->Arg(200000)->Unit(benchmark::kMillisecond);

/// The same program, changed: each stack's count scaled by 0.5 to 1.5 at random, and one
/// stack in ten gone; for the differential flame graph.
const cpprof::profile& changed_profile(std::size_t stacks) {
    static std::map<std::size_t, std::unique_ptr<cpprof::profile>> cache;
    auto& slot = cache[stacks];
    if (slot) return *slot;
    const cpprof::profile& p = synthetic_profile(stacks);
    slot = std::make_unique<cpprof::profile>(p.sample_types());
    std::vector<cpprof::frame_id> ids;
    for (const auto& f : p.frames()) ids.push_back(slot->intern(f));
    random_source rng(7 + stacks);
    for (const auto& s : p.samples()) {
        if (rng.below(10) == 0) continue;
        std::vector<cpprof::frame_id> stack;
        for (cpprof::frame_id id : s.stack) stack.push_back(ids[id]);
        const auto v = s.values[0] * static_cast<std::int64_t>(50 + rng.below(101)) / 100;
        slot->add_sample(std::move(stack), {v});
    }
    return *slot;
}

void BM_diff_flamegraph(benchmark::State& state) {
    const auto stacks = static_cast<std::size_t>(state.range(0));
    const cpprof::profile& before = synthetic_profile(stacks);
    const cpprof::profile& after = changed_profile(stacks);
    counting_null_buffer buffer;
    std::ostream out(&buffer);
    for (auto _ : state) cpprof::write_diff_flamegraph(before, after, out);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * stacks));
    state.counters["svg_bytes"] = static_cast<double>(buffer.bytes / state.iterations());
}
BENCHMARK(BM_diff_flamegraph)->Arg(50000)->Arg(200000)->Unit(benchmark::kMillisecond);

void BM_folded(benchmark::State& state) {
    const auto stacks = static_cast<std::size_t>(state.range(0));
    const cpprof::profile& p = synthetic_profile(stacks);
    counting_null_buffer buffer;
    std::ostream out(&buffer);
    for (auto _ : state) cpprof::write_folded(p, out);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * stacks));
    state.counters["text_bytes"] = static_cast<double>(buffer.bytes / state.iterations());
}
BENCHMARK(BM_folded)->Arg(50000)->Arg(200000)->Unit(benchmark::kMillisecond);

}  // namespace
