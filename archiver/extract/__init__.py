"""The extract pipeline: clean article text and metadata from archived pages.

Built on :mod:`archiver.warc`; imports neither capture nor fixity.
"""
