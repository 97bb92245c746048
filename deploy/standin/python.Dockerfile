# Stand-in for python:3.11-slim-bookworm, from Debian's own Python 3.11 (see build_bases.py).
# A virtual environment at /usr/local gives the official image's layout: `python` and `pip` on
# PATH in /usr/local/bin, packages in /usr/local/lib/python3.11/site-packages, sys.prefix
# /usr/local, and `pip install` allowed (Debian's system Python refuses it, PEP 668).
ARG BASE
FROM ${BASE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && apt-get clean && rm -rf /var/lib/apt/lists/* \
 && python3 -m venv /usr/local \
 && python --version
ENV LANG=C.UTF-8
CMD ["python3"]
