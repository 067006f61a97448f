"""The dashboard app: ``dashboard.ipynb`` (package data), served by ``helicone-nb dashboard``.

The command tells the notebook what to show through these environment variables (light on
purpose: the command imports this module before starting Voila).
"""

SOURCE_ENV = "HELICONE_NB_DASHBOARD_SOURCE"  # "demo", "mirror" or "live"
MIRROR_ENV = "HELICONE_NB_DASHBOARD_MIRROR"  # the mirror's path, with source "mirror"
