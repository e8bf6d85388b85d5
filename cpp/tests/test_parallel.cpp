// parallel.hpp and the batched drivers of compute.hpp: errors thrown inside
// OpenMP regions come out after them with their type (std::bad_alloc stays
// std::bad_alloc), a failing item stops the others early, and a stop check
// cancels a driver (Cancelled) from the calling thread only, with results
// unchanged when it never fires.
#include <mslode/compute.hpp>
#include <mslode/density_expansion.hpp>

#include "check.hpp"

#include <atomic>
#include <chrono>
#include <cmath>
#include <new>
#include <stdexcept>
#include <thread>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace {

void test_first_error_keeps_type() {
    mslode::FirstError errors;
    std::atomic<int> ran{0};
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < 1000; ++i) {
        if (errors.failed()) continue;
        errors.run([&] {
            ++ran;
            if (i == 3) throw std::bad_alloc();
            std::this_thread::sleep_for(std::chrono::microseconds(200));
        });
    }
    bool bad_alloc = false;
    try {
        errors.rethrow();
    } catch (const std::bad_alloc&) {
        bad_alloc = true;
    } catch (...) {
    }
    check::truth("FirstError rethrows std::bad_alloc as std::bad_alloc", bad_alloc);
    check::truth("items after a failure are skipped (ran " + std::to_string(ran.load()) + " of 1000)", ran.load() < 500);
}

void test_stop_flag_owner_only() {
    std::atomic<int> calls{0};
    std::thread::id caller;
    bool other_thread_called = false;
    mslode::StopFlag stop(
        [&] {
            if (std::this_thread::get_id() != caller) other_thread_called = true;
            return ++calls >= 3;
        },
        std::chrono::milliseconds(0));
    caller = std::this_thread::get_id();
    std::atomic<int> done{0};
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < 100000; ++i) {
        if (stop.stopped()) continue;
        std::this_thread::sleep_for(std::chrono::microseconds(20));
        ++done;
    }
    check::truth("the stop check runs on the calling thread only", !other_thread_called);
    check::truth("the check is not called again once it said stop", calls.load() == 3);
    check::truth("items after the stop are skipped (" + std::to_string(done.load()) + " done)", done.load() < 1000);
    bool cancelled = false;
    try {
        stop.finish();
    } catch (const mslode::Cancelled&) {
        cancelled = true;
    }
    check::truth("finish() throws Cancelled after a stop", cancelled);

    mslode::StopFlag never([] { return false; }, std::chrono::milliseconds(0));
    for (int i = 0; i < 10; ++i) never.stopped();
    bool threw = false;
    try {
        never.finish();
    } catch (...) {
        threw = true;
    }
    check::truth("finish() is silent when the check never fired", !threw);

    mslode::StopFlag throwing([]() -> bool { throw std::runtime_error("from the check"); }, std::chrono::milliseconds(0));
    check::truth("a check that throws stops the loop", throwing.stopped());
    bool runtime = false;
    try {
        throwing.finish();
    } catch (const std::runtime_error& e) {
        runtime = std::string(e.what()) == "from the check";
    }
    check::truth("finish() rethrows what the check threw", runtime);
}

// A small periodic structure and its density expansion through the driver.
struct Fixture {
    std::vector<double> positions{0.0, 0.0, 0.0, 1.1, 0.2, 0.0, 0.3, 1.4, 0.9, 2.0, 2.0, 2.0};
    std::vector<int> types{1, 8, 1, 6};
    std::vector<mslode::Structure> structures;
    std::vector<mslode::Center> centers;
    Fixture(int copies) {
        mslode::Structure s;
        s.positions = positions.data();
        s.types = types.data();
        s.n_atoms = 4;
        s.cell = {4.0, 0, 0, 0.3, 4.2, 0, 0.1, 0.2, 3.9};
        s.pbc = {true, true, true};
        structures.assign(static_cast<size_t>(copies), s);
        for (int k = 0; k < copies; ++k)
            for (int a = 0; a < 4; ++a) centers.push_back({k, a});
    }
};

void test_driver_cancellation() {
    mslode::DensityHypers h;
    h.cutoff = 12.0;  // ~450 neighbours per centre: ~0.1 ms each
    h.max_radial = 4;
    h.max_angular = 3;
    const mslode::DensityExpansion rho(h, {1, 6, 8});
    const Fixture fx(200);
    const size_t block = static_cast<size_t>(rho.block_size());
    std::vector<double> reference(fx.centers.size() * block), out(fx.centers.size() * block);
    mslode::compute_expansion(rho, fx.structures, fx.centers, reference.data());
    mslode::compute_expansion(rho, fx.structures, fx.centers, out.data(), [] { return false; });
    check::truth("a stop check that never fires leaves the results unchanged", out == reference);

    // stop at the first check (50 ms in): the driver must throw Cancelled
    // well before the full run (20000 centres, ~1 s on 2 threads) would end
    const auto start = std::chrono::steady_clock::now();
    bool cancelled = false;
    try {
        const Fixture big(5000);
        std::vector<double> o(big.centers.size() * block);
        mslode::compute_expansion(rho, big.structures, big.centers, o.data(), [] { return true; });
    } catch (const mslode::Cancelled&) {
        cancelled = true;
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    check::truth("compute_expansion throws Cancelled", cancelled);
    check::truth("... promptly (" + std::to_string(seconds) + " s)", seconds < 0.5);

    cancelled = false;
    try {
        const mslode::InvariantCoupling coupling(3, 4, 3, 4, 3, true);
        const Fixture big(5000);
        std::vector<double> o(big.centers.size() * static_cast<size_t>(coupling.n_features()));
        mslode::compute_invariants(rho, rho, true, coupling, big.structures, big.centers, o.data(), [] { return true; });
    } catch (const mslode::Cancelled&) {
        cancelled = true;
    }
    check::truth("compute_invariants throws Cancelled", cancelled);
}

}  // namespace

int main() {
#ifdef _OPENMP
    if (omp_get_max_threads() < 2) omp_set_num_threads(2);
#endif
    test_first_error_keeps_type();
    test_stop_flag_owner_only();
    test_driver_cancellation();
    return check::finish("test_parallel");
}
