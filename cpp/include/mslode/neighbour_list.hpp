// Cell lists for finite, periodic (any triclinic cell) and mixed-periodicity
// structures. Neighbours are found per centre on demand, so threads can
// share one CellList and no pair list is ever stored. Cut-offs larger than
// the cell are fine: each periodic image within the cut-off is visited once.
#pragma once

#include <Eigen/Dense>
#include <algorithm>
#include <array>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "structure.hpp"

namespace mslode {

class CellList {
public:
    // `bins_per_cutoff` > 1 makes bins that fraction of the cut-off wide:
    // fewer candidates (a sphere of radius r in cubes of r/3 wastes ~3×,
    // in cubes of r ~6×) for more bins to visit, which pays for long
    // cut-offs in dense matter (the short-range part of periodic potentials).
    CellList(const Structure& structure, double cutoff, int bins_per_cutoff = 1)
        : cutoff_(cutoff), n_atoms_(structure.n_atoms) {
        if (bins_per_cutoff < 1) throw std::invalid_argument("bins_per_cutoff must be at least 1");
        if (!(cutoff > 0.0) || !std::isfinite(cutoff)) throw std::invalid_argument("cut-off must be positive and finite");
        const int N = structure.n_atoms;
        pbc_ = structure.pbc;
        setup_lattice(structure);

        // fractional coordinates, wrapped along periodic directions
        std::vector<std::array<double, 3>> frac(static_cast<size_t>(N));
        wrapped_.resize(3 * static_cast<size_t>(N));
        std::array<double, 3> fmin{0, 0, 0}, fmax{1, 1, 1};
        for (int k = 0; k < 3; ++k) {
            if (!pbc_[k]) { fmin[k] = INFINITY; fmax[k] = -INFINITY; }
        }
        for (int i = 0; i < N; ++i) {
            const Eigen::RowVector3d r(structure.position(i)[0], structure.position(i)[1], structure.position(i)[2]);
            Eigen::RowVector3d f = r * inverse_;
            for (int k = 0; k < 3; ++k) {
                if (pbc_[k]) {
                    f[k] -= std::floor(f[k]);
                    if (f[k] >= 1.0) f[k] = 0.0;  // -1e-17 wraps to exactly 1.0
                } else {
                    fmin[k] = std::min(fmin[k], f[k]);
                    fmax[k] = std::max(fmax[k], f[k]);
                }
                frac[static_cast<size_t>(i)][static_cast<size_t>(k)] = f[k];
            }
            const Eigen::RowVector3d w = f * lattice_;
            for (int k = 0; k < 3; ++k) wrapped_[3 * static_cast<size_t>(i) + static_cast<size_t>(k)] = w[k];
        }

        // bins at least one cut-off wide, at most ~ a few per atom
        const long long limit = 4LL * std::max(N, 1) + 64;
        for (int k = 0; k < 3; ++k) {
            if (N == 0) { fmin[k] = 0; fmax[k] = 1; }
            origin_[k] = fmin[k];
            double extent = fmax[k] - fmin[k];
            if (!pbc_[k]) extent = std::max(extent, 1e-12);
            const double length = extent * height_[k];
            // clamp in floating point first: a huge extent must not overflow the int
            bins_[k] = static_cast<int>(std::clamp(std::floor(length * bins_per_cutoff / cutoff), 1.0, static_cast<double>(limit)));
        }
        while (static_cast<long long>(bins_[0]) * bins_[1] * bins_[2] > limit) {
            int k = static_cast<int>(std::max_element(bins_.begin(), bins_.end()) - bins_.begin());
            bins_[k] = std::max(1, bins_[k] / 2);
        }
        for (int k = 0; k < 3; ++k) {
            double extent = pbc_[k] ? 1.0 : std::max(fmax[k] - fmin[k], 1e-12);
            bin_width_[k] = extent / bins_[k];
            double reach = std::ceil(cutoff / (bin_width_[k] * height_[k]) - 1e-12);
            if (!pbc_[k]) {
                // all atoms lie within bins_[k] bins: searching further only
                // visits empty space. Without this cap a (nearly) flat
                // direction, extent ~1e-10 Å, asked for ~1e10 bins (int
                // overflow, or a loop of billions of empty bins per centre).
                reach = std::min(reach, static_cast<double>(bins_[k] - 1));
            } else if (!(reach <= 1e6)) {
                throw std::invalid_argument("the cut-off spans more than a million periodic images of the cell");
            }
            search_[k] = std::max(static_cast<int>(reach), pbc_[k] ? 1 : 0);
        }

        // counting sort of atoms by bin
        atom_bin_.resize(static_cast<size_t>(N));
        const int n_bins = bins_[0] * bins_[1] * bins_[2];
        bin_start_.assign(static_cast<size_t>(n_bins) + 1, 0);
        for (int i = 0; i < N; ++i) {
            std::array<int, 3> b{};
            for (int k = 0; k < 3; ++k) {
                int v = static_cast<int>(std::floor((frac[static_cast<size_t>(i)][static_cast<size_t>(k)] - origin_[k]) / bin_width_[k]));
                b[static_cast<size_t>(k)] = std::clamp(v, 0, bins_[k] - 1);
            }
            const int flat = (b[0] * bins_[1] + b[1]) * bins_[2] + b[2];
            atom_bin_[static_cast<size_t>(i)] = b;
            bin_start_[static_cast<size_t>(flat) + 1]++;
        }
        for (int b = 0; b < n_bins; ++b) bin_start_[static_cast<size_t>(b) + 1] += bin_start_[static_cast<size_t>(b)];
        bin_atoms_.resize(static_cast<size_t>(N));
        std::vector<int> fill(bin_start_.begin(), bin_start_.end() - 1);
        for (int i = 0; i < N; ++i) {
            const auto& b = atom_bin_[static_cast<size_t>(i)];
            const int flat = (b[0] * bins_[1] + b[1]) * bins_[2] + b[2];
            bin_atoms_[static_cast<size_t>(fill[static_cast<size_t>(flat)]++)] = i;
        }
    }

