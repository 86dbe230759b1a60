"""Every numerical tolerance used by the graders and by the kit's own tests, in one place.

All comparisons run in float64. A correct implementation differs from the reference only by
rounding (about 1e-15 relative); the tolerances leave room for other correct formulas (for example
a sigmoid written with ``exp(x) / (1 + exp(x))``) while catching every real mistake, which changes
results by far more than 1e-6.
"""

#: reference_impl against PyTorch autograd (same formulas, float64): the issue's bound.
REFERENCE_RTOL = 1e-10
REFERENCE_ATOL = 1e-12

#: A student's value against the reference or torch (alternative formulas are allowed).
VALUE_RTOL = 1e-6
VALUE_ATOL = 1e-8

#: Analytic gradients against central differences of the loss.
FINITE_DIFFERENCE_STEP = 1e-6
FINITE_DIFFERENCE_RTOL = 1e-5
FINITE_DIFFERENCE_ATOL = 1e-7

#: Several training epochs accumulate rounding; still far below any real mistake.
TRAINING_RTOL = 1e-6
TRAINING_ATOL = 1e-8

#: A value worked out by hand (the ``by_hand`` item asks for at least 3 correct decimals).
BY_HAND_ATOL = 1e-3

#: A student's ``torch.nn.Module`` run in its default float32 against the float64 oracle (with the
#: same float32 parameters and inputs): float32 rounding is about 6e-8 per operation.
FLOAT32_RTOL = 1e-5
FLOAT32_ATOL = 1e-6

#: A student's gradient checker against the reference one (same step, both central differences):
#: the two differ only by rounding, about 1e-16 * |f| / eps.
GRADCHECK_RTOL = 1e-6
GRADCHECK_ATOL = 1e-8

#: A comparison of float64 NumPy results with a float32 PyTorch model reports differences of
#: float32 rounding (about 1e-7); the reported values must match the trusted ones this closely.
COMPARISON_RTOL = 1e-3
COMPARISON_ATOL = 1e-6

#: A float32 PyTorch training loop against the trusted float32 loop: the same operations, whose
#: rounding may differ in the last bits and grow a little over the epochs.
TORCH_LOOP_RTOL = 1e-4
TORCH_LOOP_ATOL = 1e-5
