// cpprof: the command-line tool. Reads pprof profiles (cpprof's, Go's, any pprof writer's) and
// folded stacks, and prints hotspot tables, draws flame graphs, compares two profiles and
// converts between formats, with the library's own readers, analyses and writers.
//
//   cpprof top     profile.pb.gz [-n 20] [--sample-index inuse_space] [--cum]
//   cpprof flame   profile.pb.gz|stacks.folded -o out.svg [--title ... --inverted --palette mem]
//   cpprof diff    before.pb.gz after.pb.gz [-o diff.svg]
//   cpprof convert profile.pb.gz --to speedscope|folded|pprof -o out
//
// Exit status: 0 success; 1 a runtime failure (unreadable or malformed input, output that
// cannot be written), with "cpprof: <what and where>" on standard error; 2 a usage error
// (unknown command or option, missing or bad argument), with a hint to --help.

#include <cpprof/cpprof.hpp>

#include "args.hpp"
#include "io.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <unistd.h>

namespace cpprof_cli {
namespace {

constexpr std::string_view inputs_note =
    "Inputs are pprof profiles (gzip-compressed or raw protobuf, as cpprof, Go and pprof write\n"
    "them) or folded stacks (text lines like \"main;run;compute 42\", also gzip-compressed),\n"
    "told apart by their content, not their name. \"-\" reads standard input.";

const command_spec top_spec{
    "top",
    "the functions where the time (or memory) goes, as a table",
    "[options] PROFILE",
    "Prints the functions with the largest values, largest first: self is the value of the\n"
    "samples whose innermost frame is the function (time in its own code), total the value of\n"
    "the samples with the function anywhere on the stack (itself and what it calls).",
    {
        {"limit", 'n', "N", "show the first N functions (default 20; 0 shows all)"},
        {"sample-index", 0, "TYPE", "the value to rank by: a sample type name (cpu, alloc_space,\n"
                                    "inuse_space, ...) or its index; default: the profile's default"},
        {"cum", 0, "", "sort by total (cumulative) instead of self"},
        {"name-width", 0, "N", "shorten function names to N characters (default 100; 0: never)"},
    },
    "  cpprof top cpu.pb.gz\n"
    "  cpprof top -n 50 --cum cpu.pb.gz\n"
    "  cpprof top --sample-index inuse_space heap.pb.gz\n",
};

const command_spec flame_spec{
    "flame",
    "an interactive flame graph (SVG) of a profile or of folded stacks",
    "[options] INPUT -o OUT.svg",
    "Draws INPUT as a flame graph: one standalone SVG file to open in a browser, with\n"
    "hover details, click to zoom and search (Ctrl-F).",
    {
        {"output", 'o', "FILE", "the SVG file to write (\"-\": standard output); required"},
        {"title", 0, "TEXT", "the heading (default \"Flame Graph\", or \"Icicle Graph\")"},
        {"subtitle", 0, "TEXT", "a second, smaller heading line"},
        {"inverted", 0, "", "icicle graph: the root at the top, stacks growing down"},
        {"reverse", 0, "", "reverse every stack: innermost functions at the root, their\n"
                           "callers above them (where does the time in a leaf come from)"},
        {"palette", 0, "NAME", "hot (CPU), mem (memory), io (off-CPU, I/O) or module (one hue per\n"
                               "binary or library); default hot, or mem for values in bytes"},
        {"width", 0, "PIXELS", "image width (default 1200)"},
        {"min-width", 0, "PIXELS", "leave out boxes narrower than this (default 0.1)"},
        {"count-name", 0, "WORD", "the word after counts in tooltips (default from the unit:\n"
                                  "samples, nanoseconds, bytes)"},
        {"sample-index", 0, "TYPE", "the value that sets widths: a sample type name or index;\n"
                                    "default: the profile's default"},
    },
    "  cpprof flame cpu.pb.gz -o cpu.svg\n"
    "  cpprof flame heap.pb.gz --sample-index inuse_space --palette mem -o heap.svg\n"
    "  perf script | stackcollapse-perf.pl | cpprof flame - -o perf.svg --title 'perf record'\n",
};

const command_spec diff_spec{
    "diff",
    "compare two profiles: what moved, as a table or a differential flame graph",
    "[options] BEFORE AFTER [-o OUT.svg]",
    "Without -o, prints the functions whose self share of the profile moved most between\n"
    "BEFORE and AFTER (in percentage points, so profiles of different lengths compare), with\n"
    "their total shares. With -o, writes a differential flame graph instead: AFTER's stacks,\n"
    "each box coloured by the change of its own count, red where it grew and blue where it\n"
    "shrank. Functions are matched by name, so two builds or two runs of a program compare.",
    {
        {"output", 'o', "FILE", "write a differential flame graph (SVG) to FILE (\"-\": standard\n"
                                "output) instead of printing the table"},
        {"sample-index", 0, "TYPE", "the value to compare: a sample type name or an index into\n"
                                    "AFTER's types; BEFORE is read at the type of the same name"},
        {"limit", 'n', "N", "table: show the first N functions (default 20; 0 shows all)"},
        {"name-width", 0, "N", "table: shorten function names to N characters (default 100;\n"
                               "0: never)"},
        {"no-normalize", 0, "", "graph: compare raw counts; by default the other profile is first\n"
                                "scaled to the drawn one's total, so runs of different lengths\n"
                                "compare by share"},
        {"before-shape", 0, "", "graph: widths from BEFORE, so what shrank or vanished shows\n"
                                "(default: widths from AFTER)"},
        {"negate", 0, "", "graph: swap the colours: blue for growth, red for shrinkage"},
        {"title", 0, "TEXT", "graph: the heading (default \"Differential Flame Graph\")"},
        {"subtitle", 0, "TEXT", "graph: a second, smaller heading line"},
        {"inverted", 0, "", "graph: icicle graph, the root at the top"},
        {"reverse", 0, "", "graph: reverse every stack (innermost functions at the root)"},
        {"width", 0, "PIXELS", "graph: image width (default 1200)"},
        {"min-width", 0, "PIXELS", "graph: leave out boxes narrower than this (default 0.1)"},
    },
    "  cpprof diff before.pb.gz after.pb.gz\n"
    "  cpprof diff before.pb.gz after.pb.gz -o diff.svg\n"
    "  cpprof diff before.pb.gz after.pb.gz --before-shape -o shrank.svg\n",
    2,
    2,
};

const command_spec convert_spec{
    "convert",
    "write a profile as pprof, folded stacks or speedscope JSON",
    "[options] INPUT [--to FORMAT] -o OUT",
    "Converts INPUT to another format:\n"
    "  pprof       pprof protobuf, gzip-compressed (go tool pprof, Pyroscope, speedscope)\n"
    "  folded      folded stacks, one \"a;b;c count\" line per stack (flamegraph.pl, inferno)\n"
    "  speedscope  speedscope's JSON file format (https://www.speedscope.app)",
    {
        {"to", 0, "FORMAT", "pprof, folded or speedscope; default from the output name:\n"
                            ".pb.gz .pb .pprof -> pprof, .folded .collapsed .txt -> folded,\n"
                            ".json -> speedscope"},
        {"output", 'o', "FILE", "the file to write (\"-\": standard output); required"},
        {"uncompressed", 0, "", "pprof: write raw protobuf instead of gzip"},
        {"sample-index", 0, "TYPE", "folded, speedscope: the value to count: a sample type name\n"
                                    "or index; default: the profile's default"},
        {"name", 0, "TEXT", "speedscope: the name it shows (default: \"<type> profile\")"},
        {"no-threads", 0, "", "speedscope: all samples in one profile, not one per thread"},
        {"lines", 0, "", "speedscope: one frame per function and source line"},
    },
    "  cpprof convert cpu.pb.gz -o cpu.folded\n"
    "  cpprof convert stacks.folded --to pprof -o stacks.pb.gz\n"
    "  cpprof convert cpu.pb.gz --to speedscope -o cpu.speedscope.json\n",
};

const std::vector<const command_spec*>& commands() {
    static const std::vector<const command_spec*> all = {&top_spec, &flame_spec, &diff_spec, &convert_spec};
    return all;
}

std::string global_help() {
    std::string out = "cpprof " CPPROF_VERSION_STRING
                      ": read, summarize, draw and convert profiles\n\n"
                      "Usage: cpprof <command> [options] <input>...\n"
                      "       cpprof <command> --help\n\n"
                      "Commands:\n";
    for (const command_spec* c : commands()) {
        out += "  ";
        out += c->name;
        out.append(10 - c->name.size(), ' ');
        out += c->summary;
        out += '\n';
    }
    out += "\n";
    out += inputs_note;
    out += "\n\"-o -\" writes to standard output. An output file is written whole or not at all:\n"
           "on any failure it is left as it was.\n\n"
           "General options (before or after the command):\n";
    out += format_options(global_options());
    out += "\nExit status: 0 success; 1 the input could not be read or the output written\n"
           "(the message says what and where); 2 a usage error (unknown command or option,\n"
           "missing or bad argument).\n\n"
           "Examples:\n"
           "  cpprof top cpu.pb.gz\n"
           "  cpprof flame cpu.pb.gz -o cpu.svg\n"
           "  cpprof diff before.pb.gz after.pb.gz\n"
           "  cpprof convert cpu.pb.gz --to speedscope -o cpu.json\n";
    return out;
}

void print_stdout(const std::string& text) {
    std::fwrite(text.data(), 1, text.size(), stdout);
}

/// Flushes standard output; a failure (a full disk, a closed pipe) is an error, not silence.
void finish_stdout() {
    std::cout.flush();
    if (std::fflush(stdout) != 0 || !std::cout || std::ferror(stdout))
        throw cpprof::error("cannot write to standard output");
}

// ---- option values ---------------------------------------------------------------------------

/// "'-n/--limit'" or "'--width'": an option as the user may have typed it.
std::string option_label(const command_spec& spec, std::string_view name) {
    const option_spec* o = find_long(spec, name);
    std::string label = "'";
    if (o != nullptr && o->short_name != 0) label += std::string("-") + o->short_name + "/";
    return label + "--" + std::string(name) + "'";
}

std::size_t whole_number(const command_spec& spec, const parsed_args& args, std::string_view name,
                         std::size_t fallback) {
    const std::string* v = args.get(name);
    if (v == nullptr) return fallback;
    if (v->empty() || v->size() > 9 || v->find_first_not_of("0123456789") != std::string::npos)
        throw usage_error(std::string(spec.name), "option " + option_label(spec, name) +
                                                      " expects a whole number, not '" + *v + "'");
    return static_cast<std::size_t>(std::stoul(*v));
}

double decimal_number(const command_spec& spec, const parsed_args& args, std::string_view name,
                      double fallback) {
    const std::string* v = args.get(name);
    if (v == nullptr) return fallback;
    char* end = nullptr;
    const double d = v->empty() ? 0 : std::strtod(v->c_str(), &end);
    if (v->empty() || end != v->c_str() + v->size() || !cpprof::detail::math::isfinite(d))
        throw usage_error(std::string(spec.name), "option " + option_label(spec, name) +
                                                      " expects a number, not '" + *v + "'");
    return d;
}

std::string option_or(const parsed_args& args, std::string_view name, std::string fallback = {}) {
    const std::string* v = args.get(name);
    return v != nullptr ? *v : fallback;
}

/// The error messages of the library's option checks, without "cpprof: options: ".
std::string strip_prefixes(std::string what) {
    for (std::string_view p : {"cpprof: ", "options: ", "flamegraph_options: "})
        if (what.compare(0, p.size(), p) == 0) what.erase(0, p.size());
    return what;
}

// ---- commands --------------------------------------------------------------------------------

int run_top(const parsed_args& args, const progress& log) {
    const std::size_t limit = whole_number(top_spec, args, "limit", 20);
    const std::size_t name_width = whole_number(top_spec, args, "name-width", 100);
    const std::string& input = args.inputs[0];
    loaded_profile in = load_profile(input, log);
    const cpprof::profile& p = in.profile;
    const std::size_t index = sample_index(p, option_or(args, "sample-index"), input_name(input));

    std::vector<cpprof::hotspot> rows =
        cpprof::hotspots(p, std::numeric_limits<std::size_t>::max(), index);
    const std::size_t functions = rows.size();
    if (args.has("cum"))
        std::stable_sort(rows.begin(), rows.end(), [](const cpprof::hotspot& a, const cpprof::hotspot& b) {
            if (a.total != b.total) return a.total > b.total;
            return a.self > b.self;  // then name order, which hotspots() already gives ties
        });
    if (limit != 0 && rows.size() > limit) rows.resize(limit);

    std::string header;
    if (!p.sample_types().empty()) {
        const cpprof::value_type& t = p.sample_types()[index];
        const std::int64_t total = p.total(index);
        header = "Type: " + t.type + (t.unit.empty() ? "" : " (" + t.unit + ")") + "\nTotal: " +
                 cpprof::detail::format_quantity(total, cpprof::detail::scale_for(t.unit, total)) +
                 "\nShowing " + std::to_string(rows.size()) + " of " + std::to_string(functions) +
                 " functions, sorted by " + (args.has("cum") ? "total" : "self") + "\n";
    }
    print_stdout(header);
    cpprof::print_hotspots(std::cout, rows, name_width);
    finish_stdout();
    return 0;
}

/// The options every flame graph takes (flame and diff -o), checked before any input is read.
template <class Options>
void common_flame_options(const command_spec& spec, const parsed_args& args, Options& o) {
    if (const std::string* v = args.get("title")) o.title(*v);
    if (const std::string* v = args.get("subtitle")) o.subtitle(*v);
    if (const std::string* v = args.get("count-name")) o.count_name(*v);
    o.inverted(args.has("inverted"));
    o.reverse(args.has("reverse"));
    if (args.has("width")) {
        const std::size_t w = whole_number(spec, args, "width", 0);
        o.width(static_cast<int>(std::min<std::size_t>(w, std::numeric_limits<int>::max())));
    }
    o.min_width(decimal_number(spec, args, "min-width", o.min_width()));
    // The library's own range checks (the sample index is checked once the input is read).
    try {
        cpprof::detail::check_flamegraph_geometry(o, "options");
    } catch (const cpprof::error& e) {
        throw usage_error(std::string(spec.name), strip_prefixes(e.what()));
    }
}

cpprof::flamegraph_options flame_options(const parsed_args& args) {
    cpprof::flamegraph_options o;
    try {
        if (const std::string* v = args.get("palette")) o.palette(*v);
    } catch (const cpprof::error& e) {
        throw usage_error(std::string(flame_spec.name), strip_prefixes(e.what()));
    }
    common_flame_options(flame_spec, args, o);
    return o;
}

void report_written(const progress& log, const output_target& out, std::uint64_t bytes) {
    log.say("wrote " + out.name() + " (" + cpprof::detail::grouped_number(static_cast<std::int64_t>(bytes)) +
            " bytes) in " + log.elapsed());
}

std::string required_output(const command_spec& spec, const parsed_args& args) {
    const std::string* o = args.get("output");
    if (o == nullptr)
        throw usage_error(std::string(spec.name), "missing -o FILE (the file to write; \"-o -\" writes to standard output)");
    return *o;
}

int run_flame(const parsed_args& args, const progress& log) {
    cpprof::flamegraph_options options = flame_options(args);
    output_target out(required_output(flame_spec, args));  // fails early: no work for nothing
    const std::string& input = args.inputs[0];
    loaded_profile in = load_profile(input, log);
    cpprof::profile& p = in.profile;
    options.sample_index(sample_index(p, option_or(args, "sample-index"), input_name(input)));
    log.say("rendering the flame graph of " + cpprof::detail::grouped_number(static_cast<std::int64_t>(p.samples().size())) +
            " samples...");
    out.write([&](const std::string& path) { cpprof::write_flamegraph(p, path, options); });
    report_written(log, out, out.commit());
    return 0;
}

int run_diff(const parsed_args& args, const progress& log) {
    const std::string cmd(diff_spec.name);
    const std::size_t limit = whole_number(diff_spec, args, "limit", 20);
    const std::size_t name_width = whole_number(diff_spec, args, "name-width", 100);
    if (args.inputs[0] == "-" && args.inputs[1] == "-")
        throw usage_error(cmd, "only one input can be standard input");
    const std::string* output = args.get("output");
    // Options of one form refused in the other, rather than silently ignored.
    if (output == nullptr) {
        for (std::string_view flag : {"no-normalize", "before-shape", "negate", "title", "subtitle",
                                      "inverted", "reverse", "width", "min-width"})
            if (args.has(flag))
                throw usage_error(cmd, "--" + std::string(flag) + " is for the flame graph: add -o FILE");
    } else {
        for (std::string_view flag : {"limit", "name-width"})
            if (args.has(flag))
                throw usage_error(cmd, option_label(diff_spec, flag) + " is for the table, which -o replaces");
    }
    cpprof::diff_flamegraph_options options;
    common_flame_options(diff_spec, args, options);
    options.normalize(!args.has("no-normalize")).before_shape(args.has("before-shape")).negate(args.has("negate"));
    std::unique_ptr<output_target> out;
    if (output != nullptr) out = std::make_unique<output_target>(*output);

    loaded_profile before = load_profile(args.inputs[0], log);
    loaded_profile after = load_profile(args.inputs[1], log);
    const std::size_t index =
        sample_index(after.profile, option_or(args, "sample-index"), input_name(args.inputs[1]));
    const std::string& type = after.profile.sample_types()[index].type;
    if (before.profile.sample_index(type) == static_cast<std::size_t>(-1)) {
        std::string types;
        for (const cpprof::value_type& t : before.profile.sample_types()) types += (types.empty() ? "" : ", ") + t.type;
        throw cpprof::error("cannot compare sample type '" + type + "': " + input_name(args.inputs[0]) +
                            " does not have it (its sample types are " + types + ")");
    }

    if (out == nullptr) {
        after.profile.set_default_sample_index(index);
        cpprof::print_hotspot_diff(std::cout, before.profile, after.profile,
                                   limit == 0 ? std::numeric_limits<std::size_t>::max() : limit, name_width);
        finish_stdout();
        return 0;
    }
    options.sample_index(index);
    log.say("rendering the differential flame graph...");
    out->write([&](const std::string& path) {
        cpprof::write_diff_flamegraph(before.profile, after.profile, path, options);
    });
    report_written(log, *out, out->commit());
    return 0;
}

/// The output format --to names, or the one the output name implies.
std::string convert_format(const parsed_args& args, const std::string& output) {
    const std::string cmd(convert_spec.name);
    if (const std::string* to = args.get("to")) {
        if (*to == "pprof" || *to == "folded" || *to == "speedscope") return *to;
        throw usage_error(cmd, "unknown format '" + *to + "' for --to (expected pprof, folded or speedscope)" +
                                   did_you_mean(*to, {"pprof", "folded", "speedscope"}));
    }
    auto ends_with = [&](std::string_view suffix) {
        return output.size() >= suffix.size() &&
               output.compare(output.size() - suffix.size(), suffix.size(), suffix) == 0;
    };
    for (std::string_view s : {".pb.gz", ".pb", ".pprof", ".pprof.gz"})
        if (ends_with(s)) return "pprof";
    for (std::string_view s : {".folded", ".collapsed", ".txt"})
        if (ends_with(s)) return "folded";
    if (ends_with(".json")) return "speedscope";
    throw usage_error(cmd, "say which format to write with --to pprof, --to folded or --to speedscope "
                           "(the output name '" + output + "' does not tell)");
}

int run_convert(const parsed_args& args, const progress& log) {
    const std::string cmd(convert_spec.name);
    const std::string output = required_output(convert_spec, args);
    const std::string format = convert_format(args, output);
    if (args.has("uncompressed") && format != "pprof")
        throw usage_error(cmd, "--uncompressed is for --to pprof");
    if (args.has("sample-index") && format == "pprof")
        throw usage_error(cmd, "--sample-index does not apply to --to pprof (it keeps every sample type)");
    for (std::string_view flag : {"name", "no-threads", "lines"})
        if (args.has(flag) && format != "speedscope")
            throw usage_error(cmd, "--" + std::string(flag) + " is for --to speedscope");
    output_target out(output);
    const std::string& input = args.inputs[0];
    loaded_profile in = load_profile(input, log);
    const cpprof::profile& p = in.profile;
    log.say("writing " + format + "...");
    if (format == "pprof") {
        const bool gzip = !args.has("uncompressed");
        out.write([&](const std::string& path) {
            std::ofstream os(path, std::ios::binary | std::ios::trunc);
            if (!os) throw cpprof::error("cannot open '" + path + "' for writing");
            cpprof::write_pprof(p, os, gzip);
            os.close();
            if (!os) throw cpprof::error("cannot write '" + path + "'");
        });
    } else if (format == "folded") {
        cpprof::folded_options o;
        if (args.has("sample-index")) o.sample_index(sample_index(p, *args.get("sample-index"), input_name(input)));
        out.write([&](const std::string& path) { cpprof::write_folded(p, path, o); });
    } else {
        cpprof::speedscope_options o;
        if (args.has("sample-index")) o.sample_index(sample_index(p, *args.get("sample-index"), input_name(input)));
        if (const std::string* name = args.get("name")) o.name(*name);
        o.thread_profiles(!args.has("no-threads"));
        o.lines(args.has("lines"));
        out.write([&](const std::string& path) { cpprof::write_speedscope(p, path, o); });
    }
    report_written(log, out, out.commit());
    return 0;
}

// ---- dispatch --------------------------------------------------------------------------------

const command_spec* find_command(std::string_view name) {
    for (const command_spec* c : commands())
        if (c->name == name) return c;
    return nullptr;
}

int run(const std::vector<std::string>& argv) {
    // Global options before the command.
    std::size_t i = 0;
    bool quiet = false, verbose = false;
    for (; i < argv.size() && argv[i].size() > 1 && argv[i][0] == '-'; ++i) {
        const std::string& a = argv[i];
        if (a == "-h" || a == "--help") {
            print_stdout(global_help());
            finish_stdout();
            return 0;
        }
        if (a == "--version") {
            print_stdout("cpprof " CPPROF_VERSION_STRING "\n");
            finish_stdout();
            return 0;
        }
        if (a == "-q" || a == "--quiet") {
            quiet = true;
        } else if (a == "-v" || a == "--verbose") {
            verbose = true;
        } else {
            throw usage_error("", "unknown option '" + a + "' (commands: top, flame, diff, convert)");
        }
    }
    if (i == argv.size()) {
        std::string help = global_help();
        std::fwrite(help.data(), 1, help.size(), stderr);
        return 2;
    }
    std::string name = argv[i++];
    if (name == "help") {  // cpprof help [COMMAND]
        if (i == argv.size()) {
            print_stdout(global_help());
        } else if (const command_spec* c = find_command(argv[i])) {
            print_stdout(command_help(*c, inputs_note));
        } else {
            throw usage_error("", "no help for '" + argv[i] + "': it is not a command (commands: top, flame, diff, convert)");
        }
        finish_stdout();
        return 0;
    }
    const command_spec* spec = find_command(name);
    if (spec == nullptr)
        throw usage_error("", "unknown command '" + name + "'" +
                                  did_you_mean(name, {"top", "flame", "diff", "convert"}) +
                                  " (commands: top, flame, diff, convert)");

    const parsed_args args = parse_args(*spec, std::vector<std::string>(argv.begin() + static_cast<std::ptrdiff_t>(i), argv.end()));
    if (args.has("help")) {
        print_stdout(command_help(*spec, inputs_note));
        finish_stdout();
        return 0;
    }
    if (args.has("version")) {
        print_stdout("cpprof " CPPROF_VERSION_STRING "\n");
        finish_stdout();
        return 0;
    }
    check_inputs(*spec, args);
    quiet = quiet || args.has("quiet");
    verbose = verbose || args.has("verbose");
    const progress log(!quiet && (verbose || ::isatty(STDERR_FILENO) == 1));

    if (spec == &top_spec) return run_top(args, log);
    if (spec == &flame_spec) return run_flame(args, log);
    if (spec == &diff_spec) return run_diff(args, log);
    return run_convert(args, log);
}

void print_stderr(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stderr); }

}  // namespace
}  // namespace cpprof_cli

int main(int argc, char** argv) {
    using namespace cpprof_cli;
    std::vector<std::string> args;
    try {
        args.assign(argv + (argc > 0 ? 1 : 0), argv + argc);
        return run(args);
    } catch (const usage_error& e) {
        const std::string who = e.command().empty() ? "cpprof" : "cpprof " + e.command();
        print_stderr(who + ": " + e.what() + "\nTry '" + who + " --help' for more information.\n");
        return 2;
    } catch (const cpprof::error& e) {
        print_stderr(std::string(e.what()) + "\n");  // already "cpprof: ..."
        return 1;
    } catch (const std::bad_alloc&) {
        print_stderr("cpprof: out of memory\n");
        return 1;
    } catch (const std::exception& e) {
        print_stderr(std::string("cpprof: ") + e.what() + "\n");
        return 1;
    }
}
