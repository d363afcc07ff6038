-- MYSQL_README / PGSQL_README "local aliases" example (seeds 000, 001, 003):
-- database customer_database, table mxaliases, forw_addr for alias where
-- status = 'paid'. The READMEs give only the queries; the columns follow
-- them. Rows: paid and unpaid aliases, a two-row alias (root).
CREATE TABLE mxaliases (
  alias varchar(128) NOT NULL,
  forw_addr varchar(255) NOT NULL,
  status varchar(16) NOT NULL
);
INSERT INTO mxaliases (alias, forw_addr, status) VALUES ('postmaster', 'root@example.com', 'paid');
INSERT INTO mxaliases (alias, forw_addr, status) VALUES ('abuse', 'abuse-desk@example.com', 'paid');
INSERT INTO mxaliases (alias, forw_addr, status) VALUES ('unpaid', 'deadbeat@example.com', 'unpaid');
INSERT INTO mxaliases (alias, forw_addr, status) VALUES ('root', 'admin1@example.com', 'paid');
INSERT INTO mxaliases (alias, forw_addr, status) VALUES ('root', 'admin2@example.com', 'paid');
