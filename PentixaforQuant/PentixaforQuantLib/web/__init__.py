"""The web reading station (trame-slicer): worklist, page, saving. Imports everything below ``cli``."""
