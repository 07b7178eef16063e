"""1个平台: the web portal, REST API and console (FastAPI, server-rendered Chinese pages)."""
