// The overhead benchmark's workload: see workload.hpp. Kept in its own translation unit so the
// machine code measured is byte-for-byte the same whatever profiler the driver runs.

#include "workload.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#define OVERHEAD_NOINLINE __attribute__((noinline))
// Work after the call: no tail call, so every frame of the chain really is on the stack.
#define OVERHEAD_KEEP_FRAME() asm volatile("" ::: "memory")

namespace overhead {
namespace {

struct rng {
    std::uint64_t s;
    std::uint64_t next() {  // xorshift64*
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 0x2545F4914F6CDD1DULL;
    }
};

struct request_state {
    rng r;
    std::unordered_map<std::uint64_t, std::uint64_t> table;
    std::vector<std::uint32_t> keys;
    std::string text;
};

OVERHEAD_NOINLINE std::uint64_t leaf_sort(request_state& st) {
    st.keys.resize(160 + st.r.next() % 96);
    for (auto& k : st.keys) k = static_cast<std::uint32_t>(st.r.next());
    std::sort(st.keys.begin(), st.keys.end());
    return st.keys[st.keys.size() / 2] ^ st.keys.front();
}

OVERHEAD_NOINLINE std::uint64_t leaf_text(request_state& st) {
    st.text.clear();
    int fields = 12 + static_cast<int>(st.r.next() % 12);
    for (int i = 0; i < fields; ++i) {
        st.text += "key";
        st.text += std::to_string(st.r.next() % 100000);
        st.text += '=';
        st.text += std::to_string(st.r.next());
        st.text += ';';
    }
    std::uint64_t h = std::hash<std::string_view>{}(st.text);
    std::size_t pos = st.text.find("key7");
    return h ^ (pos == std::string::npos ? 0 : pos);
}

OVERHEAD_NOINLINE std::uint64_t leaf_table(request_state& st) {
    std::uint64_t acc = 0;
    for (int i = 0; i < 48; ++i) {
        std::uint64_t k = st.r.next() % 8192;
        auto it = st.table.find(k);
        if (it == st.table.end())
            st.table.emplace(k, k * 31);
        else
            acc += it->second++;
    }
    if (st.table.size() > 6000) st.table.clear();
    return acc;
}

OVERHEAD_NOINLINE std::uint64_t leaf_math(request_state& st) {
    double acc = 0;
    for (int i = 0; i < 64; ++i) {
        double x = 1.0 + static_cast<double>(st.r.next() % 1000000) / 1000.0;
        acc += std::sqrt(x) + std::log(x) + std::sin(x);
    }
    std::uint64_t bits;
    std::memcpy(&bits, &acc, sizeof bits);
    return bits;
}

OVERHEAD_NOINLINE std::uint64_t leaf(request_state& st) {
    std::uint64_t v;
    switch (st.r.next() % 4) {
        case 0: v = leaf_sort(st); break;
        case 1: v = leaf_text(st); break;
        case 2: v = leaf_table(st); break;
        default: v = leaf_math(st); break;
    }
    OVERHEAD_KEEP_FRAME();
    return v;
}

// A little arithmetic in every frame, so samples land all along the chain, not only in leaves.
inline std::uint64_t stage_work(std::uint64_t x, int rounds) {
    for (int i = 0; i < rounds; ++i) x = (x ^ (x >> 29)) * 0xBF58476D1CE4E5B9ULL + i;
    return x;
}

OVERHEAD_NOINLINE std::uint64_t stage_parse(request_state& st, int depth);
OVERHEAD_NOINLINE std::uint64_t stage_route(request_state& st, int depth);
OVERHEAD_NOINLINE std::uint64_t stage_dispatch(request_state& st, int depth);

OVERHEAD_NOINLINE std::uint64_t next_stage(request_state& st, int depth) {
    if (depth <= 0) return leaf(st);
    std::uint64_t v;
    switch (depth % 3) {
        case 0: v = stage_parse(st, depth - 1); break;
        case 1: v = stage_route(st, depth - 1); break;
        default: v = stage_dispatch(st, depth - 1); break;
    }
    OVERHEAD_KEEP_FRAME();
    return v;
}

OVERHEAD_NOINLINE std::uint64_t stage_parse(request_state& st, int depth) {
    std::uint64_t v = next_stage(st, depth) + stage_work(st.r.next(), 16);
    OVERHEAD_KEEP_FRAME();
    return v;
}

OVERHEAD_NOINLINE std::uint64_t stage_route(request_state& st, int depth) {
    std::uint64_t v = next_stage(st, depth) ^ stage_work(depth, 24);
    OVERHEAD_KEEP_FRAME();
    return v;
}

OVERHEAD_NOINLINE std::uint64_t stage_dispatch(request_state& st, int depth) {
    std::uint64_t v = next_stage(st, depth);
    v = v * 3 + stage_work(v, 8);
    OVERHEAD_KEEP_FRAME();
    return v;
}

OVERHEAD_NOINLINE std::uint64_t handle_request(request_state& st) {
    // 5..15 stages, two frames each (next_stage + the stage): a chain 11..31 frames deep
    // below this one, plus the leaf and the standard library's frames.
    int stages = 5 + static_cast<int>(st.r.next() % 11);
    std::uint64_t v = next_stage(st, stages);
    OVERHEAD_KEEP_FRAME();
    return v;
}

}  // namespace

std::uint64_t run_requests(std::uint64_t seed, std::uint64_t requests) {
    request_state st{rng{seed * 0x9E3779B97F4A7C15ULL + 1}, {}, {}, {}};
    st.table.reserve(8192);
    std::uint64_t sum = 0;
    for (std::uint64_t i = 0; i < requests; ++i) sum = sum * 1099511628211ULL + handle_request(st);
    return sum;
}

}  // namespace overhead
