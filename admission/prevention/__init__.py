"""Intra-school prevention registration (МЕА; methodical recommendations, order No. 398 of 2023).

- :mod:`~admission.prevention.service`: the council, sittings and minutes, cases
  with their deadlines, decisions, plans, removals, referrals, the census's truant
  candidates, counts, and the handover of a case with the pupil's transfer; the
  privacy rules are in its docstring;
- :mod:`~admission.prevention.deadlines`: the 1- and 2-working-day deadlines;
- :mod:`~admission.prevention.labels`: kk/ru/en labels of grounds, states, kinds;
- :mod:`~admission.prevention.models`: the value objects.
"""
