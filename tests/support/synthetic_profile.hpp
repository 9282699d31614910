#pragma once
// A deterministic, realistic-looking CPU profile for tests and benchmarks: C++-style function
// names, a call tree whose stacks share prefixes, several call sites (addresses, lines) per
// function, some inlined frames, two mappings and thread labels. Encoded, 100k samples make a
// pprof payload of a few MB, the size range cpprof must handle.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <cpprof/profile.hpp>

namespace cpprof_test {

/// splitmix64: small, fast, deterministic on every platform.
struct rng {
    std::uint64_t state;
    std::uint64_t next() {
        std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    std::size_t below(std::size_t n) { return static_cast<std::size_t>(next() % n); }
};

inline cpprof::profile synthetic_profile(std::size_t num_samples, std::size_t num_functions = 1500,
                                         std::uint64_t seed = 42) {
    static const char* const ns[] = {"app", "net", "db", "util", "std", "boost::asio", "proto", "json"};
    static const char* const cls[] = {"Server", "Connection", "Parser", "Buffer", "Cache",
                                       "Session", "Codec", "Pool", "Router", "Table"};
    static const char* const verb[] = {"handle", "parse", "read", "write", "lookup", "insert",
                                       "encode", "decode", "flush", "update", "compute", "visit"};
    static const char* const args[] = {"()", "(int)", "(std::string const&)",
                                       "(std::vector<double, std::allocator<double> > const&)",
                                       "(char const*, unsigned long)", "(Request&, Response&)"};
    static const char* const threads[] = {"main", "worker-1", "worker-2", "io"};

    rng r{seed};
    cpprof::profile p({{"samples", "count"}, {"cpu", "nanoseconds"}});
    p.set_period({"cpu", "nanoseconds"}, 10000000);
    p.set_time_nanos(1700000000000000000);
    p.set_duration_nanos(30000000000);
    cpprof::mapping exe;
    exe.memory_start = 0x555555554000;
    exe.memory_limit = 0x555555954000;
    exe.file_offset = 0x4000;
    exe.filename = "/srv/app/bin/server";
    exe.build_id = "5f0c7a3d9e2b41c68a1f0e9d7c6b5a4938271605";
    exe.has_functions = true;
    const std::size_t exe_index = p.add_mapping(exe);
    cpprof::mapping libc;
    libc.memory_start = 0x7ffff7c28000;
    libc.memory_limit = 0x7ffff7dbd000;
    libc.file_offset = 0x28000;
    libc.filename = "/usr/lib/x86_64-linux-gnu/libc.so.6";
    libc.build_id = "c047672cae7964324658491e7dee26748ae5d2f8";
    libc.has_functions = true;
    const std::size_t libc_index = p.add_mapping(libc);

    // Functions, each with a few call sites (address, line) and a fixed set of callees.
    struct function {
        std::string name, file;
        std::uint64_t base;
        std::size_t mapping;
        std::vector<std::size_t> callees;
    };
    std::vector<function> fns(num_functions);
    for (std::size_t i = 0; i < num_functions; ++i) {
        function& f = fns[i];
        const bool in_libc = i % 17 == 16;
        if (i == 0) f.name = "main";
        else if (in_libc) f.name = std::string("__libc_") + verb[r.below(12)] + std::to_string(i);
        else
            f.name = std::string(ns[r.below(8)]) + "::" + cls[r.below(10)] + "::" + verb[r.below(12)] +
                     "_" + std::to_string(i) + args[r.below(6)];
        f.file = in_libc ? "" : "src/" + std::string(cls[i % 10]) + "/" + verb[i % 12] + ".cpp";
        f.mapping = in_libc ? libc_index : exe_index;
        f.base = (in_libc ? libc.memory_start : exe.memory_start) + 0x1000 + 0x400 * i;
        const std::size_t n = 1 + r.below(4);
        for (std::size_t k = 0; k < n; ++k) f.callees.push_back(1 + r.below(num_functions - 1));
    }
    auto site = [&](std::size_t fn, std::size_t k, bool inlined) {
        cpprof::frame fr;
        const function& f = fns[fn];
        fr.address = f.base + 0x10 * k + 5;
        fr.function = f.name;
        fr.file = f.file;
        fr.line = f.file.empty() ? 0 : static_cast<int>(10 + 7 * k);
        fr.mapping = f.mapping;
        fr.inlined = inlined;
        return fr;
    };

    // A pool of distinct stacks (random walks down the call tree); samples draw from it with
    // a skew, so hot stacks recur with different labels as in a real unmerged profile.
    std::vector<std::vector<cpprof::frame_id>> pool(num_samples / 8 + 1);
    std::vector<cpprof::frame_id> stack;
    for (auto& leaf_first : pool) {
        stack.clear();
        std::size_t fn = 0;
        const std::size_t depth = 4 + r.below(28);
        for (std::size_t d = 0; d < depth; ++d) {
            const std::size_t k = r.below(3);
            if (d + 1 < depth && r.below(10) == 0) {
                // An inlined callee at the caller's call site: folded into one Location.
                const std::size_t callee = fns[fn].callees[r.below(fns[fn].callees.size())];
                cpprof::frame caller = site(fn, k, false);
                cpprof::frame inl = site(callee, k, true);
                inl.address = caller.address;
                inl.mapping = caller.mapping;
                stack.push_back(p.intern(caller));
                stack.push_back(p.intern(inl));
                fn = callee;
                ++d;
            } else {
                stack.push_back(p.intern(site(fn, k, false)));
            }
            fn = fns[fn].callees[r.below(fns[fn].callees.size())];
        }
        leaf_first.assign(stack.rbegin(), stack.rend());  // walked root first
    }
    for (std::size_t s = 0; s < num_samples; ++s) {
        const std::size_t pick = r.below(r.below(pool.size()) + 1);
        const std::int64_t count = 1 + static_cast<std::int64_t>(r.below(4));
        const std::size_t t = r.below(4);
        std::vector<cpprof::label> labels{{"thread", threads[t], 0, ""},
                                          {"thread_id", "", 4000 + static_cast<std::int64_t>(t), ""}};
        p.add_sample(pool[pick], {count, count * 10000000}, std::move(labels));
    }
    return p;
}

}  // namespace cpprof_test
