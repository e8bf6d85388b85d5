// Umbrella header: everything the mslode core offers.
#pragma once

#include "atomic_expansion.hpp"
#include "clebsch_gordan.hpp"
#include "compute.hpp"
#include "density_expansion.hpp"
#include "density_radial.hpp"
#include "gaussian_gto_integral.hpp"
#include "gto_basis.hpp"
#include "hyp1f1.hpp"
#include "invariants.hpp"
#include "neighbour_list.hpp"
#include "parallel.hpp"
#include "potential_expansion.hpp"
#include "potential_radial.hpp"
#include "radial_spline.hpp"
#include "spherical_harmonics.hpp"
#include "structure.hpp"
