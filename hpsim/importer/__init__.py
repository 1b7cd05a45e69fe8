"""``hpsim import``: a scenario folder from what kubectl prints about a real cluster.

:mod:`hpsim.importer.kubectl` reads kubectl's JSON (Lists, watch streams, truncated files)
and kubelet's event messages; :mod:`hpsim.importer.build` turns nodes, pods, events and
workloads into node pools, workloads, traces and the observed tables;
:mod:`hpsim.importer.write` writes the folder, atomically, and checks that it loads.
"""
