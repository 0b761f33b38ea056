"""Shared client code of the locust scenarios: options, people, the journal, users and shapes.

Only :mod:`loadtest.common.users` and :mod:`loadtest.common.shapes` import locust;
the rest is plain Python that the invariant checker and the tests use too.
"""
