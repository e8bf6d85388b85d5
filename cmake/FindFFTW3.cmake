# Debian's libfftw3-dev ships no CMake config; find the double-precision
# library and header directly and expose them as FFTW3::fftw3.
find_path(FFTW3_INCLUDE_DIR fftw3.h)
find_library(FFTW3_LIBRARY NAMES fftw3)

# A cached or user-given path that no longer exists (package removed, typo)
# must fail here, at configure time, not as a link error later.
set(_fftw3_reason "")
if(FFTW3_LIBRARY AND NOT EXISTS "${FFTW3_LIBRARY}")
  string(APPEND _fftw3_reason "FFTW3_LIBRARY=${FFTW3_LIBRARY} does not exist. ")
  set(_fftw3_library_ok FALSE)
else()
  set(_fftw3_library_ok TRUE)
endif()
if(FFTW3_INCLUDE_DIR AND NOT EXISTS "${FFTW3_INCLUDE_DIR}/fftw3.h")
  string(APPEND _fftw3_reason "FFTW3_INCLUDE_DIR=${FFTW3_INCLUDE_DIR} has no fftw3.h. ")
  set(_fftw3_include_ok FALSE)
else()
  set(_fftw3_include_ok TRUE)
endif()

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(FFTW3
  REQUIRED_VARS FFTW3_LIBRARY FFTW3_INCLUDE_DIR _fftw3_library_ok _fftw3_include_ok
  REASON_FAILURE_MESSAGE "${_fftw3_reason}")
if(FFTW3_FOUND AND NOT TARGET FFTW3::fftw3)
  add_library(FFTW3::fftw3 UNKNOWN IMPORTED)
  set_target_properties(FFTW3::fftw3 PROPERTIES
    IMPORTED_LOCATION "${FFTW3_LIBRARY}"
    INTERFACE_INCLUDE_DIRECTORIES "${FFTW3_INCLUDE_DIR}")
endif()
mark_as_advanced(FFTW3_INCLUDE_DIR FFTW3_LIBRARY)
unset(_fftw3_reason)
unset(_fftw3_library_ok)
unset(_fftw3_include_ok)
