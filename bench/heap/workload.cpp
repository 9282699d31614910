// The heap benchmark's workload: see workload.hpp. Its own translation unit, so the machine code
// measured is byte-for-byte the same in every variant (plain, tracked, sampled, every) and
// under every preloaded allocator; only operator new/delete and malloc behind it change.
//
// One request does the three things allocation-heavy C++ does most:
//   - small new/delete: 24 objects of 16..272 bytes replace random slots of a 4096-slot ring,
//     so allocations and frees interleave with a steady live set (~0.6 MiB);
//   - std::map<std::uint32_t, std::string>: 6 inserts (node + string beyond the small-string
//     buffer for half of them), and erases that keep the map at most 1024 entries;
//   - string building: a std::string grown by += of std::to_string pieces to ~150..350 bytes
//     (a few reallocations), moved into a ring of the last 512 strings;
// and one request in 32 grows a std::vector<std::uint32_t> to a few thousand elements (a few
// 4..32 KiB blocks), so byte sampling also sees larger allocations.
// Requests are called through a short recursive chain (1..8 frames) so that stack-recording
// profilers unwind a realistic depth, not two frames.

#include "workload.hpp"

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#define HEAPBENCH_NOINLINE __attribute__((noinline))
#define HEAPBENCH_KEEP_FRAME() asm volatile("" ::: "memory")

namespace heapbench {
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

struct blob {
    std::uint32_t size;
    unsigned char data[1];  // really `size` bytes
};

struct state {
    rng r{0x9E3779B97F4A7C15ULL};
    std::vector<blob*> ring = std::vector<blob*>(4096, nullptr);
    std::map<std::uint32_t, std::string> table;
    std::vector<std::string> recent = std::vector<std::string>(512);
    std::size_t recent_next = 0;
    std::uint64_t acc = 0;

    ~state() {
        for (blob* b : ring) ::operator delete(b);
    }
};

HEAPBENCH_NOINLINE blob* make_blob(std::uint32_t size, std::uint64_t seed) {
    auto* b = static_cast<blob*>(::operator new(sizeof(blob) - 1 + size));
    b->size = size;
    std::memset(b->data, static_cast<int>(seed & 0xff), size < 16 ? size : 16);
    return b;
}

HEAPBENCH_NOINLINE void small_objects(state& st) {
    for (int i = 0; i < 24; ++i) {
        std::uint64_t x = st.r.next();
        blob*& slot = st.ring[x % st.ring.size()];
        if (slot) st.acc += slot->data[0] + slot->size;
        ::operator delete(slot);
        slot = make_blob(static_cast<std::uint32_t>(16 + (x >> 32) % 257), x);
    }
}

HEAPBENCH_NOINLINE void map_inserts(state& st) {
    for (int i = 0; i < 6; ++i) {
        std::uint64_t x = st.r.next();
        auto key = static_cast<std::uint32_t>(x % 16384);
        std::string value = (x >> 40) & 1 ? "v" : "a longer value that does not fit in SSO #";
        value += std::to_string(x >> 44);
        auto [it, inserted] = st.table.try_emplace(key, std::move(value));
        if (!inserted) st.acc += it->second.size();
    }
    while (st.table.size() > 1024) {
        auto it = st.table.lower_bound(static_cast<std::uint32_t>(st.r.next() % 16384));
        if (it == st.table.end()) it = st.table.begin();
        st.acc += it->first;
        st.table.erase(it);
    }
}

HEAPBENCH_NOINLINE void build_string(state& st) {
    std::string s;
    int fields = 8 + static_cast<int>(st.r.next() % 10);
    for (int i = 0; i < fields; ++i) {
        s += "field";
        s += std::to_string(i);
        s += '=';
        s += std::to_string(st.r.next() % 1000000007);
        s += ';';
    }
    st.acc += s.size() + static_cast<unsigned char>(s[s.size() / 2]);
    st.recent[st.recent_next] = std::move(s);
    st.recent_next = (st.recent_next + 1) % st.recent.size();
}

HEAPBENCH_NOINLINE void grow_vector(state& st) {
    std::vector<std::uint32_t> v;
    std::size_t n = 1000 + st.r.next() % 7000;
    for (std::size_t i = 0; i < n; ++i) v.push_back(static_cast<std::uint32_t>(i * 2654435761u));
    st.acc += v[n / 3];
}

HEAPBENCH_NOINLINE void request(state& st, std::uint64_t i) {
    small_objects(st);
    map_inserts(st);
    build_string(st);
    if ((i & 31) == 0) grow_vector(st);
    HEAPBENCH_KEEP_FRAME();
}

HEAPBENCH_NOINLINE void descend(state& st, std::uint64_t i, int depth) {
    if (depth == 0)
        request(st, i);
    else
        descend(st, i, depth - 1);
    HEAPBENCH_KEEP_FRAME();
}

}  // namespace

std::uint64_t run_workload(std::uint64_t requests) {
    auto st = std::make_unique<state>();
    for (std::uint64_t i = 0; i < requests; ++i) descend(*st, i, static_cast<int>(i % 8));
    return st->acc ^ st->table.size() ^ (st->recent[0].size() << 32);
}

}  // namespace heapbench
