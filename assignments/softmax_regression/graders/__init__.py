"""Hidden checks of the softmax-regression assignment, one module per grade cell."""
