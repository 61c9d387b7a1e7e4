"""Cohort mode: the manifest, the batch over many studies (local processes or Dask), the cohort table, the source
studies' statistics (Spearman after ROUT, t-tests, summaries), their figures and the cohort in Slicer nodes.
Imports ``errors``, ``geometry``, ``suv``, ``measure``, ``phantom``, ``outputs`` and ``scene``."""
