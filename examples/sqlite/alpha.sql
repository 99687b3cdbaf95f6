-- Tenant alpha: an inventory, its totals, a ranking, JSON and full-text search; the
-- whole database dumped into the cVM's output directory at the end.
.headers on
.mode list
SELECT sqlite_version();
CREATE TABLE item(id INTEGER PRIMARY KEY, name TEXT NOT NULL, shelf INTEGER, price REAL, stock INTEGER);
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 1000)
INSERT INTO item SELECT x, 'item-' || x, x % 7, (x * 37 % 101) / 4.0, x * 13 % 50 FROM n;
CREATE INDEX item_shelf ON item(shelf);
CREATE TABLE sold(item INTEGER REFERENCES item(id), amount INTEGER);
CREATE TRIGGER sell AFTER INSERT ON sold BEGIN
  UPDATE item SET stock = stock - NEW.amount WHERE id = NEW.item;
END;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 300)
INSERT INTO sold SELECT x * 3 % 1000 + 1, x % 5 + 1 FROM n;
SELECT count(*), sum(stock), min(price), max(price), round(avg(price), 6), total(price) FROM item;
SELECT shelf, count(*), round(sum(price * stock), 2) AS worth FROM item GROUP BY shelf ORDER BY worth DESC;
SELECT name, price, rank() OVER (PARTITION BY shelf ORDER BY price DESC, id) AS place
  FROM item WHERE id <= 40 ORDER BY shelf, place LIMIT 12;
SELECT json_group_array(json_object('id', id, 'stock', stock)) FROM (SELECT * FROM item WHERE stock < 0 ORDER BY id LIMIT 5);
CREATE VIRTUAL TABLE note USING fts5(body);
INSERT INTO note SELECT 'item ' || name || ' on shelf ' || shelf || (CASE WHEN stock < 10 THEN ' low' ELSE '' END) FROM item;
SELECT count(*) FROM note WHERE note MATCH 'low AND shelf';
SELECT printf('%08.3f|%x|%q', 3.14159, 255, 'it''s'), hex(zeroblob(4)), upper('cvm'), length(randomblob(16));
PRAGMA integrity_check;
.output dump.sql
.dump
