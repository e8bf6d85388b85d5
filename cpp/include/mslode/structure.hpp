// One atomic structure as flat arrays: the input every calculator reads.
#pragma once

#include <array>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "limits.hpp"

namespace mslode {

struct Structure {
    const double* positions = nullptr;  // (n_atoms, 3), Cartesian, Å
    const int* types = nullptr;         // (n_atoms), atomic numbers
    int n_atoms = 0;
    std::array<double, 9> cell{};       // rows are the lattice vectors a, b, c
    std::array<bool, 3> pbc{{false, false, false}};

    bool periodic() const { return pbc[0] || pbc[1] || pbc[2]; }
    const double* position(int i) const { return positions + 3 * i; }
};

// What every calculator needs of a Structure before it reads the arrays.
inline void check_structure(const Structure& structure) {
    if (structure.n_atoms < 0) throw std::invalid_argument("n_atoms is negative: " + std::to_string(structure.n_atoms));
    if (structure.n_atoms > 0 && (structure.positions == nullptr || structure.types == nullptr)) {
        throw std::invalid_argument("a structure with atoms needs positions and types");
    }
}

// Maps atomic numbers to species channels (-1: not a channel).
class SpeciesChannels {
public:
    SpeciesChannels() { channel_.fill(-1); }
    explicit SpeciesChannels(const std::vector<int>& atomic_numbers) : SpeciesChannels() {
        atomic_numbers_ = atomic_numbers;
        for (size_t k = 0; k < atomic_numbers.size(); ++k) {
            const int z = atomic_numbers[k];
            if (z < 1 || z > kMaxAtomicNumber) {
                throw std::invalid_argument("atomic number out of range: " + std::to_string(z) + " (must be in 1.." +
                                            std::to_string(kMaxAtomicNumber) + ")");
            }
            if (channel_[static_cast<size_t>(z)] >= 0) throw std::invalid_argument("species listed twice: " + std::to_string(z));
            channel_[static_cast<size_t>(z)] = static_cast<int>(k);
        }
    }
    int operator()(int atomic_number) const {
        return (atomic_number >= 1 && atomic_number <= kMaxAtomicNumber) ? channel_[static_cast<size_t>(atomic_number)] : -1;
    }
    int size() const { return static_cast<int>(atomic_numbers_.size()); }
    const std::vector<int>& atomic_numbers() const { return atomic_numbers_; }

private:
    std::vector<int> atomic_numbers_;
    std::array<int, kMaxAtomicNumber + 1> channel_{};  // by atomic number; [0] unused
};

}  // namespace mslode
