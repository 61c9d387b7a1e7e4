"""Files the protocol reads and writes besides the PET series: points files, result rows, ``study.json`` and CSV,
the study picture. A new export format belongs here. Imports ``errors``, ``geometry``, ``suv`` and ``measure``;
never the scene."""
