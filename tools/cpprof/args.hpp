#pragma once
// Command-line parsing for the cpprof tool: a table of options per command, parsed the way
// GNU tools do (`--name value`, `--name=value`, `-n 20`, `-n20`, `-qv`, `--` ends options,
// a lone `-` is an argument), and the help text generated from the same table, so the help
// cannot drift from what is accepted.

#include <algorithm>
#include <cstddef>
#include <map>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cpprof_cli {

/// A mistake in how cpprof was called (exit status 2). `command` is the subcommand it concerns
/// ("" for the global level), so the hint can point at the right --help.
class usage_error : public std::runtime_error {
public:
    usage_error(std::string command, const std::string& message)
        : std::runtime_error(message), command_(std::move(command)) {}
    const std::string& command() const { return command_; }

private:
    std::string command_;
};

struct option_spec {
    std::string_view long_name;   ///< without the dashes: "sample-index"
    char short_name;              ///< 'n', or 0 when there is none
    std::string_view value_name;  ///< "N", "FILE"; empty for a flag
    std::string_view help;
};

struct command_spec {
    std::string_view name;
    std::string_view summary;      ///< one line, for the global help
    std::string_view usage;        ///< after "cpprof NAME "
    std::string description;       ///< a paragraph
    std::vector<option_spec> options;
    std::string_view examples;  ///< lines, each "cpprof ..."
    std::size_t min_inputs = 1;
    std::size_t max_inputs = 1;
};

/// Options every command accepts (and so does the global level).
inline const std::vector<option_spec>& global_options() {
    static const std::vector<option_spec> options = {
        {"quiet", 'q', "", "no progress messages on standard error"},
        {"verbose", 'v', "", "progress messages even when standard error is not a terminal"},
        {"help", 'h', "", "show this help and exit"},
        {"version", 0, "", "print cpprof's version and exit"},
    };
    return options;
}

struct parsed_args {
    std::map<std::string, std::string, std::less<>> values;  ///< by long name; flags map to ""
    std::vector<std::string> inputs;                         ///< the positional arguments

    bool has(std::string_view name) const { return values.find(name) != values.end(); }
    const std::string* get(std::string_view name) const {
        auto it = values.find(name);
        return it == values.end() ? nullptr : &it->second;
    }
};

inline const option_spec* find_long(const command_spec& spec, std::string_view name) {
    for (const auto* list : {&spec.options, &global_options()})
        for (const option_spec& o : *list)
            if (o.long_name == name) return &o;
    return nullptr;
}

inline const option_spec* find_short(const command_spec& spec, char c) {
    for (const auto* list : {&spec.options, &global_options()})
        for (const option_spec& o : *list)
            if (o.short_name == c) return &o;
    return nullptr;
}

/// Levenshtein distance, for "did you mean" hints.
inline std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diag = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t up = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
            diag = up;
        }
    }
    return row[b.size()];
}

/// " (did you mean '--title'?)" when one candidate is close to `word`, else "".
inline std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
    std::string best;
    std::size_t best_distance = 3;  // at most 2 edits away
    for (const std::string& c : candidates) {
        const std::size_t d = edit_distance(word, c);
        if (d < best_distance) {
            best_distance = d;
            best = c;
        }
    }
    return best.empty() ? std::string() : " (did you mean '" + best + "'?)";
}

