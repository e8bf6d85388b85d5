# Finds what the mslode core needs; shared by our build and by the installed
# package config, so both fail the same way, naming the Debian package.
include(CMakeFindDependencyMacro)

find_package(Eigen3 3.3 CONFIG QUIET)
if(NOT TARGET Eigen3::Eigen)
  message(FATAL_ERROR "mslode needs Eigen 3 (Debian/Ubuntu: apt-get install libeigen3-dev)")
endif()

find_package(FFTW3 QUIET)
if(NOT TARGET FFTW3::fftw3)
  message(FATAL_ERROR "mslode needs FFTW 3, double precision (Debian/Ubuntu: apt-get install libfftw3-dev); "
    "looked for fftw3.h and libfftw3: FFTW3_INCLUDE_DIR=${FFTW3_INCLUDE_DIR}, FFTW3_LIBRARY=${FFTW3_LIBRARY} "
    "(set these, or CMAKE_PREFIX_PATH, for an FFTW outside the system paths)")
endif()

find_package(OpenMP QUIET COMPONENTS CXX)
if(NOT TARGET OpenMP::OpenMP_CXX)
  message(FATAL_ERROR "mslode needs OpenMP for C++ (GCC ships it as libgomp; Debian/Ubuntu: apt-get install g++)")
endif()
