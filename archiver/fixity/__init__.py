"""The fixity pipeline: manifests, the records index, the event log, verification, export.

Built on :mod:`archiver.warc`; imports neither capture nor extract.
"""