/// Parses `args` (everything after the command name) against `spec`. Throws usage_error.
inline parsed_args parse_args(const command_spec& spec, const std::vector<std::string>& args) {
    const std::string cmd(spec.name);
    parsed_args out;
    bool options_done = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
        const std::string& a = args[i];
        if (options_done || a == "-" || a.empty() || a[0] != '-') {
            out.inputs.push_back(a);
            continue;
        }
        if (a == "--") {
            options_done = true;
            continue;
        }
        if (a[1] == '-') {  // --name or --name=value
            const std::size_t eq = a.find('=');
            const std::string name = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
            const option_spec* o = find_long(spec, name);
            if (o == nullptr) {
                std::vector<std::string> names;
                for (const auto* list : {&spec.options, &global_options()})
                    for (const option_spec& s : *list) names.push_back("--" + std::string(s.long_name));
                throw usage_error(cmd, "unknown option '--" + name + "'" +
                                           did_you_mean("--" + name, names));
            }
            if (o->value_name.empty()) {
                if (eq != std::string::npos)
                    throw usage_error(cmd, "option '--" + name + "' takes no value");
                out.values[name] = "";
            } else if (eq != std::string::npos) {
                out.values[name] = a.substr(eq + 1);
            } else {
                if (i + 1 >= args.size())
                    throw usage_error(cmd, "option '--" + name + "' needs a value (" +
                                               std::string(o->value_name) + ")");
                out.values[name] = args[++i];
            }
            continue;
        }
        // -x, -xVALUE, -x VALUE, -qv
        for (std::size_t k = 1; k < a.size(); ++k) {
            const option_spec* o = find_short(spec, a[k]);
            if (o == nullptr)
                throw usage_error(cmd, "unknown option '-" + std::string(1, a[k]) + "'");
            const std::string name(o->long_name);
            if (o->value_name.empty()) {
                out.values[name] = "";
                continue;
            }
            if (k + 1 < a.size()) {
                out.values[name] = a.substr(k + 1);
            } else {
                if (i + 1 >= args.size())
                    throw usage_error(cmd, "option '-" + std::string(1, a[k]) + "' needs a value (" +
                                               std::string(o->value_name) + ")");
                out.values[name] = args[++i];
            }
            break;
        }
    }
    return out;
}

/// Checks the number of inputs (after --help and --version were handled).
inline void check_inputs(const command_spec& spec, const parsed_args& args) {
    const std::string cmd(spec.name);
    if (args.inputs.size() < spec.min_inputs)
        throw usage_error(cmd, args.inputs.empty()
                                   ? "missing input file"
                                   : "expected " + std::to_string(spec.min_inputs) +
                                         " input files, got " + std::to_string(args.inputs.size()));
    if (args.inputs.size() > spec.max_inputs)
        throw usage_error(cmd, "unexpected argument '" + args.inputs[spec.max_inputs] + "'");
}

/// One aligned block of options: "  -n, --nodes N      help".
inline std::string format_options(const std::vector<option_spec>& options) {
    std::vector<std::pair<std::string, std::string_view>> rows;
    std::size_t width = 0;
    for (const option_spec& o : options) {
        std::string left = o.short_name ? std::string("-") + o.short_name + ", " : std::string("    ");
        left += "--";
        left += o.long_name;
        if (!o.value_name.empty()) {
            left += ' ';
            left += o.value_name;
        }
        width = std::max(width, left.size());
        rows.emplace_back(std::move(left), o.help);
    }
    std::string out;
    for (const auto& [left, help] : rows) {
        out += "  ";
        out += left;
        out.append(width - left.size() + 2, ' ');
        // Help text may hold '\n': continuation lines are indented under the first.
        std::size_t start = 0;
        while (true) {
            const std::size_t nl = help.find('\n', start);
            out += help.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
            out += '\n';
            if (nl == std::string_view::npos) break;
            out.append(width + 4, ' ');
            start = nl + 1;
        }
    }
    return out;
}

/// The help of one command; `notes` (about inputs, shared by every command) follows the
/// description.
inline std::string command_help(const command_spec& spec, std::string_view notes) {
    std::string out = "Usage: cpprof ";
    out += spec.name;
    out += ' ';
    out += spec.usage;
    out += "\n\n";
    out += spec.description;
    out += "\n\n";
    out += notes;
    out += "\n\nOptions:\n";
    out += format_options(spec.options);
    out += "\nGeneral options:\n";
    out += format_options(global_options());
    if (!spec.examples.empty()) {
        out += "\nExamples:\n";
        out += spec.examples;
    }
    return out;
}

}  // namespace cpprof_cli
