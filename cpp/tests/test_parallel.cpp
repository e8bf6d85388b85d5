// parallel.hpp and the batched drivers of compute.hpp: errors thrown inside
// OpenMP regions come out after them with their type (std::bad_alloc stays
// std::bad_alloc), a failing item stops the others early, and a stop check
// cancels a driver (Cancelled) from the calling thread only, with results
// unchanged when it never fires.
#include <mslode/close_pair.hpp>
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
        mslode::compute_features(rho, rho, true, coupling, big.structures, big.centers, o.data(), [] { return true; });
    } catch (const mslode::Cancelled&) {
        cancelled = true;
    }
    check::truth("compute_features throws Cancelled", cancelled);
}

// first_close_pair searches structures in parallel but answers as a search
// in structure order would: the lowest structure with a close pair (or an
// error), its lowest atom i, whatever the number of threads.
void test_first_close_pair_in_order() {
    const int S = 300, atoms = 6;
    std::vector<double> positions(static_cast<size_t>(S * atoms * 3));
    std::vector<int> types(static_cast<size_t>(S * atoms), 1);
    std::vector<mslode::Structure> structures(static_cast<size_t>(S));
    for (int s = 0; s < S; ++s) {
        double* r = &positions[static_cast<size_t>(s * atoms * 3)];
        for (int a = 0; a < atoms; ++a) {  // 2 Å apart on a line
            r[3 * a] = 2.0 * a;
            r[3 * a + 1] = 0.1 * s;
            r[3 * a + 2] = 0.0;
        }
        structures[static_cast<size_t>(s)].positions = r;
        structures[static_cast<size_t>(s)].types = &types[static_cast<size_t>(s * atoms)];
        structures[static_cast<size_t>(s)].n_atoms = atoms;
    }
    auto squeeze = [&](int s, int a, double gap) {  // atom a + 1 moved to `gap` from a
        double* r = &positions[static_cast<size_t>((s * atoms + a + 1) * 3)];
        r[0] = 2.0 * a + gap;
    };
    // close pairs in structures 297, 123 (atoms 3-4 and, closer, 1-2) and 200
    squeeze(297, 0, 0.3);
    squeeze(123, 3, 0.4);
    squeeze(123, 1, 0.2);
    squeeze(200, 2, 0.1);
    auto answer = [&](int threads) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#else
        (void)threads;
#endif
        return mslode::first_close_pair(structures, 0.5);
    };
    bool same = true;
    for (int repeat = 0; repeat < 5; ++repeat) {
        for (int threads : {1, 2, 4}) {
            const auto pair = answer(threads);
            same = same && pair && pair->structure == 123 && pair->i == 1 && pair->j == 2 &&
                   std::abs(pair->distance - 0.2) < 1e-12;
        }
    }
    check::truth("first close pair: structure 123, atoms 1-2, at 0.2 Å, for 1, 2, 4 threads", same);
    check::truth("no close pair below 0.05 Å", !mslode::first_close_pair(structures, 0.05));

    // an error counts where it happens: before the first close pair it is thrown,
    // after it the pair is the answer
    mslode::Structure singular = structures[0];
    singular.pbc = {true, false, false};  // a zero lattice vector
    auto with_error_at = [&](int s) {
        std::vector<mslode::Structure> copy = structures;
        copy[static_cast<size_t>(s)] = singular;
        return copy;
    };
    bool threw = false;
    for (int threads : {1, 2, 4}) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        try {
            mslode::first_close_pair(with_error_at(50), 0.5);
        } catch (const std::invalid_argument&) {
            threw = true;
        }
    }
    check::truth("an error in structure 50 (before 123) is thrown", threw);
    bool found = true;
    for (int threads : {1, 2, 4}) {
#ifdef _OPENMP
        omp_set_num_threads(threads);
#endif
        const auto pair = mslode::first_close_pair(with_error_at(250), 0.5);
        found = found && pair && pair->structure == 123;
    }
    check::truth("an error in structure 250 (after 123) is not reached", found);
#ifdef _OPENMP
    omp_set_num_threads(2);
#endif
}

}  // namespace

int main() {
#ifdef _OPENMP
    if (omp_get_max_threads() < 2) omp_set_num_threads(2);
#endif
    test_first_error_keeps_type();
    test_stop_flag_owner_only();
    test_driver_cancellation();
    test_first_close_pair_in_order();
    return check::finish("test_parallel");
}
