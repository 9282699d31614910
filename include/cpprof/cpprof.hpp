#pragma once
// cpprof umbrella header: the one include for the translation unit that starts profilers and
// writes output. Instrumented code should include the light <cpprof/macros.hpp> instead.
//
// single_include/cpprof/cpprof.hpp is generated from this file by tools/amalgamate.py: every
// header listed here (and what it includes) ends up in the single header, in this order.
// Keep this a plain list, one include per line, grouped by layer in data-flow order
// (base, model, collectors, analysis, output, input, transports), sorted within a group.
// Headers under integration/ are never listed here.

// base
#include <cpprof/config.hpp>
#include <cpprof/version.hpp>
#include <cpprof/error.hpp>
#include <cpprof/label_guard.hpp>
#include <cpprof/macros.hpp>

// model
#include <cpprof/sampling_mode.hpp>
#include <cpprof/profile.hpp>

// collectors
#include <cpprof/cpu/profiler_options.hpp>
#include <cpprof/cpu/profiler_guard.hpp>
#include <cpprof/memory/allocation_counter.hpp>
#include <cpprof/memory/allocation_stats.hpp>
#include <cpprof/memory/global_new.hpp>
#include <cpprof/memory/heap_options.hpp>
#include <cpprof/memory/heap_profiler.hpp>
#include <cpprof/memory/tracking_allocator.hpp>
#include <cpprof/memory/tracking_resource.hpp>

// analysis
#include <cpprof/analysis/diff.hpp>
#include <cpprof/analysis/hotspots.hpp>
#include <cpprof/analysis/query.hpp>

// output
#include <cpprof/output/flamegraph.hpp>
#include <cpprof/output/folded.hpp>
#include <cpprof/output/pprof.hpp>
#include <cpprof/output/speedscope.hpp>

// input
#include <cpprof/input/folded.hpp>
#include <cpprof/input/pprof.hpp>

// transports
#include <cpprof/export/continuous.hpp>
#include <cpprof/export/on_demand.hpp>
#include <cpprof/export/otlp.hpp>
#include <cpprof/export/otlp_encode.hpp>
#include <cpprof/export/pyroscope.hpp>
#include <cpprof/export/transport.hpp>
#include <cpprof/http/handler.hpp>
#include <cpprof/http/message.hpp>
#include <cpprof/http/server.hpp>
#include <cpprof/http/wire.hpp>
