"""The implementation of ``helicone_nb.plots`` (private).

- ``sessions``: the plots of a sessions frame (and the latency plots of a requests frame).
"""
