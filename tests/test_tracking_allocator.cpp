// tracking_allocator and tracking_resource: they work in every standard container, count
// exactly what the containers ask for, per tag, across threads, once per allocation for the
// thread (allocation_counter), and a failing upstream changes nothing.
//
// Every test case uses its own tag type, so its totals start at zero whatever ran before it in
// the same process.
#include <cpprof/memory/allocation_counter.hpp>
#include <cpprof/memory/allocation_stats.hpp>
#include <cpprof/memory/tracking_allocator.hpp>
#include <cpprof/memory/tracking_resource.hpp>

#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <limits>
#include <list>
#include <map>
#include <memory>
#include <memory_resource>
#include <mutex>
#include <new>
#include <string>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

static_assert(CPPROF_ENABLED == 1, "tests/test_disabled_memory.cpp checks the disabled build");

namespace {

using cpprof::allocation_statistics;
using cpprof::tracking_allocator;

constexpr std::int64_t batch = cpprof::detail::publish_batch;

template <class Tag>
allocation_statistics stats() {
    return cpprof::allocation_stats<Tag>();
}

/// Counter blocks in a tag's list (threads that used the tag, minus those that adopted a
/// retired block).
template <class Tag>
int counter_blocks() {
    int n = 0;
    for (auto* b = cpprof::detail::tag_registry<Tag>::counters().blocks.load(); b; b = b->next) ++n;
    return n;
}

/// A stateful upstream: equal when the ids are; propagation on copy/move/swap as `Propagate`;
/// select_on_container_copy_construction gives id + 100, so forwarding is visible.
template <class T, bool Propagate = true>
struct id_alloc {
    using value_type = T;
    using propagate_on_container_copy_assignment = std::bool_constant<Propagate>;
    using propagate_on_container_move_assignment = std::bool_constant<Propagate>;
    using propagate_on_container_swap = std::bool_constant<Propagate>;
    using is_always_equal = std::false_type;
    template <class U>
    struct rebind {
        using other = id_alloc<U, Propagate>;
    };

    int id = 0;
    id_alloc() = default;
    explicit id_alloc(int i) : id(i) {}
    template <class U>
    id_alloc(const id_alloc<U, Propagate>& o) : id(o.id) {}  // NOLINT: rebinding conversion

    T* allocate(std::size_t n) { return std::allocator<T>().allocate(n); }
    void deallocate(T* p, std::size_t n) { std::allocator<T>().deallocate(p, n); }
    id_alloc select_on_container_copy_construction() const { return id_alloc(id + 100); }

