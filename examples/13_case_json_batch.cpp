// Case study 1: a CPU hotspot in JSON processing, per item versus in one batch.
//
//   g++ -O2 -pthread -I single_include examples/13_case_json_batch.cpp -o json && ./json
//
// Before: every user is serialised on its own, through a fresh std::ostringstream (a locale,
// a stream buffer, a string per item), and parsed back on its own.
// After:  all users are appended to one reserved std::string and parsed back in one pass.
// The profiler shows where "before" spends its time; the numbers below are measured now, on
// this machine: wall time, CPU samples, allocations per user, and the share of the samples spent
// serialising (under to_json_stream / append_json) and parsing (under parse_user).
//
// ctest: run
#define CPPROF_IMPLEMENT_GLOBAL_NEW  // so allocation_counter sees every operator new
#include <cpprof/cpprof.hpp>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

struct user {
    std::uint64_t id = 0;
    std::string name, email;
    std::vector<std::string> tags;
};

std::vector<user> make_users(int n) {
    std::vector<user> users;
    for (int i = 0; i < n; ++i)
        users.push_back({static_cast<std::uint64_t>(i), "user_" + std::to_string(i),
                         "user" + std::to_string(i) + "@example.com", {"tag1", "tag2"}});
    return users;
}

// ---- a minimal JSON writer and reader for `user` (enough for this data: no escapes) ----

__attribute__((noinline)) std::string to_json_stream(const user& u) {  // before
    std::ostringstream os;
    os << "{\"id\":" << u.id << ",\"name\":\"" << u.name << "\",\"email\":\"" << u.email
       << "\",\"tags\":[";
    for (std::size_t i = 0; i < u.tags.size(); ++i) os << (i ? ",\"" : "\"") << u.tags[i] << '"';
    os << "]}";
    return os.str();
}

__attribute__((noinline)) void append_json(std::string& out, const user& u) {  // after
    out += "{\"id\":";
    out += std::to_string(u.id);
    out += ",\"name\":\"";
    out += u.name;
    out += "\",\"email\":\"";
    out += u.email;
    out += "\",\"tags\":[";
    for (std::size_t i = 0; i < u.tags.size(); ++i) {
        out += i ? ",\"" : "\"";
        out += u.tags[i];
        out += '"';
    }
    out += "]}";
}

std::string_view string_after(std::string_view s, std::string_view key, std::size_t& pos) {
    pos = s.find(key, pos) + key.size();
    const std::size_t end = s.find('"', pos);
    std::string_view v = s.substr(pos, end - pos);
    pos = end + 1;
    return v;
}

// Parses one object starting at `pos`; leaves `pos` after it.
__attribute__((noinline)) user parse_user(std::string_view s, std::size_t& pos) {
    user u;
    pos = s.find("\"id\":", pos) + 5;
    while (s[pos] >= '0' && s[pos] <= '9') u.id = u.id * 10 + static_cast<std::uint64_t>(s[pos++] - '0');
    u.name = std::string(string_after(s, "\"name\":\"", pos));
    u.email = std::string(string_after(s, "\"email\":\"", pos));
    pos = s.find('[', pos) + 1;
    while (s[pos] == '"' || s[pos] == ',') {
        if (s[pos] == ',') ++pos;
        const std::size_t end = s.find('"', pos + 1);
        u.tags.emplace_back(s.substr(pos + 1, end - pos - 1));
        pos = end + 1;
    }
    pos = s.find('}', pos) + 1;
    return u;
}

__attribute__((noinline)) std::size_t per_item_processing(const std::vector<user>& users) {
    std::size_t checksum = 0;
    for (const user& u : users) {
        const std::string json = to_json_stream(u);
        std::size_t pos = 0;
        checksum += parse_user(json, pos).id;
    }
    return checksum;
}

__attribute__((noinline)) std::size_t batch_processing(const std::vector<user>& users) {
    std::string json = "[";
    json.reserve(users.size() * 96);
    for (std::size_t i = 0; i < users.size(); ++i) {
        if (i) json += ',';
        append_json(json, users[i]);
    }
    json += ']';
    std::vector<user> parsed;
    parsed.reserve(users.size());
    std::size_t checksum = 0;
    for (std::size_t pos = 1; parsed.size() < users.size();) {
        parsed.push_back(parse_user(json, pos));
        checksum += parsed.back().id;
    }
    return checksum;
}

struct measurement {
    double seconds = 0;
    std::uint64_t allocations = 0;
    cpprof::profile profile;
    std::size_t checksum = 0;
};

template <class F>
measurement measure(F&& work, const std::vector<user>& users, int repeats) {
    measurement m;
    cpprof::profiler_guard<cpprof::high_precision> guard;
    cpprof::allocation_counter allocs;
    const auto t0 = std::chrono::steady_clock::now();
    for (int r = 0; r < repeats; ++r) m.checksum += work(users);
    m.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    m.allocations = allocs.allocations();
    m.profile = guard.stop();
    return m;
}

}  // namespace

int main() {
    const std::vector<user> users = make_users(10'000);
    const int repeats = 20;
    const measurement before = measure(per_item_processing, users, repeats);
    const measurement after = measure(batch_processing, users, repeats);
    if (before.checksum != after.checksum) {
        std::cout << "the two versions disagree\n";
        return 1;
    }

    const double n = static_cast<double>(users.size()) * repeats;
    char line[400];
    std::printf("%d x %zu users serialised to JSON and parsed back\n\n", repeats, users.size());
    std::printf("%-22s %10s %9s %12s %11s %7s\n", "", "time", "samples", "allocs/user",
                "serialise", "parse");
    for (const auto* m : {&before, &after}) {
        const bool is_before = m == &before;
        std::snprintf(line, sizeof line, "%-22s %7.1f ms %9llu %12.1f %10.1f%% %6.1f%%",
                      is_before ? "before (per item)" : "after (batch)", 1000 * m->seconds,
                      static_cast<unsigned long long>(m->profile.total_samples()),
                      static_cast<double>(m->allocations) / n,
                      100 * cpprof::fraction(m->profile, is_before ? "to_json_stream" : "append_json"),
                      100 * cpprof::fraction(m->profile, "parse_user"));
        std::printf("%s\n", line);
    }
    std::printf("\nspeed-up: %.2fx (%.0f%% less time)\n\n", before.seconds / after.seconds,
                100 * (1 - after.seconds / before.seconds));

    std::cout << "before: top functions\n";
    cpprof::print_hotspots(std::cout, cpprof::hotspots(before.profile, 5));
    std::cout << "\nafter: top functions\n";
    cpprof::print_hotspots(std::cout, cpprof::hotspots(after.profile, 5));

    cpprof::write_flamegraph(before.profile, "json_before.svg");
    cpprof::write_flamegraph(after.profile, "json_after.svg");
    cpprof::write_diff_flamegraph(before.profile, after.profile, "json_diff.svg");
    std::cout << "\nwrote json_before.svg\nwrote json_after.svg\nwrote json_diff.svg\n";
    return 0;
}
