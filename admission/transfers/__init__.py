"""Transfers between schools: calendar, working days, signed notifications, talons, orders.

``service`` holds the stages (see its docstring), ``calendar`` the ministry's
school holidays, ``workdays`` the working-time arithmetic, ``signing`` the
schools' signatures, ``tokens`` the parent's capability for one transfer.
"""
