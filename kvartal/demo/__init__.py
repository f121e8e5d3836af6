"""Demo and benchmark data sets (``dataset.generate``) and the commands that load and measure them."""
