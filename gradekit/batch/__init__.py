"""A class graded at once: one job per submission, on local or Dask workers, one writer."""
