"""Admins as the tests speak for them: the ministry, a region's office, and their bearer headers."""

from __future__ import annotations

from admission.signing_keys import AdminPrincipal, KeySet, mint_admin_token


class Admins:
    """Speaks as an admin with tokens signed by ``keys`` (the app's key set); a test world inherits it."""

    keys: KeySet

    def region_admin(self, region: str = "astana") -> AdminPrincipal:
        return AdminPrincipal(subject=f"office-{region}", role="region", region=region)

    def ministry(self) -> AdminPrincipal:
        return AdminPrincipal(subject="ministry", role="ministry")

    def bearer(self, admin: AdminPrincipal) -> dict[str, str]:
        token = mint_admin_token(self.keys, admin.subject, admin.role, region=admin.region, school=admin.school)
        return {"Authorization": f"Bearer {token}"}
