"""The capture pipeline: fetching URLs and recording them into WARC files.

Built on :mod:`archiver.warc`; hands closed files to :mod:`archiver.fixity`.
"""
