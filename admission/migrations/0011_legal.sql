-- The rules as the acts write them (issue 18; docs/rules.md is the traceability table).

-- Model rules para 27 names grades 10, 11 (12): a pupil of grade 12 can move too.
ALTER TABLE transfers DROP CONSTRAINT transfers_grade_check;
ALTER TABLE transfers ADD CONSTRAINT transfers_grade_check CHECK (grade BETWEEN 1 AND 12);

-- The transfer request form (model rules annex 2, "Өтініш"): the applicant's
-- full name and phone, the child's registered address and the consent line
-- (without it, ground 6).  NULL only on requests filed before this migration.
ALTER TABLE transfers
    ADD COLUMN applicant_full_name text,
    ADD COLUMN applicant_phone text,
    ADD COLUMN registered_address text,
    ADD COLUMN consent boolean,
    -- The refusal receipt (annex 2 form): the employee who refused, and their position.
    -- NULL for a refusal the rules give automatically.
    ADD COLUMN refused_by_name text,
    ADD COLUMN refused_by_position text;

-- The grade-1 refusal receipt names the applicant (annex 2 form); NULL when the form did not give it.
ALTER TABLE applications ADD COLUMN applicant_full_name text;

-- Census: an ИИН whose 7th digit encodes no century (0, 7, 8, 9) matches no
-- birth date (the CASE had no ELSE: NULL, and the mismatch branch was skipped).
CREATE OR REPLACE FUNCTION census.iin_matches_birth_date(iin bigint, ymd integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT iin / 1000000 = ymd % 1000000
       AND ymd / 1000000 = CASE iin / 100000 % 10 WHEN 1 THEN 18 WHEN 2 THEN 18 WHEN 3 THEN 19
                                                  WHEN 4 THEN 19 WHEN 5 THEN 20 WHEN 6 THEN 20 ELSE -1 END
$$;

-- Census para 2.5: a systematic truant is a pupil *admitted to a school or a
-- college* (primary, basic and general secondary, technical and vocational
-- education) aged 6 to 18; a kindergarten's absences make no truant.
CREATE FUNCTION census.may_be_truant(org_kind text, age integer) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(org_kind IN ('school', 'tvet') AND age >= 6, false)
$$;

-- Census paras 14.8-14.13: where the leavers of the final grade of basic
-- secondary education went.  The admitting organisation's head sends the
-- leaving school a confirmation with its outgoing number and date and the
-- admission order's number and date; it is accepted only with all four (14.13).
CREATE TABLE census.leaver_confirmations (
    child_iin            text NOT NULL CHECK (child_iin ~ '^[0-9]{12}$'),
    from_school_bin      text NOT NULL REFERENCES schools (bin),
    to_org_bin           text NOT NULL CHECK (to_org_bin ~ '^[0-9]{12}$'),
    to_org_name          text NOT NULL CHECK (to_org_name <> ''),
    confirmation_number  text NOT NULL CHECK (confirmation_number <> ''),
    confirmation_date    date NOT NULL,
    order_number         text NOT NULL CHECK (order_number <> ''),
    order_date           date NOT NULL,
    recorded_at          timestamptz NOT NULL,
    recorded_by          text NOT NULL,
    PRIMARY KEY (from_school_bin, child_iin)
);
