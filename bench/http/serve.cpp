// The cpprof side of tools/bench_http.sh: a process whose only job is a cpprof::http::server
// with default options (port from argv[1], 0 = any free one). It prints the port on stdout and
// then waits, doing nothing else, until SIGTERM or SIGINT.

#include <cpprof/http/server.hpp>

#include <csignal>
#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    // Blocked before the server's threads start, so they inherit the mask and the signal
    // reaches sigwait below.
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

    const int port = argc > 1 ? std::atoi(argv[1]) : 0;
    cpprof::http::server server{cpprof::http::server_options{}.port(port)};
    std::printf("%d\n", server.port());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&stop_signals, &sig);
    return 0;
}
