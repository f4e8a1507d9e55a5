"""The package version, in one place (pyproject reads it; User-Agent and warcinfo quote it).

A literal rather than importlib.metadata: that lookup costs more start-up
time than hashing a hundred megabytes, and every command pays it.
"""

__version__ = "0.1.0"

SOFTWARE = f"archiver/{__version__}"
