"""The portal identity moved to :mod:`admission.portal` (every parent-facing write uses it)."""

from admission.portal import PORTAL_ALGORITHMS, PORTAL_AUDIENCE, PortalIdentity

__all__ = ["PORTAL_ALGORITHMS", "PORTAL_AUDIENCE", "PortalIdentity"]
