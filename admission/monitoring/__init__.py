"""Monitoring of admission results (order No. 271, 2023; ``../shared/domain.md`` §5).

- :mod:`.models`: decisions, commission members, visits, findings, deadlines, errors.
- :mod:`.service`: the steps (decision, commission, schedule, review, certificate, plan, report) and the views.
- :mod:`.findings`: nonconformities computed from Kezek's own records, with their evidence.
- :mod:`.certificate`: the printable certificate (HTML, Kazakh or Russian, two copies).
"""
