"""The cluster level above the nodes: the API server's pods, kube-scheduler across
nodes, the workload controllers, node life and the Cluster Autoscaler.

A node (``hpsim.node``) is one machine: kubelet, containerd, the volume, job
objects, image GC and eviction. The cluster owns the pods until they are bound,
chooses their node, and creates and deletes nodes.
"""
