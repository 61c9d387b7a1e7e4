"""What is measured on an SUV array: the sites, VOIs (isocontour growing, spheres), region metrics and SUVpeak,
and the protocol that combines them into a study result. A new VOI method or metric belongs here. Imports only
``errors`` and ``geometry``: no files, no scene."""
