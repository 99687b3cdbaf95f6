-- Tenant beta: a small ledger, balances over time, and the whole database dumped into
-- the cVM's output directory at the end.
.headers on
.mode csv
CREATE TABLE account(id INTEGER PRIMARY KEY, owner TEXT UNIQUE);
INSERT INTO account(owner) VALUES ('ada'), ('brian'), ('claude'), ('dennis'), ('edsger');
CREATE TABLE entry(day INTEGER, account INTEGER REFERENCES account(id), amount INTEGER);
WITH RECURSIVE d(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM d WHERE x < 364)
INSERT INTO entry SELECT x, x % 5 + 1, (x * 7919 % 2001) - 1000 FROM d;
CREATE VIEW balance AS
  SELECT owner, day, sum(amount) OVER (PARTITION BY account ORDER BY day) AS running
  FROM entry JOIN account ON account.id = entry.account;
SELECT owner, max(running), min(running) FROM balance GROUP BY owner ORDER BY owner;
SELECT owner, running FROM balance WHERE day IN (100, 200, 364) ORDER BY day, owner;
SELECT day / 30 AS month, sum(amount), count(*) FROM entry GROUP BY month HAVING sum(amount) > 0 ORDER BY month;
SELECT group_concat(owner, '+') FROM (SELECT owner FROM account ORDER BY owner DESC);
PRAGMA integrity_check;
.output dump.sql
.dump
