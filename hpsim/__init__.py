"""hpsim: a discrete-event simulator of a Windows Kubernetes node running HostProcess containers."""

__version__ = "0.1.0"