    template <class U>
    friend bool operator==(const id_alloc& a, const id_alloc<U, Propagate>& b) {
        return a.id == b.id;
    }
    template <class U>
    friend bool operator!=(const id_alloc& a, const id_alloc<U, Propagate>& b) {
        return a.id != b.id;
    }
};

/// An upstream whose allocate always fails.
template <class T>
struct throwing_alloc {
    using value_type = T;
    throwing_alloc() = default;
    template <class U>
    throwing_alloc(const throwing_alloc<U>&) {}  // NOLINT: rebinding conversion
    T* allocate(std::size_t) { throw std::bad_alloc(); }
    void deallocate(T*, std::size_t) {}
    friend bool operator==(const throwing_alloc&, const throwing_alloc&) { return true; }
    friend bool operator!=(const throwing_alloc&, const throwing_alloc&) { return false; }
};

/// A small deterministic generator (the tests must not depend on <random>'s distributions).
struct lcg {
    std::uint64_t state;
    std::uint32_t next() {
        state = state * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<std::uint32_t>(state >> 33);
    }
};

void store_max(std::atomic<std::int64_t>& target, std::int64_t v) {
    std::int64_t cur = target.load();
    while (v > cur && !target.compare_exchange_weak(cur, v)) {
    }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Exact totals.

namespace {
struct reserve_tag {};
}  // namespace

TEST_CASE("tracking_allocator: vector reserve(1000) of int is one allocation of 4000 bytes") {
    {
        std::vector<int, tracking_allocator<int, reserve_tag>> v;
        v.reserve(1000);
        const allocation_statistics s = stats<reserve_tag>();
        CHECK(s.allocations == 1);
        CHECK(s.allocated_bytes == 1000 * sizeof(int));
        CHECK(s.deallocations == 0);
        CHECK(s.freed_bytes == 0);
        CHECK(s.live_bytes == 4000);
        CHECK(s.peak_bytes == 4000);
        for (int i = 0; i < 1000; ++i) v.push_back(i);  // fits: no reallocation
        CHECK(stats<reserve_tag>().allocations == 1);
    }
    const allocation_statistics s = stats<reserve_tag>();
    CHECK(s.allocations == 1);
    CHECK(s.deallocations == 1);
    CHECK(s.allocated_bytes == 4000);
    CHECK(s.freed_bytes == 4000);
    CHECK(s.live_bytes == 0);
    CHECK(s.peak_bytes == 4000);  // the highest live value seen, exact with one thread
}

namespace {
struct seed_tag {};
}  // namespace

// The seed guide's "allocation tracking" test (a 1024-byte buffer allocated and dropped), with
// exact figures instead of "the count went up".
TEST_CASE("tracking_allocator: allocation statistics around a vector") {
    const allocation_statistics before = stats<seed_tag>();
    CHECK(before.allocations == 0);
    {
        std::vector<std::uint8_t, tracking_allocator<std::uint8_t, seed_tag>> buffer(1024, 0);
        CHECK(buffer.size() == 1024);
        const allocation_statistics during = stats<seed_tag>();
        CHECK(during.allocations == 1);
        CHECK(during.allocated_bytes == 1024);
        CHECK(during.live_bytes == 1024);
    }
    const allocation_statistics after = stats<seed_tag>();
    CHECK(after.allocations == 1);
    CHECK(after.deallocations == 1);
    CHECK(after.allocated_bytes == 1024);
    CHECK(after.freed_bytes == 1024);
    CHECK(after.live_bytes == 0);
    CHECK(after.peak_bytes == 1024);
}

namespace {
struct cache_tag {};
template <class T>
using cache_alloc = cpprof::tracking_allocator<T, cache_tag>;
}  // namespace

TEST_CASE("tracking_allocator: a map of vectors (the README example) counts nodes and buffers") {
    using entry = std::vector<char, cache_alloc<char>>;
    using cache_map = std::map<std::string, entry, std::less<>,
                               cache_alloc<std::pair<const std::string, entry>>>;
    static_assert(std::is_same_v<cache_map::allocator_type,
                                 cache_alloc<std::pair<const std::string, entry>>>);
    std::uint64_t node_bytes = 0;
    {
        cache_map cache;
        CHECK(stats<cache_tag>().allocations == 0);  // an empty std::map allocates nothing

        // Each new key: one tree node (its size is the library's business, but the same for
        // every node) and one 1000-byte buffer. The keys are short: no string allocation, and
        // std::string uses std::allocator anyway.
        for (int i = 0; i < 50; ++i) {
            const allocation_statistics before = stats<cache_tag>();
            cache["k" + std::to_string(i)].assign(1000, 'x');
            const allocation_statistics after = stats<cache_tag>();
            REQUIRE(after.allocations == before.allocations + 2);
            const std::uint64_t node = after.allocated_bytes - before.allocated_bytes - 1000;
            if (i == 0) node_bytes = node;
            CHECK(node == node_bytes);
        }
        CHECK(node_bytes >= sizeof(std::pair<const std::string, entry>));
        CHECK(node_bytes < sizeof(std::pair<const std::string, entry>) + 64);

        const allocation_statistics s = stats<cache_tag>();
        CHECK(s.allocations == 100);
        CHECK(s.allocated_bytes == 50 * (1000 + node_bytes));
        CHECK(s.live_bytes == static_cast<std::int64_t>(50 * (1000 + node_bytes)));

        cache.erase("k7");
        CHECK(stats<cache_tag>().deallocations == 2);
        CHECK(stats<cache_tag>().freed_bytes == 1000 + node_bytes);
    }
    const allocation_statistics s = stats<cache_tag>();
    CHECK(s.deallocations == 100);
    CHECK(s.freed_bytes == s.allocated_bytes);
    CHECK(s.live_bytes == 0);
    CHECK(s.peak_bytes == static_cast<std::int64_t>(50 * (1000 + node_bytes)));
}

namespace {
struct tag_a {};
struct tag_b {};
}  // namespace

TEST_CASE("tracking_allocator: tags are independent") {
    std::vector<int, tracking_allocator<int, tag_a>> a;
    std::vector<int, tracking_allocator<int, tag_b>> b;
    a.reserve(10);
    b.reserve(20);
    b.shrink_to_fit();  // empty: frees the 80 bytes
    CHECK(stats<tag_a>().allocations == 1);
    CHECK(stats<tag_a>().allocated_bytes == 40);
    CHECK(stats<tag_a>().deallocations == 0);
    CHECK(stats<tag_b>().allocations == 1);
    CHECK(stats<tag_b>().allocated_bytes == 80);
    CHECK(stats<tag_b>().deallocations == 1);
    CHECK(stats<tag_b>().live_bytes == 0);
    CHECK(stats<tag_a>().live_bytes == 40);
    // The same tag through different element types and upstreams adds to the same totals.
    tracking_allocator<double, tag_a, id_alloc<double>> other{id_alloc<double>(7)};
    double* p = other.allocate(3);
    CHECK(stats<tag_a>().allocations == 2);
    CHECK(stats<tag_a>().allocated_bytes == 40 + 3 * sizeof(double));
    other.deallocate(p, 3);
    CHECK(stats<tag_a>().live_bytes == 40);
    CHECK(stats<tag_b>().allocations == 1);
}

// ---------------------------------------------------------------------------------------------
// The Allocator requirements.

namespace {
struct traits_tag {};
struct other_tag {};

template <class A, class B, class = void>
struct equality_comparable : std::false_type {};
template <class A, class B>
struct equality_comparable<A, B,
                           std::void_t<decltype(std::declval<const A&>() == std::declval<const B&>())>>
    : std::true_type {};
}  // namespace

TEST_CASE("tracking_allocator: rebind, equality and propagation follow the upstream") {
    using plain = tracking_allocator<int, traits_tag>;
    using plain_traits = std::allocator_traits<plain>;
    static_assert(std::is_same_v<plain, tracking_allocator<int, traits_tag, std::allocator<int>>>);
    static_assert(std::is_same_v<plain_traits::value_type, int>);
    static_assert(std::is_same_v<plain_traits::pointer, int*>);
    static_assert(std::is_same_v<plain_traits::size_type, std::size_t>);
    static_assert(std::is_same_v<plain_traits::rebind_alloc<double>,
                                 tracking_allocator<double, traits_tag, std::allocator<double>>>);
    static_assert(std::is_same_v<plain::rebind<char>::other,
                                 tracking_allocator<char, traits_tag, std::allocator<char>>>);
    static_assert(plain_traits::is_always_equal::value);
    static_assert(!plain_traits::propagate_on_container_copy_assignment::value);
    static_assert(plain_traits::propagate_on_container_move_assignment::value);
    static_assert(!plain_traits::propagate_on_container_swap::value);
    // A stateless upstream costs nothing: the allocator is empty and containers keep their size.
    static_assert(std::is_empty_v<plain>);
    static_assert(sizeof(std::vector<int, plain>) == sizeof(std::vector<int>));
    static_assert(sizeof(std::map<int, int, std::less<int>,
                                  tracking_allocator<std::pair<const int, int>, traits_tag>>) ==
                  sizeof(std::map<int, int>));
    static_assert(std::is_nothrow_copy_constructible_v<plain>);
    static_assert(std::is_nothrow_move_constructible_v<plain>);
    // Conversions between element types within a tag, never between tags.
    static_assert(std::is_convertible_v<tracking_allocator<double, traits_tag>, plain>);
    static_assert(!std::is_constructible_v<plain, tracking_allocator<int, other_tag>>);
    static_assert(!std::is_convertible_v<plain, std::allocator<int>>);  // the base is private
    static_assert(equality_comparable<plain, tracking_allocator<double, traits_tag>>::value);
    static_assert(!equality_comparable<plain, tracking_allocator<int, other_tag>>::value);

    using stateful = tracking_allocator<int, traits_tag, id_alloc<int>>;
    using stateful_traits = std::allocator_traits<stateful>;
    static_assert(std::is_same_v<stateful_traits::rebind_alloc<long>,
                                 tracking_allocator<long, traits_tag, id_alloc<long>>>);
    static_assert(!stateful_traits::is_always_equal::value);
    static_assert(stateful_traits::propagate_on_container_copy_assignment::value);
    static_assert(stateful_traits::propagate_on_container_move_assignment::value);
    static_assert(stateful_traits::propagate_on_container_swap::value);
    static_assert(sizeof(stateful) == sizeof(id_alloc<int>));
    using fixed = tracking_allocator<int, traits_tag, id_alloc<int, false>>;
    static_assert(!std::allocator_traits<fixed>::propagate_on_container_copy_assignment::value);
    static_assert(!std::allocator_traits<fixed>::propagate_on_container_move_assignment::value);
    static_assert(!std::allocator_traits<fixed>::propagate_on_container_swap::value);

    const stateful one{id_alloc<int>(1)};
    const stateful also_one{id_alloc<int>(1)};
    const stateful two{id_alloc<int>(2)};
    CHECK(one == also_one);
    CHECK_FALSE(one != also_one);
    CHECK(one != two);
    CHECK_FALSE(one == two);
    // Rebound copies compare equal to their source, both ways (A a(b); a == b and B(a) == b).
    const tracking_allocator<long, traits_tag, id_alloc<long>> rebound(one);
    CHECK(rebound == one);
    CHECK(one == rebound);
    CHECK(stateful(rebound) == one);
    CHECK(rebound.upstream().id == 1);
    CHECK(plain() == plain());

    // select_on_container_copy_construction is the upstream's.
    const stateful selected = stateful_traits::select_on_container_copy_construction(one);
    CHECK(selected.upstream().id == 101);

    // allocate and deallocate through the traits, rebound.
    stateful_traits::rebind_alloc<char> chars(one);
    char* p = std::allocator_traits<decltype(chars)>::allocate(chars, 5);
    CHECK(stats<traits_tag>().allocated_bytes == 5);
    std::allocator_traits<decltype(chars)>::deallocate(chars, p, 5);
    CHECK(stats<traits_tag>().freed_bytes == 5);
}

namespace {
struct aware_tag {};
}  // namespace

TEST_CASE("tracking_allocator: allocator-aware copy, move and swap of containers") {
    using prop = tracking_allocator<int, aware_tag, id_alloc<int, true>>;
    using fixed = tracking_allocator<int, aware_tag, id_alloc<int, false>>;
    using prop_vec = std::vector<int, prop>;
    using fixed_vec = std::vector<int, fixed>;
    auto allocs = [] { return stats<aware_tag>().allocations; };
    auto deallocs = [] { return stats<aware_tag>().deallocations; };

    prop_vec a(100, 1, prop(id_alloc<int>(1)));
    REQUIRE(allocs() == 1);
    CHECK(stats<aware_tag>().allocated_bytes == 400);

    // Copy construction: a new buffer, and the allocator the upstream selects for copies.
    prop_vec b(a);
    CHECK(allocs() == 2);
    CHECK(stats<aware_tag>().allocated_bytes == 800);
    CHECK(b.get_allocator().upstream().id == 101);

    // Move construction steals the buffer and the allocator.
    prop_vec c(std::move(a));
    CHECK(allocs() == 2);
    CHECK(c.get_allocator().upstream().id == 1);
    CHECK(c.size() == 100);

    // Copy assignment with propagation, unequal allocators: the old buffer goes back through the
    // old allocator, the new one comes from the propagated allocator.
    prop_vec d(50, 2, prop(id_alloc<int>(2)));
    CHECK(allocs() == 3);
    const std::uint64_t freed_before = stats<aware_tag>().freed_bytes;
    d = c;
    CHECK(d.get_allocator().upstream().id == 1);
    CHECK(allocs() == 4);
    CHECK(stats<aware_tag>().freed_bytes == freed_before + 200);

    // Move assignment without propagation and unequal allocators: element-wise, new buffer.
    fixed_vec e(10, 3, fixed(id_alloc<int, false>(3)));
    fixed_vec f(30, 4, fixed(id_alloc<int, false>(4)));
    CHECK(allocs() == 6);
    e = std::move(f);
    CHECK(e.get_allocator().upstream().id == 3);
    CHECK(e.size() == 30);
    CHECK(allocs() == 7);  // e needed room for 30

    // Move assignment with propagation: no allocation, the allocator moves along.
    const std::uint64_t allocs_before = allocs();
    d = std::move(b);
    CHECK(allocs() == allocs_before);
    CHECK(d.get_allocator().upstream().id == 101);

    // Swap with propagation exchanges the allocators and allocates nothing.
    prop_vec g(5, 5, prop(id_alloc<int>(5)));
    prop_vec h(6, 6, prop(id_alloc<int>(6)));
    const std::uint64_t before_swap = allocs();
    g.swap(h);
    CHECK(allocs() == before_swap);
    CHECK(g.get_allocator().upstream().id == 6);
    CHECK(h.get_allocator().upstream().id == 5);
    CHECK(g.size() == 6);

    // Swap without propagation (equal allocators required).
    fixed_vec i(7, 7, fixed(id_alloc<int, false>(9)));
    fixed_vec j(8, 8, fixed(id_alloc<int, false>(9)));
    i.swap(j);
    CHECK(i.size() == 8);
    CHECK(allocs() == before_swap + 2);

    // Everything is given back when the containers go.
    a = prop_vec(prop(id_alloc<int>(1)));
    b = prop_vec(prop(id_alloc<int>(1)));
    c = prop_vec(prop(id_alloc<int>(1)));
    d = prop_vec(prop(id_alloc<int>(1)));
    g = prop_vec(prop(id_alloc<int>(1)));
    h = prop_vec(prop(id_alloc<int>(1)));
    e = fixed_vec(fixed(id_alloc<int, false>(3)));
    e.shrink_to_fit();
    f = fixed_vec(fixed(id_alloc<int, false>(4)));
    f.shrink_to_fit();
    i.clear();
    i.shrink_to_fit();
    j.clear();
    j.shrink_to_fit();
    const allocation_statistics s = stats<aware_tag>();
    CHECK(s.deallocations == s.allocations);
    CHECK(deallocs() == s.allocations);
    CHECK(s.freed_bytes == s.allocated_bytes);
    CHECK(s.live_bytes == 0);
}

// ---------------------------------------------------------------------------------------------
// Every standard container.

namespace {
struct vector_tag {};
struct list_tag {};
struct map_tag {};
struct umap_tag {};
struct string_tag {};
struct deque_tag {};
struct shared_tag {};

template <class Tag>
void check_balanced() {
    const allocation_statistics s = stats<Tag>();
    CHECK(s.allocations > 0);
    CHECK(s.deallocations == s.allocations);
    CHECK(s.freed_bytes == s.allocated_bytes);
    CHECK(s.live_bytes == 0);
    CHECK(s.peak_bytes > 0);
}
}  // namespace

TEST_CASE("tracking_allocator: works in vector, list, map, unordered_map, string, deque, shared_ptr") {
    SUBCASE("std::vector grows by reallocation") {
        {
            std::vector<int, tracking_allocator<int, vector_tag>> v;
            std::uint64_t reallocations = 0;
            std::size_t capacity = 0;
            std::uint64_t bytes = 0;
            std::size_t peak = 0;
            for (int i = 0; i < 1000; ++i) {
                v.push_back(i);
                if (v.capacity() != capacity) {
                    peak = std::max(peak, (capacity + v.capacity()) * sizeof(int));
                    capacity = v.capacity();
                    bytes += capacity * sizeof(int);
                    ++reallocations;
                }
            }
            CHECK(stats<vector_tag>().allocations == reallocations);
            CHECK(stats<vector_tag>().allocated_bytes == bytes);
            CHECK(stats<vector_tag>().deallocations == reallocations - 1);
            CHECK(stats<vector_tag>().live_bytes ==
                  static_cast<std::int64_t>(v.capacity() * sizeof(int)));
            // while growing, old and new buffers are both live
            CHECK(stats<vector_tag>().peak_bytes == static_cast<std::int64_t>(peak));
        }
        check_balanced<vector_tag>();
    }
    SUBCASE("std::list: one node per element") {
        {
            std::list<int, tracking_allocator<int, list_tag>> l;
            for (int i = 0; i < 100; ++i) l.push_back(i);
            CHECK(stats<list_tag>().allocations == 100);
            CHECK(stats<list_tag>().allocated_bytes % 100 == 0);
            CHECK(stats<list_tag>().allocated_bytes >= 100 * (sizeof(int) + 2 * sizeof(void*)));
            l.pop_front();
            CHECK(stats<list_tag>().deallocations == 1);
            CHECK(stats<list_tag>().freed_bytes * 100 == stats<list_tag>().allocated_bytes);
        }
        check_balanced<list_tag>();
    }
    SUBCASE("std::map: one node per element") {
        {
            std::map<int, int, std::less<int>, tracking_allocator<std::pair<const int, int>, map_tag>>
                m;
            for (int i = 0; i < 100; ++i) m[i] = i;
            m.erase(5);
            CHECK(stats<map_tag>().allocations == 100);
            CHECK(stats<map_tag>().deallocations == 1);
        }
        check_balanced<map_tag>();
    }
    SUBCASE("std::unordered_map: nodes and buckets") {
        {
            std::unordered_map<int, int, std::hash<int>, std::equal_to<int>,
                               tracking_allocator<std::pair<const int, int>, umap_tag>>
                m;
            m.reserve(200);  // the bucket array, once
            const std::uint64_t buckets = stats<umap_tag>().allocations;
            CHECK(buckets == 1);
            for (int i = 0; i < 100; ++i) m.emplace(i, i);
            CHECK(stats<umap_tag>().allocations == buckets + 100);
        }
        check_balanced<umap_tag>();
    }
    SUBCASE("std::basic_string: the heap buffer, not the small-string one") {
        using tracked_string =
            std::basic_string<char, std::char_traits<char>, tracking_allocator<char, string_tag>>;
        {
            tracked_string small("short");
            CHECK(stats<string_tag>().allocations == 0);
            tracked_string s(100, 'x');
            CHECK(stats<string_tag>().allocations == 1);
            // the buffer holds capacity() characters and the terminating null
            CHECK(stats<string_tag>().allocated_bytes == s.capacity() + 1);
            for (int i = 0; i < 1000; ++i) s += 'y';
            CHECK(stats<string_tag>().allocations > 1);
            CHECK(stats<string_tag>().live_bytes == static_cast<std::int64_t>(s.capacity() + 1));
        }
        check_balanced<string_tag>();
    }
    SUBCASE("std::deque: blocks and the map") {
        {
            std::deque<int, tracking_allocator<int, deque_tag>> d;
            for (int i = 0; i < 10000; ++i) d.push_back(i);
            for (int i = 0; i < 5000; ++i) d.pop_front();  // frees whole blocks
            CHECK(stats<deque_tag>().deallocations > 0);
            CHECK(stats<deque_tag>().live_bytes > 5000 * static_cast<std::int64_t>(sizeof(int)));
        }
        check_balanced<deque_tag>();
    }
    SUBCASE("std::allocate_shared: object and control block in one allocation") {
        struct payload {
            char bytes[200];
        };
        {
            std::shared_ptr<payload> p =
                std::allocate_shared<payload>(tracking_allocator<payload, shared_tag>());
            std::weak_ptr<payload> w = p;
            CHECK(stats<shared_tag>().allocations == 1);
            CHECK(stats<shared_tag>().allocated_bytes >= sizeof(payload));
            CHECK(stats<shared_tag>().allocated_bytes < sizeof(payload) + 64);
            p.reset();
            CHECK(stats<shared_tag>().deallocations == 0);  // the weak_ptr keeps the block
        }
        check_balanced<shared_tag>();
    }
}

// ---------------------------------------------------------------------------------------------
// Peaks and threads.

namespace {
struct peak_tag {};
}  // namespace

TEST_CASE("tracking_allocator: the peak is exact with one thread") {
    using alloc = tracking_allocator<char, peak_tag>;
    alloc a;
    char* three = a.allocate(3 << 20);
    a.deallocate(three, 3 << 20);
    char* one = a.allocate(1 << 20);
    allocation_statistics s = stats<peak_tag>();
    CHECK(s.peak_bytes == 3 << 20);
    CHECK(s.live_bytes == 1 << 20);
    a.deallocate(one, 1 << 20);

    // Small blocks (below the publish batch) and large ones mixed: still exact.
    std::vector<std::pair<char*, std::size_t>> held;
    for (std::size_t i = 1; i <= 2000; ++i) held.emplace_back(a.allocate(i), i);  // 2001000 B
    for (std::size_t i = 0; i < 1000; ++i) a.deallocate(held[i].first, held[i].second);
    held.erase(held.begin(), held.begin() + 1000);  // 1500500 B left
    char* big = a.allocate(4 << 20);
    s = stats<peak_tag>();
    CHECK(s.live_bytes == 1500500 + (4 << 20));
    CHECK(s.peak_bytes == 1500500 + (4 << 20));
    a.deallocate(big, 4 << 20);
    for (auto& [p, n] : held) a.deallocate(p, n);
    s = stats<peak_tag>();
    CHECK(s.live_bytes == 0);
    CHECK(s.peak_bytes == 1500500 + (4 << 20));
}

namespace {
struct mt_tag {};
}  // namespace

TEST_CASE("tracking_allocator: 8 threads, blocks freed on other threads: exact totals, bounded peak") {
    using alloc = tracking_allocator<char, mt_tag>;
    constexpr int threads = 8;
    constexpr int pairs = 10000;
    constexpr std::size_t max_block = 2048;
    constexpr std::size_t window = 256;  // blocks a thread holds itself

    struct block {
        char* p;
        std::size_t n;
    };
    std::mutex queue_mutex;
    std::deque<block> queue;  // blocks allocated on one thread, freed on another

    // The test's own view of the live total: raised after each allocate, lowered before each
    // deallocate, so it is never above the true value and at most one block per thread below.
    std::atomic<std::int64_t> test_live{0};
    std::atomic<std::int64_t> test_peak{0};
    std::atomic<int> at_barrier{0};
    std::vector<std::uint64_t> bytes(threads, 0);
    std::vector<std::int64_t> own_peak(threads, 0);   // most a thread held of its own blocks
    std::vector<std::int64_t> own_final(threads, 0);  // what it held at the barrier

    auto worker = [&](int t) {
        alloc a;
        lcg rng{static_cast<std::uint64_t>(t) + 1};
        std::deque<block> mine;
        std::int64_t held = 0;
        auto give_back = [&](block b) {
            test_live.fetch_sub(static_cast<std::int64_t>(b.n));
            a.deallocate(b.p, b.n);
        };
        for (int i = 0; i < pairs; ++i) {
            const std::size_t n = 1 + rng.next() % max_block;
            char* p = a.allocate(n);
            p[0] = p[n - 1] = static_cast<char>(i);  // the memory is really ours
            store_max(test_peak, test_live.fetch_add(static_cast<std::int64_t>(n)) +
                                     static_cast<std::int64_t>(n));
            bytes[static_cast<std::size_t>(t)] += n;
            if (i % 4 == 3) {  // 2500 blocks each go to the queue; 1250 come back out
                std::lock_guard<std::mutex> lock(queue_mutex);
                queue.push_back({p, n});
            } else {
                mine.push_back({p, n});
                held += static_cast<std::int64_t>(n);
                own_peak[static_cast<std::size_t>(t)] =
                    std::max(own_peak[static_cast<std::size_t>(t)], held);
                if (mine.size() > window) {
                    held -= static_cast<std::int64_t>(mine.front().n);
                    give_back(mine.front());
                    mine.pop_front();
                }
            }
            if (i % 8 == 7) {
                block other{nullptr, 0};
                {
                    std::lock_guard<std::mutex> lock(queue_mutex);
                    if (!queue.empty()) {
                        other = queue.front();
                        queue.pop_front();
                    }
                }
                if (other.p != nullptr) give_back(other);
            }
        }
        // Everyone holds a full window at once here, so the true peak is at least their sum.
        own_final[static_cast<std::size_t>(t)] = held;
        at_barrier.fetch_add(1);
        while (at_barrier.load() < threads) std::this_thread::yield();
        for (const block& b : mine) give_back(b);
    };

    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) pool.emplace_back(worker, t);
    for (std::thread& th : pool) th.join();
    const std::size_t left_in_queue = queue.size();
    {
        alloc a;
        for (const block& b : queue) {
            test_live.fetch_sub(static_cast<std::int64_t>(b.n));
            a.deallocate(b.p, b.n);
        }
        queue.clear();
    }
    CHECK(left_in_queue >= static_cast<std::size_t>(threads) * (pairs / 4 - pairs / 8));

    std::uint64_t total_bytes = 0;
    for (std::uint64_t b : bytes) total_bytes += b;
    const allocation_statistics s = stats<mt_tag>();
    CHECK(s.allocations == static_cast<std::uint64_t>(threads) * pairs);
    CHECK(s.deallocations == static_cast<std::uint64_t>(threads) * pairs);
    CHECK(s.allocated_bytes == total_bytes);
    CHECK(s.freed_bytes == total_bytes);
    CHECK(s.live_bytes == 0);
    CHECK(test_live.load() == 0);

    // The documented bound: within publish_batch bytes per thread of the true peak. The true
    // peak lies in [test_peak, test_peak + one block per thread].
    const std::int64_t true_low = test_peak.load();
    const std::int64_t true_high = true_low + threads * static_cast<std::int64_t>(max_block);
    INFO("reported peak " << s.peak_bytes << ", true peak in [" << true_low << ", " << true_high
                          << "]");
    CHECK(s.peak_bytes >= true_low - threads * batch);
    CHECK(s.peak_bytes <= true_high + threads * batch);
    // Never below what one thread held alone. (Provable here: at the barrier all threads held
    // their windows, whose sum minus the bound still exceeds any single thread's most.)
    std::int64_t sum_final = 0;
    for (std::int64_t h : own_final) sum_final += h;
    const std::int64_t largest_own = *std::max_element(own_peak.begin(), own_peak.end());
    REQUIRE(sum_final - threads * batch > largest_own);
    CHECK(s.peak_bytes >= largest_own);
    CHECK(s.peak_bytes >= sum_final - threads * batch);
    CHECK(counter_blocks<mt_tag>() <= threads + 1);
}

namespace {
struct stale_tag {};
}  // namespace

// A thread's view of the shared total can be old: other threads may have freed a lot since it
// last published. A large allocation must not be added to that old view as a peak.
TEST_CASE("tracking_allocator: the peak is not overestimated after other threads free memory") {
    using alloc = tracking_allocator<char, stale_tag>;
    constexpr std::size_t ten = 10u << 20, three = 3u << 20;
    alloc a;
    char* big = nullptr;
    std::thread([&] { big = alloc().allocate(ten); }).join();  // live: 10 MiB (published)
    a.deallocate(a.allocate(1), 1);                           // this thread joins: sees 10 MiB
    std::thread([&] { alloc().deallocate(big, ten); }).join();  // freed elsewhere: live 0
    char* p = a.allocate(three);                              // live 3 MiB; true peak 10 MiB + 1
    const allocation_statistics s = stats<stale_tag>();
    CHECK(s.live_bytes == static_cast<std::int64_t>(three));
    CHECK(s.peak_bytes >= static_cast<std::int64_t>(ten));
    CHECK(s.peak_bytes <= static_cast<std::int64_t>(ten) + 1 + 3 * batch);  // 3 threads used it
    a.deallocate(p, three);
}

namespace {
struct relay_tag {};
}  // namespace

TEST_CASE("tracking_allocator: threads that exit hand their counters to new threads") {
    using alloc = tracking_allocator<char, relay_tag>;
    // 100 short threads, one after the other. Each frees the block its predecessor left,
    // allocates 100 blocks of 1000 bytes, frees 99 and leaves one to its successor.
    char* baton = nullptr;
    for (int t = 0; t < 100; ++t) {
        std::thread([&] {
            alloc a;
            if (baton != nullptr) a.deallocate(baton, 1000);
            std::vector<char*> mine;
            for (int i = 0; i < 100; ++i) mine.push_back(a.allocate(1000));
            for (int i = 1; i < 100; ++i) a.deallocate(mine[static_cast<std::size_t>(i)], 1000);
            baton = mine[0];
        }).join();
    }
    allocation_statistics s = stats<relay_tag>();
    CHECK(s.allocations == 100 * 100);
    CHECK(s.deallocations == 100 * 99 + 99);
    CHECK(s.allocated_bytes == 100 * 100 * 1000);
    CHECK(s.live_bytes == 1000);  // the last baton, its thread long gone
    // One thread at a time: every thread publishes when it exits and the next starts from
    // there, so the peak is exact.
    CHECK(s.peak_bytes == 100 * 1000);
    // Each thread adopted the block the previous one retired: one block, not one hundred.
    CHECK(counter_blocks<relay_tag>() == 1);

    alloc().deallocate(baton, 1000);  // this thread adopts the retired block too
    s = stats<relay_tag>();
    CHECK(s.live_bytes == 0);
    CHECK(s.deallocations == s.allocations);
    CHECK(counter_blocks<relay_tag>() == 1);
}

// ---------------------------------------------------------------------------------------------
// allocation_counter.

namespace {
struct counter_tag {};
struct outer_tag {};
struct inner_tag {};
}  // namespace

TEST_CASE("tracking_allocator: allocation_counter sees this thread's allocations, not others'") {
    using alloc = tracking_allocator<int, counter_tag>;
    std::atomic<int> step{0};
    std::thread other([&] {
        while (step.load() != 1) std::this_thread::yield();
        std::vector<int, alloc> v;
        v.reserve(500);
        step.store(2);
        while (step.load() != 3) std::this_thread::yield();
    });

    cpprof::allocation_counter c;
    step.store(1);
    while (step.load() != 2) std::this_thread::yield();
    const std::uint64_t others = c.allocations();  // the other thread allocated 2000 bytes
    const std::uint64_t others_bytes = c.bytes();
    std::uint64_t mine = 0, mine_bytes = 0, mine_freed = 0, mine_deallocs = 0;
    {
        std::vector<int, alloc> v;
        v.reserve(10);
        v.reserve(30);
        mine = c.allocations();
        mine_bytes = c.bytes();
    }
    mine_deallocs = c.deallocations();
    mine_freed = c.freed_bytes();
    step.store(3);
    other.join();

    CHECK(others == 0);
    CHECK(others_bytes == 0);
    CHECK(mine == 2);
    CHECK(mine_bytes == 40 + 120);
    CHECK(mine_deallocs == 2);
    CHECK(mine_freed == 160);
    CHECK(stats<counter_tag>().allocations == 3);  // the tag counts every thread
}

TEST_CASE("tracking_allocator: nested layers count once for the thread and once per tag") {
    using inner = tracking_allocator<int, inner_tag>;
    using outer = tracking_allocator<int, outer_tag, inner>;
    static_assert(std::is_empty_v<outer>);
    static_assert(std::is_same_v<std::allocator_traits<outer>::rebind_alloc<char>,
                                 tracking_allocator<char, outer_tag,
                                                    tracking_allocator<char, inner_tag>>>);
    std::uint64_t allocations = 0, bytes = 0, deallocations = 0, freed = 0;
    {
        cpprof::allocation_counter c;
        {
            std::vector<int, outer> v;
            v.reserve(25);
            allocations = c.allocations();
            bytes = c.bytes();
        }
        deallocations = c.deallocations();
        freed = c.freed_bytes();
    }
    CHECK(allocations == 1);
    CHECK(bytes == 100);
    CHECK(deallocations == 1);
    CHECK(freed == 100);
    CHECK(stats<outer_tag>().allocations == 1);
    CHECK(stats<outer_tag>().allocated_bytes == 100);
    CHECK(stats<outer_tag>().freed_bytes == 100);
    CHECK(stats<inner_tag>().allocations == 1);
    CHECK(stats<inner_tag>().allocated_bytes == 100);
    CHECK(stats<inner_tag>().freed_bytes == 100);
    CHECK(cpprof::detail::t_alloc_state.layer_depth == 0);
}

// ---------------------------------------------------------------------------------------------
// Failure.

namespace {
struct throw_tag {};
struct throw_outer_tag {};
struct overflow_tag {};
}  // namespace

TEST_CASE("tracking_allocator: a throwing upstream changes no counter") {
    using failing = tracking_allocator<int, throw_tag, throwing_alloc<int>>;
    using layered = tracking_allocator<int, throw_outer_tag, failing>;
    const std::uint64_t thread_before = cpprof::detail::t_alloc_state.allocations;

    failing f;
    CHECK_THROWS_AS((void)f.allocate(10), std::bad_alloc);
    layered l;
    CHECK_THROWS_AS((void)l.allocate(10), std::bad_alloc);
    std::vector<int, layered> v;
    CHECK_THROWS_AS(v.reserve(10), std::bad_alloc);

    CHECK(cpprof::detail::t_alloc_state.layer_depth == 0);  // every scope was left
    CHECK(cpprof::detail::t_alloc_state.allocations == thread_before);
    CHECK(stats<throw_tag>().allocations == 0);
    CHECK(stats<throw_tag>().allocated_bytes == 0);
    CHECK(stats<throw_outer_tag>().allocations == 0);
    CHECK(stats<throw_tag>().peak_bytes == 0);

    // The thread still counts what comes next.
    std::uint64_t counted = 0;
    {
        cpprof::allocation_counter c;
        std::vector<int, tracking_allocator<int, throw_tag>> w;
        w.reserve(3);
        counted = c.allocations();
    }
    CHECK(counted == 1);
    CHECK(stats<throw_tag>().allocations == 1);
    CHECK(stats<throw_tag>().allocated_bytes == 12);
}

TEST_CASE("tracking_allocator: n * sizeof(T) overflowing throws std::bad_array_new_length") {
    tracking_allocator<std::uint64_t, overflow_tag> a;
    const std::size_t too_many = std::numeric_limits<std::size_t>::max() / sizeof(std::uint64_t) + 1;
    // 0: no exception, 1: std::bad_alloc, 2: std::bad_array_new_length (a bad_alloc too).
    auto thrown = [&](std::size_t n) {
        try {
            a.deallocate(a.allocate(n), n);
            return 0;
        } catch (const std::bad_array_new_length&) {
            return 2;
        } catch (const std::bad_alloc&) {
            return 1;
        }
    };
    CHECK(thrown(too_many) == 2);
    // Representable but more than std::allocator can give: the upstream's own bad_alloc.
    CHECK(thrown(too_many - 1) == 1);
    CHECK(a.max_size() == std::allocator_traits<std::allocator<std::uint64_t>>::max_size(
                              std::allocator<std::uint64_t>()));
    CHECK(stats<overflow_tag>().allocations == 0);
    CHECK(stats<overflow_tag>().allocated_bytes == 0);
    CHECK(cpprof::detail::t_alloc_state.layer_depth == 0);
}

// ---------------------------------------------------------------------------------------------
// tracking_resource.

namespace {
struct pmr_tag {};
struct arena_tag {};
struct arena_chunks_tag {};
struct pmr_null_tag {};
struct pmr_outer_tag {};
struct pmr_inner_tag {};
}  // namespace

TEST_CASE("tracking_resource: std::pmr::vector and std::pmr::string count through it") {
    cpprof::tracking_resource<pmr_tag> r;
    CHECK(r.upstream_resource() == std::pmr::get_default_resource());
    CHECK(r.is_equal(r));
    cpprof::tracking_resource<pmr_tag> other;
    CHECK_FALSE(r.is_equal(other));  // same tag, different object: not interchangeable

    std::uint64_t counted = 0, counted_bytes = 0;
    {
        cpprof::allocation_counter c;
        std::pmr::vector<int> v(&r);
        v.reserve(1000);
        counted = c.allocations();
        counted_bytes = c.bytes();
        CHECK(stats<pmr_tag>().allocations == 1);
        CHECK(stats<pmr_tag>().allocated_bytes == 4000);

        std::pmr::string s(100, 'x', &r);
        CHECK(stats<pmr_tag>().allocations == 2);
        CHECK(stats<pmr_tag>().allocated_bytes == 4000 + s.capacity() + 1);

        // Uses-allocator construction: the strings inside take the vector's resource.
        std::pmr::vector<std::pmr::string> words(&r);
        words.reserve(2);
        words.emplace_back(50, 'a');
        CHECK(words.back().get_allocator().resource() == &r);
        CHECK(stats<pmr_tag>().allocations == 4);
    }
    CHECK(counted == 1);
    CHECK(counted_bytes == 4000);
    const allocation_statistics s = stats<pmr_tag>();
    CHECK(s.deallocations == 4);
    CHECK(s.freed_bytes == s.allocated_bytes);
    CHECK(s.live_bytes == 0);
    CHECK(cpprof::detail::t_alloc_state.layer_depth == 0);
}

TEST_CASE("tracking_resource: over and under a monotonic_buffer_resource") {
    SUBCASE("counting what an arena hands out") {
        alignas(std::max_align_t) static unsigned char buffer[64 * 1024];
        std::pmr::monotonic_buffer_resource arena(buffer, sizeof buffer,
                                                  std::pmr::null_memory_resource());
        cpprof::tracking_resource<arena_tag> r(&arena);
        CHECK(r.upstream_resource() == &arena);
        {
            std::pmr::vector<int> v(&r);
            v.reserve(100);
            const auto p = reinterpret_cast<std::uintptr_t>(v.data());
            const auto start = reinterpret_cast<std::uintptr_t>(buffer);
            CHECK(p >= start);
            CHECK(p < start + sizeof buffer);
            CHECK(stats<arena_tag>().allocated_bytes == 400);
            v.reserve(200);  // the arena never gives back, but the caller did
            CHECK(stats<arena_tag>().live_bytes == 800);
        }
        CHECK(stats<arena_tag>().allocations == 2);
        CHECK(stats<arena_tag>().deallocations == 2);
        CHECK(stats<arena_tag>().live_bytes == 0);
        CHECK(stats<arena_tag>().peak_bytes == 1200);
        // The arena's own limit comes back as the upstream's exception, counters untouched.
        CHECK_THROWS_AS((void)r.allocate(1 << 20), std::bad_alloc);
        CHECK(stats<arena_tag>().allocations == 2);
        CHECK(cpprof::detail::t_alloc_state.layer_depth == 0);
    }
    SUBCASE("counting what an arena asks its upstream for") {
        cpprof::tracking_resource<arena_chunks_tag> r;
        {
            std::pmr::monotonic_buffer_resource arena(&r);
            std::pmr::vector<int> v(&arena);
            for (int i = 0; i < 1000; ++i) v.push_back(i);
            const allocation_statistics s = stats<arena_chunks_tag>();
            CHECK(s.allocations >= 1);
            CHECK(s.allocated_bytes >= 1000 * sizeof(int));
            CHECK(s.deallocations == 0);  // an arena frees only on release()
            arena.release();
            CHECK(stats<arena_chunks_tag>().deallocations == s.allocations);
        }
        CHECK(stats<arena_chunks_tag>().live_bytes == 0);
    }
}

TEST_CASE("tracking_resource: failure, and layering with tracking_allocator") {
    cpprof::tracking_resource<pmr_null_tag> failing(std::pmr::null_memory_resource());
    CHECK_THROWS_AS((void)failing.allocate(16), std::bad_alloc);
    CHECK(stats<pmr_null_tag>().allocations == 0);
    CHECK(cpprof::detail::t_alloc_state.layer_depth == 0);

    // tracking_allocator over a polymorphic_allocator over a tracking_resource: both tags count,
    // the thread counts once.
    cpprof::tracking_resource<pmr_inner_tag> r;
    using outer = tracking_allocator<int, pmr_outer_tag, std::pmr::polymorphic_allocator<int>>;
    std::uint64_t counted = 0;
    {
        cpprof::allocation_counter c;
        const outer a{std::pmr::polymorphic_allocator<int>(&r)};
        std::vector<int, outer> v(a);
        v.reserve(8);
        counted = c.allocations();
        CHECK(v.get_allocator().upstream().resource() == &r);
    }
    CHECK(counted == 1);
    CHECK(stats<pmr_outer_tag>().allocated_bytes == 32);
    CHECK(stats<pmr_outer_tag>().live_bytes == 0);
    CHECK(stats<pmr_inner_tag>().allocations == 1);
    CHECK(stats<pmr_inner_tag>().allocated_bytes == 32);
    CHECK(stats<pmr_inner_tag>().live_bytes == 0);
}