    double cutoff() const { return cutoff_; }
    int n_atoms() const { return n_atoms_; }

    // Calls f(j, dx, dy, dz, d²) for every neighbour image r_j + L - r_i with
    // 0 < |.| < cut-off, excluding the centre itself (j = i, L = 0) but
    // including i's own periodic images.
    template <class F>
    void for_each_neighbour(int i, F&& f) const {
        const auto& bi = atom_bin_[static_cast<size_t>(i)];
        const double* ri = &wrapped_[3 * static_cast<size_t>(i)];
        const double cut2 = cutoff_ * cutoff_;
        for (int ox = -search_[0]; ox <= search_[0]; ++ox) {
            int sx = 0, bx = 0;
            if (!neighbour_bin(0, bi[0] + ox, bx, sx)) continue;
            for (int oy = -search_[1]; oy <= search_[1]; ++oy) {
                int sy = 0, by = 0;
                if (!neighbour_bin(1, bi[1] + oy, by, sy)) continue;
                for (int oz = -search_[2]; oz <= search_[2]; ++oz) {
                    int sz = 0, bz = 0;
                    if (!neighbour_bin(2, bi[2] + oz, bz, sz)) continue;
                    const double shift_x = sx * lattice_(0, 0) + sy * lattice_(1, 0) + sz * lattice_(2, 0);
                    const double shift_y = sx * lattice_(0, 1) + sy * lattice_(1, 1) + sz * lattice_(2, 1);
                    const double shift_z = sx * lattice_(0, 2) + sy * lattice_(1, 2) + sz * lattice_(2, 2);
                    const bool zero_shift = (sx == 0 && sy == 0 && sz == 0);
                    const int flat = (bx * bins_[1] + by) * bins_[2] + bz;
                    for (int p = bin_start_[static_cast<size_t>(flat)]; p < bin_start_[static_cast<size_t>(flat) + 1]; ++p) {
                        const int j = bin_atoms_[static_cast<size_t>(p)];
                        if (zero_shift && j == i) continue;
                        const double* rj = &wrapped_[3 * static_cast<size_t>(j)];
                        const double dx = rj[0] + shift_x - ri[0];
                        const double dy = rj[1] + shift_y - ri[1];
                        const double dz = rj[2] + shift_z - ri[2];
                        const double d2 = dx * dx + dy * dy + dz * dz;
                        if (d2 < cut2) f(j, dx, dy, dz, d2);
                    }
                }
            }
        }
    }

private:
    void setup_lattice(const Structure& s) {
        lattice_ = Eigen::Matrix3d::Identity();
        if (s.periodic()) {
            for (int r = 0; r < 3; ++r)
                for (int c = 0; c < 3; ++c) lattice_(r, c) = s.cell[static_cast<size_t>(3 * r + c)];
            // Only the periodic vectors matter; a non-periodic direction may come
            // with a zero vector (ASE does this), a tilted one, or even one lying
            // in the periodic plane. Its row only sets the bins, so replace it by
            // an orthonormal completion of the periodic vectors' span (keeping a
            // degenerate non-periodic vector made valid slabs "singular").
            int n_periodic = 0;
            int periodic_rows[3] = {0, 0, 0}, open_rows[3] = {0, 0, 0};
            int n_open = 0;
            for (int k = 0; k < 3; ++k) {
                if (pbc_[k]) periodic_rows[n_periodic++] = k;
                else open_rows[n_open++] = k;
            }
            if (n_periodic == 2) {
                const Eigen::Vector3d normal =
                    lattice_.row(periodic_rows[0]).transpose().cross(lattice_.row(periodic_rows[1]).transpose());
                if (!(normal.norm() > 0.0)) throw std::invalid_argument("the cell is singular");
                lattice_.row(open_rows[0]) = normal.normalized().transpose();
            } else if (n_periodic == 1) {
                const Eigen::Vector3d axis = lattice_.row(periodic_rows[0]).transpose();
                if (!(axis.norm() > 0.0)) throw std::invalid_argument("the cell is singular");
                const Eigen::Vector3d u = axis.normalized();
                const Eigen::Vector3d e = std::abs(u.x()) < 0.9 ? Eigen::Vector3d::UnitX() : Eigen::Vector3d::UnitY();
                const Eigen::Vector3d v1 = u.cross(e).normalized();
                lattice_.row(open_rows[0]) = v1.transpose();
                lattice_.row(open_rows[1]) = u.cross(v1).transpose();
            }
            const double volume = std::abs(lattice_.determinant());
            if (!(volume > 1e-10) || !std::isfinite(volume)) throw std::invalid_argument("the cell is singular");
        }
        inverse_ = lattice_.inverse();
        const double volume = std::abs(lattice_.determinant());
        for (int k = 0; k < 3; ++k) {
            const Eigen::Vector3d cross = lattice_.row((k + 1) % 3).transpose().cross(lattice_.row((k + 2) % 3).transpose());
            height_[k] = volume / cross.norm();
        }
    }

    // bin index along direction k after wrapping; false when outside a
    // non-periodic range
    bool neighbour_bin(int k, int b, int& wrapped, int& shift) const {
        const int n = bins_[k];
        if (pbc_[k]) {
            shift = (b >= 0) ? b / n : -((-b + n - 1) / n);
            wrapped = b - shift * n;
            return true;
        }
        shift = 0;
        wrapped = b;
        return b >= 0 && b < n;
    }

    double cutoff_;
    int n_atoms_;
    std::array<bool, 3> pbc_;
    Eigen::Matrix3d lattice_;
    Eigen::Matrix3d inverse_;
    std::array<double, 3> height_{};
    std::array<double, 3> origin_{};
    std::array<double, 3> bin_width_{};
    std::array<int, 3> bins_{};
    std::array<int, 3> search_{};
    std::vector<double> wrapped_;
    std::vector<std::array<int, 3>> atom_bin_;
    std::vector<int> bin_start_;
    std::vector<int> bin_atoms_;
};

}  // namespace mslode
