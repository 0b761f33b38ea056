"""Census of children 0-18 (order No. 324 of 2017-07-11): the single database, its categories and reports.

- :mod:`~admission.census.formats`: the CSV files (ББАЖ and МО АЖ extracts,
  attendance feed, service territories);
- :mod:`~admission.census.importer`: COPY + set-based import into quarterly
  snapshots, the cross-check against the contingent store, the attendance feed,
  service territories;
- :mod:`~admission.census.reports`: counts per category, lists, children due
  for grade 1 with their admission status, each region's status against
  20 September / 15 October;
- :mod:`~admission.census.synthetic`: realistic synthetic extracts for a region.
"""
