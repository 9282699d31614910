#pragma once
// Turns what the sampler collected (raw addresses per thread) into a cpprof::profile: names
// every address with the ELF symbolizer, records mappings with build-ids, labels samples with
// the thread's name and id, and makes every lost sample visible. Runs outside the signal
// handler, on a copy of the aggregate, while sampling goes on. The functions are templates with a
// dummy parameter: see the note on lazy instantiation in config.hpp.

#include <cpprof/cpu/sampler.hpp>
#include <cpprof/detail/alloc_state.hpp>
#include <cpprof/detail/label_sets.hpp>
#include <cpprof/detail/symbolizer.hpp>
#include <cpprof/profile.hpp>
#include <cpprof/version.hpp>

#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cpprof::detail {

/// Lost samples stay in the profile, under a frame that says why, with the clock time they
/// stood for: the profile's total is still the time the threads really spent.
template <class = void>
void add_lost_samples(profile& p, const char* what, std::uint64_t n, std::int64_t ns) {
    if (n == 0) return;
    frame f;
    f.function = std::string("[cpprof: samples lost: ") + what + "]";
    p.add_sample({p.intern(f)}, {static_cast<std::int64_t>(n), ns});
}

template <class T = void>
profile build_cpu_profile(raw_profile&& raw) {
    internal_allocation_scope internal;  // a report's allocations are cpprof's own
    const bool wall = raw.clock == clock_kind::wall;
    const std::string clock_type = wall ? "wall" : "cpu";
    profile p({{"samples", "count"}, {clock_type, "nanoseconds"}});
    p.set_time_nanos(raw.start_unix_ns);
    p.set_duration_nanos(raw.duration_ns);
    p.set_losses(raw.losses);

    std::int64_t total_count = 0, total_weight = 0;
    for (const auto& [key, st] : raw.stacks) {
        (void)key;
        total_count += st.count;
        total_weight += st.weight;
    }
    // The period really achieved: POSIX CPU timers signal at most once per scheduler tick, and
    // each of their samples weighs the thread's CPU time since its previous one.
    std::int64_t period = raw.period_ns;
    if (total_count > 0) period = (total_weight + total_count / 2) / total_count;
    p.set_period({clock_type, "nanoseconds"}, period);

    p.add_comment(std::string("cpprof ") + CPPROF_VERSION_STRING + ": " + clock_type +
                  " profile, " + std::to_string(raw.frequency) + " Hz per thread requested, " +
                  "sampled by " + raw.timer_name);
    if (total_count > 0 && total_weight > 0) {
        double achieved = static_cast<double>(total_count) * 1e9 / static_cast<double>(total_weight);
        char buf[160];
        std::snprintf(buf, sizeof buf,
                      "delivered %.1f samples per %s-second (requested %d); sample values are "
                      "weighted by the periods each signal stands for",
                      achieved, clock_type.c_str(), raw.frequency);
        p.add_comment(buf);
    }
    if (raw.from_parent_process)
        p.add_comment("this process is a fork() child of the one that started the profile: "
                      "its samples stayed in the parent");

    std::unique_lock<std::mutex> lock;
    basic_symbolizer<T>& sym = process_symbolizer<T>(lock);
    std::vector<std::vector<label>> label_sets;
    label_sets.reserve(raw.label_sets.size());
    std::uint64_t samples_dropping = 0, samples_cut = 0;
    for (const auto& set : raw.label_sets) label_sets.push_back(decode_label_set(set));
    auto thread_labels = [&raw](int tid) {
        std::vector<label> labels;
        auto name = raw.thread_names.find(tid);
        if (name != raw.thread_names.end() && !name->second.empty())
            labels.push_back(label{std::string(label_keys::thread_name), name->second, 0, {}});
        labels.push_back(label{std::string(label_keys::thread_id), {}, tid, {}});
        return labels;
    };
    std::unordered_map<std::uint64_t, frame_id> ids;
    std::vector<frame_id> stack;
    for (auto& [key, st] : raw.stacks) {
        stack.clear();
        for (std::size_t i = 1; i < key.size(); ++i) {
            stack.push_back(intern_address(p, sym, ids, key[i]));
        }
        std::vector<label> labels = thread_labels(raw_thread_tid(key[0]));
        const std::size_t set = raw_thread_label_set(key[0]);
        if (set < label_sets.size()) {
            const auto& extra = label_sets[set];
            labels.insert(labels.end(), extra.begin(), extra.end());
            for (const auto& l : extra) {
                if (l.key == label_keys::labels_dropped) samples_dropping += static_cast<std::uint64_t>(st.count);
                if (l.key == label_keys::labels_cut) samples_cut += static_cast<std::uint64_t>(st.count);
            }
        }
        p.add_sample(stack, {st.count, st.weight}, std::move(labels));
    }
    // CPU a thread burned before the collector found it: shown under that thread, named for
    // what it is, rather than lost or pinned on a stack nobody saw.
    for (const auto& [tid, ns] : raw.unsampled_ns) {
        if (ns <= 0) continue;
        frame f;
        f.function = "[cpprof: CPU time before the thread was found]";
        p.add_sample({p.intern(f)}, {0, ns}, thread_labels(tid));
    }
    for (const auto& m : sym.mappings()) p.add_mapping(m);
    lock.unlock();
    if (samples_dropping != 0)
        p.add_comment("cpprof: " + std::to_string(samples_dropping) +
                      " samples could not carry all their labels (too many or too long for "
                      "profiler_options::label_bytes); see the numeric label " +
                      std::string(label_keys::labels_dropped));
    if (samples_cut != 0)
        p.add_comment("cpprof: " + std::to_string(samples_cut) +
                      " samples carry labels cut to label_guard's size (key 32, value 64 "
                      "bytes); see the numeric label " +
                      std::string(label_keys::labels_cut));

    const auto& l = raw.losses;
    const auto& w = raw.lost_ns;
    add_lost_samples(p, "sample store full", l.buffer_full, w.buffer_full);
    add_lost_samples(p, "stack could not be unwound", l.unwind_failed, w.unwind_failed);
    add_lost_samples(p, "exception in flight", l.in_exception, w.in_exception);
    add_lost_samples(p, "blocklisted mapping", l.blocklisted, w.blocklisted);
    return p;
}

}  // namespace cpprof::detail
