"""The shared WARC layer: building, writing, scanning and digesting WARC records.

Imports nothing from capture, extract or fixity.
"""
