"""Every tolerance of this assignment's checks, in one place (all comparisons in float64)."""

#: A student's value against the reference or torch (other correct formulas differ by rounding).
VALUE_RTOL = 1e-6
VALUE_ATOL = 1e-8

#: Analytic gradients against central differences of the reference loss.
FINITE_DIFFERENCE_STEP = 1e-6
FINITE_DIFFERENCE_RTOL = 1e-5
FINITE_DIFFERENCE_ATOL = 1e-7
