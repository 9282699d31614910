// Labels: which kind of request the CPU time goes to, from one profile.
//
//   g++ -O2 -pthread -I single_include examples/18_labels.cpp -o labels && ./labels
//   go tool pprof -tags labels.pb.gz                               # each label's share
//   go tool pprof -top -tagfocus=route=/api/report labels.pb.gz    # one route's functions
//
// The request handler labels its work: CPPROF_LABEL("route", ...) for the rest of the scope,
// and a nested cpprof::label_guard for the tenant (a guard costs a few ns, cheap enough for
// every request). Each CPU sample taken on the thread inside carries route=... and
// tenant=...; then
//   label_values(p, "route")                      the weight of each route
//   filter(p, "route", "/api/report")             that route's samples only, as a profile
//   flamegraph_options{}.group_by_label("route")  a flame graph with one root per route
//   write_pprof(p, ...)                           the labels are pprof labels (-tags)
//
// A .cpp that only labels can include the light <cpprof/macros.hpp> (CPPROF_LABEL and
// label_guard; in include/, not a separate file of the single header).
//
// ctest: run
#include <cpprof/cpprof.hpp>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

namespace {

volatile std::uint64_t sink;

struct request {
    std::string route, tenant;
};

const std::vector<std::string>& documents() {
    static const std::vector<std::string> docs = [] {
        std::vector<std::string> d;
        for (int i = 0; i < 40'000; ++i)
            d.push_back("document " + std::to_string(i) + " about " +
                        std::to_string(i * 7919 % 1000));
        return d;
    }();
    return docs;
}

__attribute__((noinline)) std::uint64_t search_documents(const std::string& needle) {
    std::uint64_t hits = 0;
    for (const std::string& d : documents()) hits += d.find(needle) != std::string::npos;
    return hits;
}

__attribute__((noinline)) std::uint64_t build_report(int seed) {
    std::vector<std::uint32_t> rows(10'000);
    std::uint32_t x = static_cast<std::uint32_t>(seed) * 2654435761u + 1;
    for (auto& r : rows) r = x = x * 1664525u + 1013904223u;
    std::sort(rows.begin(), rows.end());
    return rows[rows.size() / 2];
}

void handle(const request& r, int n) {
    CPPROF_LABEL("route", r.route);                     // the rest of this function
    const cpprof::label_guard tenant{"tenant", r.tenant};  // nested: samples get both
    if (r.route == "/api/search")
        sink = search_documents("about " + std::to_string(n % 1000));
    else
        sink = build_report(n);
}

// One line per label value: its share of the profile's total.
void print_shares(const cpprof::profile& p, const char* key) {
    const double total = static_cast<double>(p.total(p.default_sample_index()));
    std::int64_t labelled = 0;
    for (const auto& [value, weight] : cpprof::label_values(p, key)) {
        const std::string name = std::string(key) + "=" + value;
        std::printf("  %-20s %5.1f%%\n", name.c_str(), 100 * static_cast<double>(weight) / total);
        labelled += weight;
    }
    const std::string none = std::string("(no ") + key + ")";
    std::printf("  %-20s %5.1f%%\n", none.c_str(),
                100 * (1 - static_cast<double>(labelled) / total));
}

}  // namespace

int main() {
    // Three searches for every report, from two tenants.
    const std::vector<request> mix = {{"/api/search", "acme"},
                                      {"/api/search", "globex"},
                                      {"/api/search", "acme"},
                                      {"/api/report", "globex"}};
    const int requests = 800;
    documents();  // built before profiling

    cpprof::profiler_guard<cpprof::high_precision> guard;
    for (int n = 0; n < requests; ++n) handle(mix[n % mix.size()], n);
    const cpprof::profile p = guard.stop();

    std::cout << p.total_samples() << " samples of " << requests
              << " requests (3 searches per report)\n\nby route:\n";
    print_shares(p, "route");
    std::cout << "by tenant:\n";
    print_shares(p, "tenant");

    // filter(): one route's samples, a profile like any other.
    std::cout << "\n";
    for (const char* route : {"/api/search", "/api/report"}) {
        const cpprof::profile only = cpprof::filter(p, "route", route);
        std::printf("route=%-12s %4llu samples: %5.1f%% under search_documents, "
                    "%5.1f%% under build_report\n",
                    route, static_cast<unsigned long long>(only.total_samples()),
                    100 * cpprof::fraction(only, "search_documents"),
                    100 * cpprof::fraction(only, "build_report"));
    }

    cpprof::write_flamegraph(
        p, "labels_by_route.svg",
        cpprof::flamegraph_options{}.group_by_label("route").title("CPU by route"));
    cpprof::write_pprof(p, "labels.pb.gz");
    std::cout << "\nwrote labels_by_route.svg (one root per route: route=/api/search, ...)\n"
              << "wrote labels.pb.gz (go tool pprof -tags labels.pb.gz)\n";

    // Both routes were sampled, and each route's samples are its own work only.
    const cpprof::profile reports = cpprof::filter(p, "route", "/api/report");
    const cpprof::profile searches = cpprof::filter(p, "route", "/api/search");
    const bool ok = reports.total_samples() > 0 && searches.total_samples() > 0 &&
                    cpprof::fraction(reports, "search_documents") == 0 &&
                    cpprof::fraction(searches, "build_report") == 0;
    return ok ? 0 : 1;
}
