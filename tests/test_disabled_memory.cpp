// Built with CPPROF_ENABLED=0: tracking_allocator and tracking_resource still allocate (they
// forward to their upstream), and nothing is counted anywhere.
#include <cpprof/cpprof.hpp>
#include <cpprof/memory/tracking_allocator.hpp>
#include <cpprof/memory/tracking_resource.hpp>

#include <doctest/doctest.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <memory_resource>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

static_assert(CPPROF_ENABLED == 0, "this file checks the disabled build");

namespace {
struct disabled_tag {};
struct disabled_pmr_tag {};

void check_zero(const cpprof::allocation_statistics& s) {
    CHECK(s.allocations == 0);
    CHECK(s.deallocations == 0);
    CHECK(s.allocated_bytes == 0);
    CHECK(s.freed_bytes == 0);
    CHECK(s.live_bytes == 0);
    CHECK(s.peak_bytes == 0);
}
}  // namespace

TEST_CASE("disabled: tracking_allocator is a plain allocator and counts nothing") {
    using alloc = cpprof::tracking_allocator<int, disabled_tag>;
    static_assert(std::is_empty_v<alloc>);
    static_assert(sizeof(std::vector<int, alloc>) == sizeof(std::vector<int>));

    cpprof::allocation_counter c;
    std::uint64_t counted = 1, counted_bytes = 1;
    {
        std::vector<int, alloc> v;
        v.reserve(1000);
        for (int i = 0; i < 5000; ++i) v.push_back(i);
        CHECK(v.size() == 5000);
        CHECK(v[4999] == 4999);

        using entry = std::vector<char, cpprof::tracking_allocator<char, disabled_tag>>;
        std::map<std::string, entry, std::less<>,
                 cpprof::tracking_allocator<std::pair<const std::string, entry>, disabled_tag>>
            cache;
        cache["k"].assign(1000, 'x');
        CHECK(cache.at("k").size() == 1000);

        counted = c.allocations();
        counted_bytes = c.bytes();
        check_zero(cpprof::allocation_stats<disabled_tag>());
    }
    CHECK(counted == 0);
    CHECK(counted_bytes == 0);
    CHECK(c.deallocations() == 0);
    CHECK(c.freed_bytes() == 0);
    CHECK_FALSE(cpprof::allocation_counter::sees_global_new());
    check_zero(cpprof::allocation_stats<disabled_tag>());

    // The overflow check is not profiling: it stays.
    alloc a;
    CHECK_THROWS_AS((void)a.allocate(std::numeric_limits<std::size_t>::max() / sizeof(int) + 1),
                    std::bad_array_new_length);
}

TEST_CASE("disabled: tracking_resource forwards to its upstream and counts nothing") {
    cpprof::tracking_resource<disabled_pmr_tag> r;
    cpprof::allocation_counter c;
    std::uint64_t counted = 1;
    {
        std::pmr::vector<std::pmr::string> words(&r);
        words.emplace_back(100, 'a');
        CHECK(words.front().size() == 100);
        CHECK(words.front().get_allocator().resource() == &r);
        counted = c.allocations();
    }
    CHECK(counted == 0);
    check_zero(cpprof::allocation_stats<disabled_pmr_tag>());

    cpprof::tracking_resource<disabled_pmr_tag> failing(std::pmr::null_memory_resource());
    CHECK_THROWS_AS((void)failing.allocate(16), std::bad_alloc);
}
