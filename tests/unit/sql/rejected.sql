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
-- reject: 42601
CREATE PIPELINE p INSERT INTO out SELECT * FROM src
-- reject: 42601
CREATE PIPELINE p AS SELECT * FROM src
-- reject: 42601
ALTER PIPELINE p STOP
-- reject: 42601
CREATE PIPELINE p AS INSERT INTO a SELECT * FROM src UNION ALL INSERT INTO
-- reject: 0A000
CREATE PIPELINE p AS INSERT INTO out VALUES (1, 2)
-- reject: 0A000
CREATE PIPELINE p AS INSERT INTO schema1.out SELECT * FROM src
-- reject: 42601
FETCH PRIOR FROM c
-- reject: 42601
DECLARE c FOR SELECT 1
