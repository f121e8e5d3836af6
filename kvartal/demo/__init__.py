"""Demo and benchmark data sets (``dataset.generate``) and the commands using them."""
