-- Statements the Laminar dialect rejects, each with the SQLSTATE the client receives.
-- Format: a header line "-- reject: <SQLSTATE>" and the statement's lines after it.
-- reject: 42601
SELEC 1
-- reject: 42601
SELECT (1
-- reject: 42601
SELECT 1 FROM
-- reject: 42601
DISCARD EVERYTHING
-- reject: 42601
SET a = 1, b = 2
-- reject: 0A000
VACUUM
-- reject: 0A000
PREPARE p AS SELECT 1
-- reject: 0A000
UPDATE t SET a = 1
-- reject: 0A000
DELETE FROM t
