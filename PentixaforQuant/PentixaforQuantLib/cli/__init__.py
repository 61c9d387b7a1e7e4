"""The command line ``pentixafor-quant``: one module per command, and the benchmark. Holds no science."""
