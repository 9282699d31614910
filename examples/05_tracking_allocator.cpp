// tracking_allocator: how much memory a group of containers holds, allocates and frees, with
// no global operator new replacement and no profiler running.
//
//   g++ -O2 -pthread -I single_include examples/05_tracking_allocator.cpp -o alloc && ./alloc
//
// A tag type names the group: every container whose allocator has that tag adds to the same
// totals (allocation_stats<Tag>()), whatever its element type. allocation_counter counts what
// the current thread allocates inside a scope.
//
// ctest: run
#include <cpprof/cpprof.hpp>

#include <cstdint>
#include <iostream>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

struct index_tag {};    // the search index
struct scratch_tag {};  // per-request scratch buffers

template <class T>
using index_alloc = cpprof::tracking_allocator<T, index_tag>;
template <class T>
using scratch_alloc = cpprof::tracking_allocator<T, scratch_tag>;

using posting_list = std::vector<std::uint32_t, index_alloc<std::uint32_t>>;
using inverted_index =
    std::map<std::string, posting_list, std::less<>,
             index_alloc<std::pair<const std::string, posting_list>>>;

void print(const char* name, const cpprof::allocation_statistics& s) {
    std::cout << name << ": " << s.allocations << " allocations, " << s.deallocations
              << " deallocations, " << s.allocated_bytes / 1024 << " KiB allocated, "
              << s.live_bytes / 1024 << " KiB live, peak " << s.peak_bytes / 1024 << " KiB\n";
}

}  // namespace

int main() {
    inverted_index index;
    for (std::uint32_t doc = 0; doc < 20000; ++doc)
        for (std::uint32_t w = 0; w < 8; ++w)
            index["word" + std::to_string((doc * 7 + w * 13) % 500)].push_back(doc);

    // 200 "requests", each with scratch containers that are freed at the end of the request.
    std::uint64_t hits = 0;
    {
        cpprof::allocation_counter request_counter;  // this thread, this scope
        for (int request = 0; request < 200; ++request) {
            std::vector<std::uint32_t, scratch_alloc<std::uint32_t>> result;
            std::unordered_map<std::uint32_t, int, std::hash<std::uint32_t>,
                               std::equal_to<std::uint32_t>,
                               scratch_alloc<std::pair<const std::uint32_t, int>>>
                seen;
            for (const char* word : {"word1", "word20", "word300"})
                for (std::uint32_t doc : index.find(word)->second)
                    if (++seen[doc] == 1) result.push_back(doc);
            hits += result.size();
        }
        std::cout << "requests: " << hits << " hits; " << request_counter.allocations()
                  << " allocations (" << request_counter.bytes() / 1024
                  << " KiB) on this thread during the requests\n\n";
    }

    print("index   (index_tag)  ", cpprof::allocation_stats<index_tag>());
    print("scratch (scratch_tag)", cpprof::allocation_stats<scratch_tag>());
    std::cout << "\nThe index keeps its memory (live = allocated - freed); the scratch buffers are\n"
                 "all freed (live 0) but their peak shows the most one request held. The map's\n"
                 "std::string keys use std::allocator and are not counted.\n";

    const auto scratch = cpprof::allocation_stats<scratch_tag>();
    return scratch.live_bytes == 0 && cpprof::allocation_stats<index_tag>().live_bytes > 0 ? 0 : 1;
}
