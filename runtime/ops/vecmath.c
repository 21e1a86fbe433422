/* Vectorized transcendental math (see vecmath.h). */
#include "vecmath.h"

const char *ml_vecmath_isa(void) { return "scalar"; }
