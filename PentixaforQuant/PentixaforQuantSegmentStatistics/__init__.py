"""PentixaforQuant's plugin for Slicer's core Segment Statistics module (SUVpeak and SUV statistics of any segment).

A sub-package, not a top-level file of the module folder: Slicer loads every top-level ``.py`` there as a module.
Registered by ``registerSegmentStatisticsPlugin()`` in ``PentixaforQuant.py`` once Slicer has started.
"""
