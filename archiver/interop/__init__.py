"""Interoperation with other web-archive tools: WACZ export and replay through pywb.

Stands above the pipelines: it may read the capture catalog and extracted
titles, and nothing but the CLI imports it.
"""
