"""PentixaforQuant: quantification of CXCR4 PET (68Ga-Pentixafor) studies.

The library is GUI-free. Layers, lowest first (a module imports only from its own layer or lower ones):

1. numerics: ``geometry``, ``body_size``, ``dicom_values``, ``suv``, ``voi``, ``metrics``, ``protocol``
2. I/O: ``dicom_series``, ``phantom``, ``points``, ``results_io``, ``figures``
3. MRML adapter: ``headless``, ``mrml``
4. workflow: ``logic``
5. faces: ``cli`` (and the Slicer module ``PentixaforQuant.py`` beside this package)
"""

__version__ = "0.1.0"
