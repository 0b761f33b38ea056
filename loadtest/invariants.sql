-- The invariant checker's queries (loadtest/invariants.py).  Read-only.
-- They rely on the admission contract: applications(id, applicant_iin, child_iin,
-- school_bin, region_slug, grade, language, status, refusal_ground, decided_at,
-- priority) and contingent.enrolments of the foundation.

-- name: over_capacity
-- School × language over capacity: more live grade-1 applications than seats
-- (unless only pre-school roster children, admitted with priority by pilot
-- para 4, are beyond it), or general applicants in the seats held for the
-- school's roster children (general + roster > capacity).
WITH live AS (
    SELECT school_bin, language, count(*) AS live, count(*) FILTER (WHERE NOT priority) AS general
    FROM applications
    WHERE status IN ('accepted', 'confirmed') AND grade = 1
    GROUP BY school_bin, language
), roster AS (
    SELECT school_bin, language, count(*) AS held FROM preschool_roster GROUP BY school_bin, language
)
SELECT l.school_bin, l.language, l.live, l.general, coalesce(r.held, 0) AS roster,
       coalesce(c.classes * c.seats_per_class, 0) AS capacity
FROM live l
LEFT JOIN school_classes c ON c.school_bin = l.school_bin AND c.grade = 1 AND c.language = l.language
LEFT JOIN roster r ON r.school_bin = l.school_bin AND r.language = l.language
WHERE (l.live > coalesce(c.classes * c.seats_per_class, 0) AND l.general > 0)
   OR l.general > greatest(coalesce(c.classes * c.seats_per_class, 0) - coalesce(r.held, 0), 0)
ORDER BY l.school_bin, l.language;

-- name: live_per_child
-- Children with more than one live application (there may be at most one nationwide).
SELECT child_iin, count(*) AS live
FROM applications
WHERE status IN ('accepted', 'confirmed')
GROUP BY child_iin
HAVING count(*) > 1;

-- name: undecided
-- Applications without a proper decision.
SELECT id::text, status, refusal_ground
FROM applications
WHERE decided_at IS NULL
   OR status NOT IN ('accepted', 'refused', 'withdrawn', 'confirmed')
   OR (status IN ('accepted', 'confirmed') AND refusal_ground IS NOT NULL)
   OR (refusal_ground IS NOT NULL AND refusal_ground NOT BETWEEN 1 AND 7);

-- name: applications_of_children
-- Every application of the given children (the ones the load test filed).
SELECT id::text, child_iin, applicant_iin, school_bin, language, status, priority
FROM applications
WHERE child_iin = ANY($1::text[]);

-- name: bad_actor_applications
-- Live applications of bad actors' children (born 2020-02-29) or applicants (born 1971).
SELECT id::text, child_iin, applicant_iin, status
FROM applications
WHERE status IN ('accepted', 'confirmed')
  AND (child_iin LIKE $1 || '%' OR applicant_iin LIKE $2 || '%');

-- name: contingent_mismatch
-- Confirmed grade-1 admissions and current contingent enrolments that do not
-- match one to one: a confirmed admission with no current enrolment at its
-- school, one with several, or a current grade-1 enrolment with no confirmed
-- admission behind it.
WITH confirmed AS (
    SELECT child_iin, school_bin FROM applications WHERE status = 'confirmed' AND grade = 1
), enrolled AS (
    SELECT child_iin, school_bin, count(*) AS n
    FROM contingent.enrolments
    WHERE ended_on IS NULL AND grade = 1
    GROUP BY child_iin, school_bin
)
SELECT coalesce(c.child_iin, e.child_iin) AS child_iin,
       coalesce(c.school_bin, e.school_bin) AS school_bin,
       (c.child_iin IS NOT NULL) AS confirmed,
       coalesce(e.n, 0) AS enrolments
FROM confirmed c
FULL JOIN enrolled e ON e.child_iin = c.child_iin AND e.school_bin = c.school_bin
WHERE c.child_iin IS NULL OR coalesce(e.n, 0) <> 1
ORDER BY 1;

-- name: status_counts
SELECT status, count(*) AS n FROM applications GROUP BY status ORDER BY status;

-- name: decisions_per_second
-- Decisions per second and status, for the report's chart.
SELECT extract(epoch FROM date_trunc('second', decided_at))::bigint AS second, status, count(*) AS n
FROM applications
WHERE decided_at >= $1
GROUP BY 1, 2
ORDER BY 1;
