#pragma once
// Builds profiles by hand from stacks written root first, the way folded text reads.

#include <cpprof/profile.hpp>

#include <cstdint>
#include <initializer_list>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

namespace cpprof_test {

struct builder {
    cpprof::profile p;
    explicit builder(std::vector<cpprof::value_type> types = {{"samples", "count"}})
        : p(std::move(types)) {}

    cpprof::frame_id fn(const std::string& name, int line = 0,
                        std::size_t mapping = cpprof::no_mapping) {
        cpprof::frame f;
        f.function = name;
        f.line = line;
        f.mapping = mapping;
        return p.intern(f);
    }
    /// `root_first` as in folded text: main first, leaf last.
    void add(std::initializer_list<cpprof::frame_id> root_first, std::vector<std::int64_t> values,
             std::vector<cpprof::label> labels = {}) {
        std::vector<cpprof::frame_id> stack(std::rbegin(root_first), std::rend(root_first));
        p.add_sample(std::move(stack), std::move(values), std::move(labels));
    }
};

}  // namespace cpprof_test
